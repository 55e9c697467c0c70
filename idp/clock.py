"""Time in one place: naive UTC datetimes in the database, epoch seconds in tokens."""

from datetime import UTC, datetime


def now() -> datetime:
    """The current time as a naive UTC datetime, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def epoch(moment: datetime) -> int:
    """Seconds since the epoch for a naive UTC datetime."""
    return int(moment.replace(tzinfo=UTC).timestamp())
