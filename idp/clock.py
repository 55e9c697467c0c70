"""Time in one place: naive UTC datetimes in the database, epoch seconds in tokens.

Everything that needs the time asks :func:`now`; tests move the clock with
:func:`travel` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time as a naive UTC datetime, as stored in the database."""
    return _source().astimezone(UTC).replace(tzinfo=None)


def epoch(moment: datetime) -> int:
    """Seconds since the epoch for a naive UTC datetime."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def epoch_now() -> int:
    return epoch(now())


@contextmanager
def travel(offset: timedelta) -> Iterator[None]:
    """Run the block as if ``offset`` had passed (tests; one process only)."""
    global _source
    previous = _source
    _source = lambda: previous() + offset  # noqa: E731
    try:
        yield
    finally:
        _source = previous
