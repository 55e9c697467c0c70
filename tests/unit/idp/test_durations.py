"""Durations as written in configuration and policy (:mod:`idp.durations`)."""

from datetime import timedelta

import pytest

from idp.durations import parse_duration


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("5m", 300), ("12h", 43200), ("7d", 604800), (30, 30)])
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "-1s", "0s", True])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text", [" 5m ", "5 m", "5m\n"])
def test_blanks_around_the_number_and_unit_are_allowed(text):
    assert parse_duration(text) == timedelta(minutes=5)


@pytest.mark.parametrize("value", ["5M", "1.5h", "5ms", "m5", "1w", "5m5s", 0, -30, None, 1.5, [5], False])
def test_anything_else_is_refused(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_a_timedelta_is_taken_as_it_is():
    assert parse_duration(timedelta(minutes=7)) == timedelta(minutes=7)


def test_the_error_says_what_is_expected_and_what_was_given():
    with pytest.raises(ValueError, match=r"such as 90s, 5m, 12h or 7d, got 'soon'"):
        parse_duration("soon")
    with pytest.raises(ValueError, match="must be positive"):
        parse_duration("0d")
