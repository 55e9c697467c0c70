"""client_credentials in two statements, for the requests that need nothing more.

A service asking for a token with its secret is the token endpoint's busiest case, and
Authlib's grant costs it more than the work: the ORM loads the client with its service,
the unit of work inserts the token, and the transaction adds a BEGIN and a COMMIT round
trip to PostgreSQL. :func:`answer` handles the plain, well-formed request on a connection
in autocommit mode: one SELECT of the client's columns, one INSERT of the token's digest
(one statement commits alone; a lost token only makes the service ask again).

It answers only what it can answer exactly as Authlib would: a POST of a small urlencoded
form with ``grant_type=client_credentials``, at most a ``scope``, and the client's secret
either in a Basic header or in the form (the client's registered method), each parameter
once. It answers no error: anything else, a wrong secret included, goes on to Flask and
Authlib's grant, with the same checks and the standard error.
``tests/functional/test_client_credentials.py`` holds both paths to the same answers.

:class:`MachineTokens` answers ahead of Flask, as :mod:`.documents` does for discovery and
the JWKS: under gunicorn Flask's request, its hooks and the ORM cost more CPU than the
token itself.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, cast
from urllib.parse import parse_qs, unquote

import psycopg
from flask import Flask, current_app
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, bindparam, event, insert, select

from .. import keys, metrics
from ..clock import epoch, now
from ..config import Settings
from ..digests import digest, matches, new_secret
from ..extensions import db
from ..models import Client, Token
from ..models.oauth import allowed_scope
from ..observability import HEADER, request_id_for
from ..web import security_headers
from . import access_tokens

log = logging.getLogger("idp.oidc")

GRANT_TYPE = "client_credentials"
# Authlib's parameters for this grant and these methods; any other one goes to Authlib.
_PARAMETERS = {"grant_type", "scope", "client_id", "client_secret"}
_LARGEST = 2048  # bytes of form: a longer body goes to Flask unread
ENDPOINT = "oidc.token"

_CLIENT = select(
    Client.secret_digest, Client.token_endpoint_auth_method, Client.grant_types, Client.scope,
    Client.access_token_format,
).where(Client.client_id == bindparam("client_id"))
_INSERT = insert(Token)
_COLUMNS = ("family_id", "client_id", "account_id", "access_digest", "scope", "issued_at", "access_expires_at",
            "provenance_json")

Form = Mapping[str, list[str]]
StartResponse = Callable[..., Any]


def _credentials(form: Form, authorization: str | None) -> tuple[str, str, str] | None:
    """(method, client id, secret) when the request carries exactly one pair."""
    if authorization is None:
        client_id, secret = form.get("client_id", [""])[0], form.get("client_secret", [""])[0]
        return ("client_secret_post", client_id, secret) if client_id and secret else None
    if "client_id" in form or "client_secret" in form:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 2.3.1, as Authlib reads it
    return ("client_secret_basic", client_id, secret) if colon and client_id and secret else None


class _Row(Protocol):
    secret_digest: str | None
    token_endpoint_auth_method: str
    grant_types: list[str]
    scope: str
    access_token_format: str | None


class _Statements(Protocol):
    def client(self, client_id: str) -> _Row | None: ...
    def insert(self, values: dict[str, Any]) -> None: ...


class _Core:
    """The two statements through SQLAlchemy, on a pooled connection in autocommit mode."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def client(self, client_id: str) -> _Row | None:
        return cast(_Row | None, self.connection.execute(_CLIENT, {"client_id": client_id}).first())

    def insert(self, values: dict[str, Any]) -> None:
        self.connection.execute(_INSERT, values)


class _Psycopg:
    """The two statements on this process's own autocommit connection to PostgreSQL, with
    psycopg alone: a third of the CPU of the same statements through SQLAlchemy's pool and
    execution machinery (0.25 against 0.58 ms a token, measured in-process). Opened on
    first use in each worker; a failure closes it and the request goes on to Flask."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.connection: psycopg.Connection[Any] | None = None
        self.pid = 0
        self.select = str(_CLIENT.compile(dialect=engine.dialect))
        self.insert_sql = str(_INSERT.values({name: bindparam(name) for name in _COLUMNS}).compile(
            dialect=engine.dialect))

    def _connection(self) -> psycopg.Connection[Any]:
        if self.connection is None or self.pid != os.getpid():
            arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
            self.connection = psycopg.connect(*arguments, **{**options, "autocommit": True})
            self.pid = os.getpid()
        return self.connection

    def client(self, client_id: str) -> _Row | None:
        cursor = self._connection().cursor(row_factory=namedtuple_row)
        return cast(_Row | None, cursor.execute(self.select, {"client_id": client_id}).fetchone())

    def insert(self, values: dict[str, Any]) -> None:
        self._connection().execute(self.insert_sql, values)

    def drop(self, *_: object) -> None:
        """Close the connection (when the engine is disposed, or after a failure); one
        inherited from another process is only forgotten: closing it would end the
        other's session."""
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            connection.close()


