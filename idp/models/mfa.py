"""Second-factor records: one-time codes, trusted devices, password resets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from .accounts import Account


class OneTimeCode(db.Model):
    """A code sent for one login flow. Only a keyed digest is stored; a newer code voids
    the older ones of the same flow."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("login_flows.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime)

    def is_live(self, moment: datetime) -> bool:
        return self.used_at is None and self.voided_at is None and self.expires_at > moment


class TrustedDevice(db.Model):
    """A browser on which an account verified a code; named by a signed cookie."""

    __tablename__ = "trusted_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    browser: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account] = relationship()


class PasswordReset(db.Model):
    """A single-use password reset link; the table holds the token's digest."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    new_password_hash: Mapped[str | None] = mapped_column(Text)

    account: Mapped[Account] = relationship()
