"""CPU and memory of the benchmarked servers, read from /proc."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg

from tests.conftest import POSTGRES_ADMIN

CLOCK_TICK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def process_tree(master: int) -> list[int]:
    """The gunicorn master and its workers (the children it has now)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(pid) for pid in children)]


def cpu_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process that still exists, in clock ticks."""
    ticks = {}
    for pid in pids:
        try:
            # Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, PermissionError):  # gone meanwhile, or another user's
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


class Processes:
    """The processes whose CPU a round counts, looked up again at each reading (a worker
    replaced, a new database connection); one first seen after the start counts whole."""

    def __init__(self, find: Callable[[], list[int]]):
        self.find = find

    def spent_during(self, run: Callable[[], T]) -> tuple[T, float]:
        """What ``run`` returns, and the CPU seconds these processes spent meanwhile."""
        before = cpu_ticks(self.find())
        result = run()
        after = cpu_ticks(self.find())
        return result, sum(value - before.get(pid, 0) for pid, value in after.items()) / CLOCK_TICK


def postgres_backends(database_url: str) -> Callable[[], list[int]]:
    """The PostgreSQL server processes serving ``database_url`` (its connection pools)."""
    name = database_url.rsplit("/", 1)[1]

    def find() -> list[int]:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
    return find


def memory_mib(pids: list[int]) -> tuple[float, float]:
    """(PSS, RSS) summed over ``pids``, in MiB: PSS shares the pages the workers share."""
    pss = rss = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Pss":
                pss += int(value.split()[0])
            elif name == "Rss":
                rss += int(value.split()[0])
    return pss / 1024, rss / 1024


def spent_by_both(server: Processes, database: Processes, run: Callable[[], T]) -> tuple[T, float, float]:
    """What ``run`` returns, and the CPU seconds the server and its database connections
    spent meanwhile (read alongside)."""
    database_spent = [0.0]

    def counted() -> T:
        outcome, database_spent[0] = database.spent_during(run)
        return outcome

    result, spent = server.spent_during(counted)
    return result, spent, database_spent[0]