def answer(form: Form, authorization: str | None, statements: _Statements | None = None) -> dict[str, Any] | None:
    """The token response's body, or None for Authlib's grant to answer (in an app
    context). ``statements`` reach the database; by default SQLAlchemy's pool."""
    if form.get("grant_type") != [GRANT_TYPE] or not set(form) <= _PARAMETERS:
        return None
    if any(len(values) != 1 for values in form.values()):
        return None
    credentials = _credentials(form, authorization)
    if credentials is None or len(credentials[1]) > 64:
        return None
    if statements is None:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return _issue(form, credentials, _Core(connection))
    return _issue(form, credentials, statements)


def _issue(form: Form, credentials: tuple[str, str, str], statements: _Statements) -> dict[str, Any] | None:
    method, client_id, secret = credentials
    client = statements.client(client_id)
    if (
        client is None
        or not matches(secret, client.secret_digest)
        or client.token_endpoint_auth_method != method
        or GRANT_TYPE not in client.grant_types
    ):
        return None
    settings: Settings = current_app.config["IDP"]
    scope = allowed_scope(client.scope, form.get("scope", [None])[0])
    moment = now()
    lifetime = settings.oidc.access_token_lifetime
    expires = moment + lifetime
    if access_tokens.wanted(client.access_token_format, settings.oidc):
        token = access_tokens.encode(access_tokens.claims(
            issuer=settings.issuer, client_id=client_id, subject=client_id, scope=scope,
            issued_at=epoch(moment), expires_at=epoch(expires), provenance=None,
        ), keys.signer())
    else:
        token = new_secret()  # as Authlib's grants get it (idp.oidc.server.new_token)
    statements.insert({
        "family_id": str(uuid.uuid4()), "client_id": client_id, "account_id": None,
        "access_digest": digest(token), "scope": scope, "issued_at": moment,
        "access_expires_at": expires, "provenance_json": None,
    })
    metrics.count_token(GRANT_TYPE)
    body: dict[str, Any] = {"token_type": "Bearer", "access_token": token,
                            "expires_in": int(lifetime.total_seconds())}
    if scope:
        body["scope"] = scope
    return body


def _form(environ: dict[str, Any]) -> Form | None:
    """The urlencoded body of a small form POST without a query string, read once and put
    back for Flask; None, unread, for anything else."""
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded" or environ.get("QUERY_STRING"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= _LARGEST:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeError, ValueError):
        return None


class MachineTokens:
    """WSGI layer in front of the application: answers a plain client_credentials request
    (see the module docstring) without Flask, with the headers Flask's hooks would add;
    every other request, to the token endpoint or not, goes on to Flask."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app
        settings: Settings = app.config["IDP"]
        self.trusted_proxies = settings.trusted_proxies
        self.path = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == ENDPOINT)
        self.headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                        ("Pragma", "no-cache"), *security_headers(settings.issuer)]
        with app.app_context():
            engine = db.engine
        self.statements = _Psycopg(engine) if engine.dialect.driver == "psycopg" else None
        if self.statements is not None:
            event.listen(engine, "engine_disposed", self.statements.drop)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        form = _form(environ)
        if form is None:
            return self.wsgi_app(environ, start_response)
        with self.app.app_context():
            try:
                body = answer(form, environ.get("HTTP_AUTHORIZATION"), self.statements)
            except psycopg.Error as error:  # its own connection failed: Flask's pool takes over
                log.warning("client_credentials: the direct connection failed (%s); through Flask", error)
                assert isinstance(self.statements, _Psycopg)
                self.statements.drop()
                body = None
        if body is None:
            return self.wsgi_app(environ, start_response)
        content = json.dumps(body).encode()
        start_response("200 OK", [
            *self.headers, ("Content-Length", str(len(content))),
            (HEADER, request_id_for(environ.get("HTTP_X_REQUEST_ID"), self.trusted_proxies)),
        ])
        metrics.observe_latency(ENDPOINT, 200, time.perf_counter() - started)
        return [content]
