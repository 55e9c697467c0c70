"""Rate limits: one store, one error, one answer.

Every limit (codes sent per account, number and address; failed logins per address;
recovery emails per address; the federated wait after failures) counts hits under a
key in one table, :class:`~idp.models.RateLimitHit`, shared by every worker of every
node. A limit of ``count`` hits per ``window`` is reached when the window holds
``count`` hits; it lifts when the oldest of them leaves the window.

Whoever meets a limit raises :class:`RateLimited`; :func:`answer` turns it into a 429
with ``Retry-After`` and the page's "réessayer à partir de HH:MM".
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, make_response, render_template
from sqlalchemy import delete

from . import metrics
from .clock import now
from .extensions import db
from .models import RateLimitHit


class RateLimited(Exception):
    """A limit is reached until ``retry_at``. ``message`` is the text key the page shows."""

    def __init__(self, retry_at: datetime, message: str = "error.rate_limited", scope: str = ""):
        super().__init__(f"{message} until {retry_at.isoformat()}")
        self.retry_at, self.message, self.scope = retry_at, message, scope

    @property
    def retry_after(self) -> int:
        """Seconds until the limit lifts, for the ``Retry-After`` header."""
        return max(1, math.ceil((self.retry_at - now()).total_seconds()))


def retry_at(key: str, count: int, window: timedelta) -> datetime | None:
    """When ``key`` may act again, if its window already holds ``count`` hits."""
    rows = db.session.execute(
        db.select(RateLimitHit.at)
        .where(RateLimitHit.key == key, RateLimitHit.at > now() - window)
        .order_by(RateLimitHit.at.desc())
        .limit(count)
    ).scalars().all()
    return rows[-1] + window if len(rows) >= count else None


def check(key: str, count: int, window: timedelta, message: str = "error.rate_limited",
          scope: str = "") -> None:
    """Raise :class:`RateLimited` if ``key`` has reached ``count`` hits in ``window``."""
    until = retry_at(key, count, window)
    if until is not None:
        raise RateLimited(until, message, scope)


def hit(key: str) -> None:
    """Count one hit for ``key`` (committed with the caller's transaction)."""
    db.session.add(RateLimitHit(key=key, at=now()))


def clear(key: str) -> None:
    """Forget ``key``'s hits (a success ends a run of failures)."""
    db.session.execute(delete(RateLimitHit).where(RateLimitHit.key == key))


def purge(longest_window: timedelta) -> int:
    """Remove hits older than any window (``idp purge``)."""
    return db.session.execute(delete(RateLimitHit).where(RateLimitHit.at < now() - longest_window)).rowcount


def answer(limited: RateLimited, template: str = "error.html", **context: Any) -> Response:
    """The one answer to a reached limit: the page with its message and the time to
    come back, status 429 and ``Retry-After``."""
    metrics.count_throttle(limited.scope, limited.message)
    context.setdefault("message", limited.message)
    body = render_template(template, error=limited.message, retry_at=limited.retry_at, **context)
    response = make_response(body, 429)
    response.headers["Retry-After"] = str(limited.retry_after)
    return response


def init_app(app: Flask) -> None:
    # A limit nobody caught becomes the generic page.
    app.register_error_handler(RateLimited, lambda limited: answer(limited))
