"""Database set-up: the engine, SQLite pragmas, and Alembic migrations."""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry

from .extensions import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# A pooled connection idle for longer than this is pinged before it is lent again.
IDLE_PING_SECONDS = 5.0


def _returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["returned_at"] = time.monotonic()


def _check_before_lending(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """What ``pool_pre_ping`` does, without its round trip on a connection in steady use.

    A server that restarts or ends the session sends its reason and closes the socket, so
    an idle connection with something to read is suspect; one that sat idle for a while
    may have been cut silently (a firewall, a failover). Either is pinged; a connection
    returned moments ago with nothing to read is lent as it is. A failed ping makes the pool
    open a new connection instead: the request never sees the dead one. (``SELECT 1``
    before every request was one round trip in five of a client_credentials token.)"""
    returned = record.info.get("returned_at")
    waiting = select.poll()
    waiting.register(dbapi_connection.fileno(), select.POLLIN)
    readable = bool(waiting.poll(0))  # data, or the socket closed (POLLHUP, POLLERR)
    if not readable and returned is not None and time.monotonic() - returned < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()
    except Exception as error:  # whatever the driver raises for a dead connection
        raise DisconnectionError(f"the pooled connection failed its check: {error}") from error


def init_app(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            event.listen(engine, "checkin", _returned)
            event.listen(engine, "checkout", _check_before_lending)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade() -> None:
    """Bring the database schema to the newest migration (inside an app context)."""
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
