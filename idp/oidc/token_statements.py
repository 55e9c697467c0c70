"""The statements of :mod:`.fast_tokens`, built once from the models: SQLAlchemy Core on a
pooled connection in autocommit mode (SQLite), or psycopg alone on connections of the
process's own (PostgreSQL: a third of the CPU, 0.25 against 0.58 ms for a SELECT and
an INSERT of a token, in-process)."""

from __future__ import annotations

import os
import threading
from datetime import date, datetime
from typing import Any, Protocol, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, bindparam, exists, insert, select, update

from ..extensions import db
from ..models import Account, Client, Token
from ..models.accounts import AccountService, Establishment

_TOKENS = Token.__table__

_CLIENT = select(
    Client.secret_digest, Client.token_endpoint_auth_method, Client.grant_types, Client.scope,
    Client.access_token_format, Client.service_id,
).where(Client.client_id == bindparam("client_id"))
# Core statements on the table: the values are keyed by column ("provenance", not the
# model's "provenance_json").
_INSERT = insert(_TOKENS)
# The refresh token, and what decides whether its account may still have it.
_REFRESH = (
    select(
        Token.id, Token.family_id, Token.client_id, Token.account_id, Token.scope, Token.refresh_expires_at,
        Token.refresh_used_at, Token.revoked_at, Token.provenance_json.label("provenance_json"),
        Account.status, Account.valid_until, Account.subject, Establishment.siret,
        exists().where(AccountService.account_id == Account.id,
                       AccountService.service_id == bindparam("service_id")).label("entitled"),
    )
    .join(Account, Account.id == Token.account_id)
    .join(Establishment, Establishment.id == Account.establishment_id)
    .where(Token.refresh_digest == bindparam("digest"))
)
# Consume the refresh token if nobody did; what the new row copies from it comes back.
_CLAIM = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("old_id"), _TOKENS.c.refresh_used_at.is_(None), _TOKENS.c.revoked_at.is_(None))
    .values(refresh_used_at=bindparam("moment"))
    .returning(_TOKENS.c.family_id, _TOKENS.c.client_id, _TOKENS.c.account_id, _TOKENS.c.refresh_expires_at,
               _TOKENS.c.provenance)
)
_NEW = ("access_digest", "refresh_digest", "scope", "issued_at", "access_expires_at")  # the rest is copied
# PostgreSQL: consume and insert in one statement, the claim in a WITH feeding the INSERT.
_CLAIMED = _CLAIM.cte("claimed")
_ROTATE = insert(_TOKENS).from_select(
    [*(column.name for column in _CLAIMED.c), *_NEW],
    select(*_CLAIMED.c, *(bindparam(f"new_{name}", type_=_TOKENS.c[name].type) for name in _NEW)),
)


class ClientRow(Protocol):
    secret_digest: str | None
    token_endpoint_auth_method: str
    grant_types: list[str]
    scope: str
    access_token_format: str | None
    service_id: int | None


class RefreshRow(Protocol):
    id: int
    family_id: str
    client_id: str
    account_id: int
    scope: str
    refresh_expires_at: datetime | None
    refresh_used_at: datetime | None
    revoked_at: datetime | None
    provenance_json: dict[str, Any] | None
    status: str
    valid_until: date | None
    subject: str
    siret: str
    entitled: bool


class Statements(Protocol):
    def client(self, client_id: str) -> ClientRow | None: ...
    def refresh(self, refresh_digest: str, service_id: int | None) -> RefreshRow | None: ...
    def rotate(self, old_id: int, values: dict[str, Any]) -> bool: ...


class CoreStatements:
    """The statements through SQLAlchemy, on a pooled connection in autocommit mode."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def client(self, client_id: str) -> ClientRow | None:
        return cast(ClientRow | None, self.connection.execute(_CLIENT, {"client_id": client_id}).first())

    def refresh(self, refresh_digest: str, service_id: int | None) -> RefreshRow | None:
        found = self.connection.execute(_REFRESH, {"digest": refresh_digest, "service_id": service_id}).first()
        return cast(RefreshRow | None, found)

    def rotate(self, old_id: int, values: dict[str, Any]) -> bool:
        # SQLite has no UPDATE inside a WITH: the claim, then the insert, in one transaction.
        with db.engine.begin() as connection:
            claimed = connection.execute(_CLAIM, {"old_id": old_id, "moment": values["issued_at"]}).first()
            if claimed is None:
                return False
            connection.execute(_INSERT, {**values, **claimed._asdict()})
        return True


class PsycopgStatements:
    """The statements on connections of this process's own, in autocommit mode, with
    psycopg alone: one per thread (a gthread worker's threads never queue behind one
    another's statement), opened on first use."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.local = threading.local()
        self.lock = threading.Lock()
        self.opened: list[tuple[int, psycopg.Connection[Any]]] = []  # (pid, connection)

        def compiled(statement: Any) -> str:
            return str(statement.compile(dialect=engine.dialect))

        self.sql = {
            "client": compiled(_CLIENT),
            "refresh": compiled(_REFRESH),
            "rotate": compiled(_ROTATE),
        }

    @property
    def connection(self) -> psycopg.Connection[Any] | None:
        """This thread's connection, if it opened one in this process."""
        if getattr(self.local, "pid", None) != os.getpid():
            return None  # none yet, or the parent's before a fork
        connection: psycopg.Connection[Any] | None = self.local.connection
        return connection

    def _connection(self) -> psycopg.Connection[Any]:
        connection = self.connection
        if connection is None:
            arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
            connection = psycopg.connect(*arguments, **{**options, "autocommit": True})
            self.local.connection, self.local.pid = connection, os.getpid()
            with self.lock:
                self.opened.append((os.getpid(), connection))
        return connection

    def _one(self, name: str, values: dict[str, Any]) -> Any:
        cursor = self._connection().cursor(row_factory=namedtuple_row)
        return cursor.execute(self.sql[name], values).fetchone()

    def client(self, client_id: str) -> ClientRow | None:
        return cast(ClientRow | None, self._one("client", {"client_id": client_id}))

    def refresh(self, refresh_digest: str, service_id: int | None) -> RefreshRow | None:
        return cast(RefreshRow | None, self._one("refresh", {"digest": refresh_digest, "service_id": service_id}))

    def rotate(self, old_id: int, values: dict[str, Any]) -> bool:
        bound = {"old_id": old_id, "moment": values["issued_at"], **{f"new_{name}": values[name] for name in _NEW}}
        return self._connection().execute(self.sql["rotate"], bound).rowcount == 1

    def drop(self) -> None:
        """Close this thread's connection, after it failed."""
        connection = self.connection
        self.local.connection = None
        if connection is not None:
            with self.lock:
                self.opened = [(pid, c) for pid, c in self.opened if c is not connection]
            connection.close()

    def dispose(self, *_: object) -> None:
        """Close every connection this process opened (the engine was disposed). Those
        inherited from another process are only forgotten: closing them would end the
        other's sessions."""
        with self.lock:
            opened, self.opened = self.opened, []
        self.local = threading.local()
        for pid, connection in opened:
            if pid == os.getpid():
                connection.close()
