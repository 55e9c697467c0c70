"""Durations written as ``90s``, ``5m``, ``12h`` or ``7d`` in configuration and policy."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")


def parse_duration(value: object) -> timedelta:
    """Return the :class:`timedelta` for ``value``: an integer of seconds or ``<n><unit>``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 90s, 5m, 12h or 7d")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, timedelta):
        return value
    elif isinstance(value, str) and (match := _PATTERN.match(value)):
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(f"expected a duration such as 90s, 5m, 12h or 7d, got {value!r}")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)
