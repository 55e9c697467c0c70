"""`make bench` is never run by `make test`: its wrk parsing and its table are checked
here on captured output, so that the bench cannot rot silently."""

from __future__ import annotations

import pytest

from bench.report import Row, Target, check_targets, parse_wrk, table

# Captured from wrk 4.1.0 (Debian) with --latency and a Lua script.
SAMPLE = """\
Running 3s test @ http://127.0.0.1:18999/token
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    24.53ms   12.95ms 133.57ms   80.85%
    Req/Sec   335.93    115.98   630.00     70.00%
  Latency Distribution
     50%   21.31ms
     75%   29.51ms
     90%   40.86ms
     99%   71.06ms
  2017 requests in 3.02s, 1.94MB read
Requests/sec:    668.19
Transfer/sec:    659.71KB
"""

WITH_ERRORS = """\
Running 1s test @ http://127.0.0.1:5000/token
  2 threads and 16 connections
  Latency Distribution
     50%  850.00us
     75%    1.20ms
     90%    1.90ms
     99%    1.02s
  1200 requests in 1.00s, 300.00KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 40
Requests/sec:   1199.50
Transfer/sec:    300.00KB
"""


def test_wrk_summary_is_read():
    result = parse_wrk(SAMPLE)
    assert (result.requests, result.seconds, result.rate) == (2017, 3.02, 668.19)
    assert (result.p50_ms, result.p99_ms, result.errors) == (21.31, 71.06, 0)


def test_units_and_errors_are_read():
    result = parse_wrk(WITH_ERRORS)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1020)
    assert result.errors == 43


def test_output_without_latency_is_refused():
    with pytest.raises(ValueError, match="--latency"):
        parse_wrk(SAMPLE.replace("     99%   71.06ms\n", ""))


def test_table_shows_medians_ratios_and_missing_figures():
    jwks = Row("JWKS 200")
    for rate, peer_rate in ((600, 12000), (700, 13000), (650, 12500)):
        jwks.ours.add(rate, 2.0, 9.0, cpu_ms=1.5, db_cpu_ms=0.25)
        assert jwks.peer is not None
        jwks.peer.add(peer_rate, 1.0, 3.0, cpu_ms=0.1)
    logins = Row("login with a code, 8 users", unit="logins/s", peer=None)
    logins.ours.add(42.0, 180.0, 400.0, cpu_ms=45.0)
    broken = Row("refresh (rotation)")
    broken.ours.add(300, 5.0, 20.0, errors=7)

    lines = table([jwks, logins, broken], memory=("250 MiB PSS", "90 MiB PSS")).splitlines()

    assert lines[0].startswith("| endpoint | ours | peer | ratio |")
    assert lines[2] == ("| JWKS 200 | 650 req/s | 12,500 req/s | 0.05× | 1.50 / 0.10 | 0.25 "
                        "| 2.00 ms / 1.00 ms | 9.00 ms / 3.00 ms |")
    assert lines[3].startswith("| login with a code, 8 users | 42.0 logins/s | — | — | 45.0 / — | — |")
    assert "errors: 7 ours, 0 peer" in lines[4]
    assert lines[-1] == "| memory | 250 MiB PSS | 90 MiB PSS | | | | | |"


def test_targets_are_judged_on_the_medians():
    discovery = Row("discovery")
    discovery.ours.add(4000, 1, 2)
    assert discovery.peer is not None
    discovery.peer.add(8000, 1, 2)
    logins = Row("logins", unit="logins/s", peer=None)
    logins.ours.add(39.5, 1, 2)

    verdicts = check_targets([discovery, logins], [
        Target("discovery", "discovery", 0.4),
        Target("logins", "logins", 40, of_peer=False),
        Target("absent", "nothing measured", 0.3),
    ])

    assert verdicts == [
        "discovery: 0.50× (target ≥ 0.4×): met",
        "logins: 39.5 logins/s (target ≥ 40): NOT met",
        "absent: — (target ≥ 0.3×): no figure",
    ]
