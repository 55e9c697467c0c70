"""Delegations (multi-establishment access): an administrator of establishment A offers
an account of establishment B some of A's services; the account's owner accepts or refuses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from .accounts import Account, Establishment

STATUSES = ("offered", "accepted", "refused", "revoked")


class Delegation(db.Model):
    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishments.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    services: Mapped[list[str]] = mapped_column(JSON)          # service codes of establishment A
    status: Mapped[str] = mapped_column(String(16), default="offered")
    offered_by: Mapped[str] = mapped_column(String(16))         # the administrator's identifier
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    establishment: Mapped[Establishment] = relationship()
    account: Mapped[Account] = relationship()
