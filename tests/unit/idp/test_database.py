"""The check before a pooled connection is lent: ping only a suspect one."""

import socket

import pytest
from sqlalchemy.exc import DisconnectionError

from idp import database


class Record:
    def __init__(self, returned_at=None):
        self.info = {} if returned_at is None else {"returned_at": returned_at}


class Connection:
    """A DBAPI connection on one end of a socket pair, counting the pings it gets."""

    def __init__(self, sock, fails=False):
        self.sock, self.fails, self.pings, self.rollbacks = sock, fails, 0, 0

    def fileno(self):
        return self.sock.fileno()

    def cursor(self):
        connection = self

        class Cursor:
            def execute(self, statement):
                if connection.fails:
                    raise OSError("server closed the connection unexpectedly")
                assert statement == "SELECT 1"
                connection.pings += 1

            def close(self):
                pass

        return Cursor()

    def rollback(self):
        self.rollbacks += 1


@pytest.fixture
def pair():
    ours, server = socket.socketpair()
    yield ours, server
    ours.close()
    server.close()


def test_a_connection_just_returned_with_nothing_to_read_is_lent_without_a_ping(pair, monkeypatch):
    monkeypatch.setattr(database.time, "monotonic", lambda: 100.0)
    connection = Connection(pair[0])
    database._check_before_lending(connection, Record(returned_at=99.0), None)
    assert connection.pings == 0


@pytest.mark.parametrize("case", ["new", "idle", "readable", "closed"])
def test_a_new_idle_or_readable_connection_is_pinged(pair, monkeypatch, case):
    monkeypatch.setattr(database.time, "monotonic", lambda: 100.0)
    returned = {"new": None, "idle": 100.0 - database.IDLE_PING_SECONDS - 1}.get(case, 99.5)
    if case == "readable":
        pair[1].sendall(b"E")  # what a server sends as it ends the session
    if case == "closed":
        pair[1].close()
    connection = Connection(pair[0])
    database._check_before_lending(connection, Record(returned_at=returned), None)
    assert connection.pings == 1 and connection.rollbacks == 1


def test_a_failed_ping_makes_the_pool_replace_the_connection(pair):
    pair[1].close()
    with pytest.raises(DisconnectionError):
        database._check_before_lending(Connection(pair[0], fails=True), Record(), None)


def test_returning_a_connection_stamps_the_time(monkeypatch):
    monkeypatch.setattr(database.time, "monotonic", lambda: 42.0)
    record = Record()
    database._returned(None, record)
    assert record.info["returned_at"] == 42.0
