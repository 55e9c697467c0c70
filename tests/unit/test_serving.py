"""idp.serving.KeepAliveWorker's own bookkeeping, on a worker built without gunicorn's
master (tests/live/test_serving.py runs it under gunicorn)."""

from __future__ import annotations

import socket

from gunicorn.workers.gthread import TConn

from idp.serving import KeepAliveWorker


def _worker(handle) -> tuple[KeepAliveWorker, list[str]]:
    worker = KeepAliveWorker.__new__(KeepAliveWorker)  # no master, no config: only what enqueue_req uses
    worker._answering = False
    worker.nr_conns = 0
    beats: list[str] = []
    worker.notify = lambda: beats.append("beat")
    worker.handle = handle
    worker.finish_request = lambda conn, outcome: outcome.result()
    return worker, beats


def _conn(sock: socket.socket) -> TConn:
    conn = TConn.__new__(TConn)
    conn.sock = sock
    return conn


def test_each_request_answered_gives_the_heartbeat():
    """A turn of the loop may answer many ready connections, one after the other: each
    gives the master its heartbeat, so that their sum never looks like a stuck worker."""
    worker, beats = _worker(lambda conn: True)
    pairs = [socket.socketpair() for _ in range(3)]
    try:
        for ours, _ in pairs:
            worker.enqueue_req(_conn(ours))
        assert beats == ["beat"] * 3
    finally:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()


def test_a_connection_closed_by_its_request_is_counted_off_once():
    """handle() closes the socket itself after an error once the answer began: the worker
    counts the connection off there, not again through a failing second close."""
    ours, theirs = socket.socketpair()

    def handle(conn):
        conn.sock.close()
        return False

    worker, _ = _worker(handle)
    del worker.finish_request  # gthread's own, which counts off and closes
    worker.nr_conns = 1
    try:
        worker.enqueue_req(_conn(ours))
    finally:
        theirs.close()
    assert worker.nr_conns == 0
