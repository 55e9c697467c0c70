"""Establishments, accounts, services and the rights that link accounts to services."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db

PROFILES = ("administrator", "user")
CIVILITIES = ("M", "Mme")


def usable(status: str, valid_until: date | None, today: date) -> bool:
    """An account in this status, valid until then, may log in today."""
    return status == "active" and (valid_until is None or valid_until >= today)


class Establishment(db.Model):
    __tablename__ = "establishments"

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)

    accounts: Mapped[list[Account]] = relationship(back_populates="establishment")


class Service(db.Model):
    """A service of the platform (pensions, RNCPS, …); clients belong to one."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class AccountService(db.Model):
    """The right of an account to use a service."""

    __tablename__ = "account_services"
    __table_args__ = (UniqueConstraint("account_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))

    # Loaded with the right: a right is read for its service's code.
    service: Mapped[Service] = relationship(lazy="joined")


class Account(db.Model):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(9), unique=True)
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id"), index=True)
    profile: Mapped[str] = mapped_column(String(16))
    civility: Mapped[str | None] = mapped_column(String(8))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_line_type: Mapped[str | None] = mapped_column(String(16))
    landline: Mapped[str | None] = mapped_column(String(20))
    function: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    valid_until: Mapped[date | None] = mapped_column(Date)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    locked_at: Mapped[datetime | None] = mapped_column(DateTime)
    code_verified_at: Mapped[datetime | None] = mapped_column(DateTime)  # None: first login
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)  # data confirmed once
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=now, onupdate=now)

    # Loaded with the account (one join): every login reads its SIRET for the policy.
    establishment: Mapped[Establishment] = relationship(back_populates="accounts", lazy="joined")
    rights: Mapped[list[AccountService]] = relationship(cascade="all, delete-orphan")

    @property
    def service_codes(self) -> list[str]:
        return sorted(right.service.code for right in self.rights)

    def has_right_to(self, service: Service | None) -> bool:
        return service is None or any(r.service_id == service.id for r in self.rights)

    def is_usable(self, today: date) -> bool:
        """Whether the account may log in: active and not past its validity end date."""
        return usable(self.status, self.valid_until, today)
