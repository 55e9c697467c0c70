"""The production worker (idp.serving.KeepAliveWorker, named by config/gunicorn.conf.py)
under gunicorn with one worker: connections kept alive, idle ones never holding the
worker, pipelined requests all answered, a stop that does not wait on idle clients."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess

import pytest

from tests.conftest import postgres_database

from .conftest import LiveIdP

DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    with postgres_database() as url:
        server = LiveIdP(tmp_path_factory.mktemp("serving"), url, workers=1)
        server.start()
        yield server
        server.stop()


def _connection(idp: LiveIdP) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", idp.port, timeout=10)


def test_one_connection_carries_several_requests(one_worker):
    connection = _connection(one_worker)
    connection.connect()
    opened = connection.sock
    try:
        answers = []
        for path in (DISCOVERY, "/jwks.json", "/login"):  # held documents, then Flask (400: no flow)
            connection.request("GET", path)
            answer = connection.getresponse()
            answer.read()
            answers.append((answer.status, answer.will_close))
        assert answers == [(200, False), (200, False), (400, False)]
        assert connection.sock is opened  # the same TCP connection throughout
    finally:
        connection.close()


def test_an_idle_connection_does_not_hold_the_worker(one_worker):
    """A client that connects and sends nothing (or nothing more) waits in the selector:
    the only worker answers others meanwhile. The sync worker would sit in recv() on it
    until gunicorn's 30 s timeout killed it, past this test's 10 s."""
    silent = socket.create_connection(("127.0.0.1", one_worker.port))
    kept = _connection(one_worker)
    try:
        kept.request("GET", DISCOVERY)
        kept.getresponse().read()  # now idle, kept alive
        for _ in range(3):
            connection = _connection(one_worker)
            connection.request("GET", DISCOVERY)
            assert connection.getresponse().status == 200
            connection.close()
        kept.request("GET", "/jwks.json")  # the kept connection still works
        assert kept.getresponse().status == 200
    finally:
        silent.close()
        kept.close()


def _answers(reader, count: int) -> list[tuple[bytes, dict[str, str], bytes]]:
    """``count`` answers read off one connection: status line, headers, body."""
    answers = []
    for _ in range(count):
        status = reader.readline()
        headers = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        answers.append((status, headers, reader.read(int(headers.get("content-length", 0)))))
    return answers


def test_pipelined_requests_are_answered_in_order_up_to_the_connection_s_last(one_worker):
    """Requests sent at once, past the 100 a connection carries: the first 100 are answered
    in order, the 100th says it is the last (Connection: close), then the connection ends:
    the client would send the rest on a new one, which any worker may take (a kept
    connection must not stay with its first worker for good)."""
    paths = [DISCOVERY if index % 2 else "/jwks.json" for index in range(120)]
    with socket.create_connection(("127.0.0.1", one_worker.port), timeout=10) as raw:
        raw.sendall(b"".join(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for path in paths))
        with raw.makefile("rb") as reader:
            answers = _answers(reader, 100)
            assert reader.read() == b""  # closed after the 100th
    assert all(status.startswith(b"HTTP/1.1 200") for status, _, _ in answers)
    assert [b'"issuer"' in body for _, _, body in answers] == [index % 2 == 1 for index in range(100)]
    assert all(b'"keys"' in body for _, _, body in answers[::2])
    assert [headers.get("connection", "").lower() for _, headers, _ in answers][98:] == ["keep-alive", "close"]


def test_a_new_connection_that_sends_nothing_is_closed_after_a_few_seconds(one_worker):
    """A new connection has 5 s for its first bytes (an idle kept-alive one 75 s, which
    proxies need): a crowd of silent connections cannot hold a worker's slots for long."""
    with socket.create_connection(("127.0.0.1", one_worker.port), timeout=20) as silent:
        assert silent.recv(1) == b""  # closed by the worker, well before 20 s (or 75)


def test_a_stop_does_not_wait_for_idle_clients(tmp_path):
    """SIGTERM with a kept-alive connection and a silent one open: the worker closes them
    and gunicorn exits well within the graceful timeout (20 s)."""
    idp = LiveIdP(tmp_path / "stop", f"sqlite:///{tmp_path / 'stop.sqlite3'}", workers=1)
    idp.start()
    kept = _connection(idp)
    silent = socket.create_connection(("127.0.0.1", idp.port))
    try:
        kept.request("GET", DISCOVERY)
        kept.getresponse().read()
        assert idp.process is not None
        idp.process.send_signal(signal.SIGTERM)
        try:
            assert idp.process.wait(timeout=15) == 0
        except subprocess.TimeoutExpired:
            pytest.fail("gunicorn still running 15 s after SIGTERM")
    finally:
        kept.close()
        silent.close()
        idp.stop()
