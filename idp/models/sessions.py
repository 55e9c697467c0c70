"""Server-side login state: the single sign-on session and the login flow in progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import now
from ..extensions import db
from ..login.state import FlowState
from .accounts import Account
from .provenance import CarriesProvenance


class LoginSession(CarriesProvenance, db.Model):
    """A browser's single sign-on session. The cookie holds a random value; the table
    holds its digest, so a database leak gives no usable session. Its provenance (how
    the user authenticated) is what codes and tokens issued in it carry."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    account: Mapped[Account] = relationship()

    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > now()


class LoginFlow(db.Model):
    """A login in progress: the authorization request to resume and the steps done.

    The flow id travels in the URL (so several tabs can log in at once); the flow is also
    bound to the browser that started it through the ``browser`` cookie digest.
    """

    __tablename__ = "login_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(64), unique=True)
    browser_digest: Mapped[str] = mapped_column(String(64))
    params: Mapped[list[list[str]]] = mapped_column(JSON)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    steps_done: Mapped[list[str]] = mapped_column(JSON, default=list)
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    state_json: Mapped[dict[str, Any]] = mapped_column("state", JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    login_hint: Mapped[str | None] = mapped_column(Text)

    # Loaded with the flow (one join): every step after the password reads the account.
    account: Mapped[Account | None] = relationship(lazy="joined")

    @property
    def state(self) -> FlowState:
        """The flow's typed state (:class:`~idp.login.state.FlowState`), parsed once for
        each value of ``state_json`` (a request reads it a few dozen times; the state is
        frozen, and ``state_json`` is only ever replaced, never changed in place)."""
        raw = self.state_json
        parsed = self.__dict__.get("_parsed_state")
        if parsed is None or parsed[0] is not raw:
            parsed = (raw, FlowState.model_validate(raw or {}))
            self.__dict__["_parsed_state"] = parsed
        return parsed[1]

    @state.setter
    def state(self, value: FlowState) -> None:
        self.state_json = value.model_dump(mode="json", exclude_defaults=True)

    def update_state(self, **changes: Any) -> FlowState:
        """Change some of the state's fields (validated) and store the result."""
        state = FlowState.model_validate({**self.state.model_dump(), **changes})
        self.state = state
        return state
