"""The durable queue of work done outside requests (recovery emails…), in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import now
from ..extensions import db


class Job(db.Model):
    """One piece of work. A worker claims it (``claimed_until``), does it, and marks it
    done; a failure reschedules it (``next_attempt_at``) until it is given up."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "done_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)      # also set when given up
    last_error: Mapped[str | None] = mapped_column(Text)
