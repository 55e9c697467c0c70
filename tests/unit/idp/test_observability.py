"""idp.observability without a server: the request id on log records, the JSON lines."""

from __future__ import annotations

import json
import logging
import sys

from idp.observability import WELL_FORMED, JSONFormatter, RequestIdFilter, request_id_var


def _record(message: str = "hello %s", args=("world",), exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("idp.test", logging.WARNING, __file__, 1, message, args, exc_info)


def test_the_filter_puts_the_current_id_or_a_dash_on_each_record():
    outside = _record()
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"
    token = request_id_var.set("abc123")
    try:
        inside = _record()
        RequestIdFilter().filter(inside)
        assert inside.request_id == "abc123"
    finally:
        request_id_var.reset(token)


def test_a_json_line_is_one_object_with_the_id_and_the_exception():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = _record("failed: %s", ("x\ny",), sys.exc_info())
    record.request_id = "r-1"
    line = JSONFormatter().format(record)
    assert "\n" not in line  # one line whatever the message holds
    entry = json.loads(line)
    assert entry["message"] == "failed: x\ny" and entry["request_id"] == "r-1"
    assert entry["level"] == "WARNING" and entry["logger"] == "idp.test"
    assert "ValueError: boom" in entry["exception"]
    no_id = _record()
    no_id.request_id = "-"
    assert "request_id" not in json.loads(JSONFormatter().format(no_id))


def test_well_formed_ids_are_short_and_plain():
    assert WELL_FORMED.fullmatch("3f2a6c1e-9b1d-4c4e-8f7a-2d5b9e0c1a7f")
    assert WELL_FORMED.fullmatch("a" * 64)
    for bad in ("", "a" * 65, "a b", "a\nb", "<x>", "-x", "é"):
        assert not WELL_FORMED.fullmatch(bad)
