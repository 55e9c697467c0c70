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

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, make_response, render_template
from sqlalchemy import CompoundSelect, Integer, bindparam, delete, literal, select, union_all

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


@dataclass(frozen=True)
class Limit:
    """``count`` hits of ``key`` per ``window``; reached, it raises ``message`` for ``scope``."""

    key: str
    count: int
    window: timedelta
    message: str = "error.rate_limited"
    scope: str = ""

    def __post_init__(self) -> None:
        if self.count < 1:  # the policy's counts are validated ≥ 1
            raise ValueError(f"a limit of {self.count} hits for {self.key!r}")


@functools.cache
def _newest_hits(count: int) -> CompoundSelect:
    """For ``count`` limits, the ``index``-th limit's count-th newest hit in its window
    (none when the window holds fewer): one statement, built once for each number of
    limits and run with their values (``key_N``, ``since_N``, ``skip_N``)."""
    newest = []
    for index in range(count):
        nth = (
            select(literal(index).label("index"), RateLimitHit.at)
            .where(RateLimitHit.key == bindparam(f"key_{index}"), RateLimitHit.at > bindparam(f"since_{index}"))
            .order_by(RateLimitHit.at.desc())
            .offset(bindparam(f"skip_{index}", type_=Integer))
            .limit(1)
            .subquery()
        )
        newest.append(select(nth.c.index, nth.c.at))
    return union_all(*newest)


def first_reached(limits: Sequence[Limit]) -> tuple[Limit, datetime] | None:
    """The first of ``limits``, in their order, whose window already holds its count of
    hits, and when it lifts (its ``count``-th newest hit leaves the window): one statement
    for them all, reading one row for each."""
    if not limits:
        return None
    moment = now()
    values: dict[str, Any] = {}
    for index, limit in enumerate(limits):
        values.update({f"key_{index}": limit.key, f"since_{index}": moment - limit.window,
                       f"skip_{index}": limit.count - 1})
    found: dict[int, datetime] = dict(db.session.execute(_newest_hits(len(limits)), values).all())
    for index, limit in enumerate(limits):
        if index in found:
            return limit, found[index] + limit.window
    return None


def retry_at(key: str, count: int, window: timedelta) -> datetime | None:
    """When ``key`` may act again, if its window already holds ``count`` hits."""
    reached = first_reached([Limit(key, count, window)])
    return reached[1] if reached is not None else None


def check(*limits: Limit) -> None:
    """Raise :class:`RateLimited` for the first of ``limits`` that is reached."""
    reached = first_reached(limits)
    if reached is not None:
        limit, until = reached
        raise RateLimited(until, limit.message, limit.scope)


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
