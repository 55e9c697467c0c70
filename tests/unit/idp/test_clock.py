"""One clock for the whole application, moved by tests instead of sleeping (:mod:`idp.clock`)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from idp import clock

NOON = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch):
    """The clock's source fixed at NOON, so that every assertion is exact."""
    monkeypatch.setattr(clock, "_source", lambda: NOON)
    return NOON


def test_now_is_naive_utc_whatever_the_source_zone(monkeypatch):
    paris_summer = timezone(timedelta(hours=2))
    monkeypatch.setattr(clock, "_source", lambda: datetime(2025, 7, 1, 14, 30, tzinfo=paris_summer))
    assert clock.now() == datetime(2025, 7, 1, 12, 30)
    assert clock.now().tzinfo is None


def test_epoch_reads_naive_datetimes_as_utc(frozen):
    assert clock.epoch(datetime(1970, 1, 1, 0, 0, 10)) == 10
    assert clock.epoch(datetime(2025, 3, 14, 12, 0, 0)) == int(NOON.timestamp())
    assert clock.epoch_now() == int(NOON.timestamp())


def test_travel_moves_now_and_epoch_now_and_restores_them(frozen):
    with clock.travel(timedelta(minutes=5)):
        assert clock.now() == datetime(2025, 3, 14, 12, 5)
        assert clock.epoch_now() == int(NOON.timestamp()) + 300
    assert clock.now() == datetime(2025, 3, 14, 12, 0)
    assert clock.epoch_now() == int(NOON.timestamp())


def test_travel_restores_the_clock_even_when_the_block_raises(frozen):
    with pytest.raises(RuntimeError, match="inside"):
        with clock.travel(timedelta(days=7)):
            assert clock.now() == datetime(2025, 3, 21, 12, 0)
            raise RuntimeError("inside")
    assert clock.now() == datetime(2025, 3, 14, 12, 0)
    assert clock.epoch_now() == int(NOON.timestamp())


def test_travels_add_up_and_unwind_in_order(frozen):
    with clock.travel(timedelta(hours=1)):
        with clock.travel(timedelta(minutes=30)):
            assert clock.now() == datetime(2025, 3, 14, 13, 30)
        assert clock.now() == datetime(2025, 3, 14, 13, 0)
        with clock.travel(timedelta(hours=-2)):  # backwards too
            assert clock.now() == datetime(2025, 3, 14, 11, 0)
    assert clock.now() == datetime(2025, 3, 14, 12, 0)


def test_modules_that_imported_now_follow_the_travel(frozen):
    from idp.codes import now as codes_now  # as every module does: ``from .clock import now``

    with clock.travel(timedelta(minutes=5)):
        assert codes_now() == datetime(2025, 3, 14, 12, 5)
    assert codes_now() == datetime(2025, 3, 14, 12, 0)
