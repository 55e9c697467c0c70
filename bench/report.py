"""Reading wrk's output and printing the bench's one table: pure functions, no I/O.

Kept apart from :mod:`bench.run` (which starts servers) so that a unit test checks them
on a captured sample and the bench cannot rot silently between runs.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: what its summary says."""

    requests: int
    seconds: float
    rate: float            # requests per second, as wrk prints it
    p50_ms: float
    p99_ms: float
    errors: int            # non-2xx/3xx answers plus socket errors


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _TIME_UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """The figures of ``wrk --latency`` output; ValueError when a figure is missing."""
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output, re.M)
    rate = re.search(r"^Requests/sec:\s*([\d.]+)", output, re.M)
    latency = dict(re.findall(r"^\s*(50|99)%\s+([\d.]+(?:us|ms|s|m|h))\s*$", output, re.M))
    if not done or not rate or set(latency) != {"50", "99"}:
        raise ValueError("wrk output without its summary (run it with --latency)")
    errors = sum(int(n) for n in re.findall(r"^\s*Non-2xx or 3xx responses:\s*(\d+)", output, re.M))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(
        requests=int(done.group(1)),
        seconds=_milliseconds(done.group(2) + done.group(3)) / 1000,
        rate=float(rate.group(1)),
        p50_ms=_milliseconds(latency["50"]),
        p99_ms=_milliseconds(latency["99"]),
        errors=errors,
    )


@dataclass
class Side:
    """One provider's rounds of one row; medians are what the table shows."""

    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per request
    db_cpu_ms: list[float] = field(default_factory=list)  # its PostgreSQL connections' CPU per request
    errors: int = 0

    def add(self, rate: float, p50_ms: float, p99_ms: float, errors: int = 0, cpu_ms: float | None = None,
            db_cpu_ms: float | None = None) -> None:
        self.rates.append(rate)
        self.p50.append(p50_ms)
        self.p99.append(p99_ms)
        self.errors += errors
        if cpu_ms is not None:
            self.cpu_ms.append(cpu_ms)
        if db_cpu_ms is not None:
            self.db_cpu_ms.append(db_cpu_ms)

    def add_wrk(self, result: WrkResult, cpu_ms: float | None = None, db_cpu_ms: float | None = None) -> None:
        self.add(result.rate, result.p50_ms, result.p99_ms, result.errors, cpu_ms, db_cpu_ms)

    @staticmethod
    def _median(values: Sequence[float]) -> float | None:
        return statistics.median(values) if values else None

    @property
    def rate(self) -> float | None:
        return self._median(self.rates)

    @property
    def latency(self) -> tuple[float | None, float | None]:
        return self._median(self.p50), self._median(self.p99)

    @property
    def cpu(self) -> float | None:
        return self._median(self.cpu_ms)

    @property
    def db_cpu(self) -> float | None:
        return self._median(self.db_cpu_ms)


@dataclass
class Row:
    endpoint: str
    unit: str = "req/s"
    ours: Side = field(default_factory=Side)
    peer: Side | None = field(default_factory=Side)  # None: the peer has no such row
    note: str = ""


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if value >= 100:
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def _ratio(ours: float | None, peer: float | None) -> str:
    if not ours or not peer:
        return "—"
    return f"{ours / peer:.2f}×"


def _latency(side: Side | None) -> tuple[str, str]:
    if side is None:
        return "—", "—"
    p50, p99 = side.latency
    return _number(p50, " ms"), _number(p99, " ms")


def table(rows: Iterable[Row], memory: tuple[str, str] | None = None) -> str:
    """The bench's one table, in Markdown (readable in a terminal, pasted in README).

    ``memory`` is (ours, peer), shown as the last row."""
    lines = [
        "| endpoint | ours | peer | ratio | CPU ms/req ours / peer | our PostgreSQL CPU ms/req "
        "| p50 ours / peer | p99 ours / peer |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        peer_rate = row.peer.rate if row.peer else None
        p50_ours, p99_ours = _latency(row.ours)
        p50_peer, p99_peer = _latency(row.peer)
        notes = [row.note] if row.note else []
        if row.ours.errors or (row.peer and row.peer.errors):
            notes.append(f"errors: {row.ours.errors} ours, {row.peer.errors if row.peer else 0} peer")
        name = row.endpoint + (f" ({'; '.join(notes)})" if notes else "")
        unit = f" {row.unit}"
        lines.append(
            f"| {name} | {_number(row.ours.rate, unit)} | {_number(peer_rate, unit)} "
            f"| {_ratio(row.ours.rate, peer_rate)} "
            f"| {_number(row.ours.cpu)} / {_number(row.peer.cpu if row.peer else None)} "
            f"| {_number(row.ours.db_cpu)} | {p50_ours} / {p50_peer} | {p99_ours} / {p99_peer} |"
        )
    if memory:
        lines.append(f"| memory | {memory[0]} | {memory[1]} | | | | | |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    what: str
    row: str
    minimum: float
    of_peer: bool = True  # a ratio to the peer, or an absolute figure of ours


def check_targets(rows: Sequence[Row], targets: Sequence[Target]) -> list[str]:
    """One line per target: the figure, the target, met or not."""
    by_name = {row.endpoint: row for row in rows}
    lines = []
    for target in targets:
        row = by_name.get(target.row)
        ours = row.ours.rate if row else None
        if target.of_peer:
            peer = row.peer.rate if row and row.peer else None
            figure = ours / peer if ours and peer else None
            shown = f"{figure:.2f}×" if figure is not None else "—"
            wanted = f"≥ {target.minimum}×"
        else:
            figure = ours
            shown = _number(figure, f" {row.unit}" if row else "")
            wanted = f"≥ {target.minimum:g}"
        verdict = "no figure" if figure is None else ("met" if figure >= target.minimum else "NOT met")
        lines.append(f"{target.what}: {shown} (target {wanted}): {verdict}")
    return lines
