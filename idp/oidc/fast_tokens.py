"""client_credentials and refresh in a few statements, for the requests that need nothing more.

A service asking for a token with its secret, and an application refreshing its user's
tokens, are the token endpoint's busiest cases, and Flask, Authlib's grants and the ORM
cost them more than the work. :class:`FastTokens` answers them ahead of Flask, as
:mod:`.documents` does for discovery and the JWKS, in autocommit mode:

- client_credentials: one SELECT of the client's columns; the token, a JWT or sealed, is
  stored nowhere (:func:`.access_tokens.for_itself`);
- refresh with rotation: the client, then the refresh token with what decides whether its
  account may still have it, then one statement that consumes the old token and inserts
  the new one together (PostgreSQL: an UPDATE in a WITH feeding the INSERT; SQLite: both in
  one transaction). Another request consuming the same token first makes it insert nothing.

On PostgreSQL each worker sends these on its own psycopg connection, without SQLAlchemy
(0.25 against 0.58 ms of CPU for a SELECT and an INSERT of a token, in-process); a
failure closes it and the request goes on to Flask.

Each answers only what it can answer exactly as Authlib's grant would: a POST of a small
urlencoded form with these parameters once each, the client's secret in a Basic header or
in the form as it registered, and for a refresh, a token that is usable, of this client,
whose account is active, within its validity and entitled to the client's service in its
own establishment, and whose ID token releases no claim of the account. Anything else,
every error included, goes on to Flask and Authlib's grant: a wrong secret, a refresh
token used twice (which revokes its family there), a delegation, a narrower scope that
is not a subset. ``tests/functional/test_fast_tokens.py`` sends the same requests both
ways and compares the answers.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import psycopg
from flask import Flask, current_app
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from .. import metrics
from ..clock import now
from ..config import Settings
from ..digests import digest, matches, new_secret
from ..extensions import db
from ..models import Token
from ..models.accounts import usable
from ..models.oauth import allowed_scope
from ..observability import ENVIRON_KEY, request_id_for, request_id_var
from ..provenance import Provenance
from . import access_tokens, claims, id_token
from .documents import AheadOfFlask, StartResponse, WSGIApp
from .token_statements import ClientRow, CoreStatements, PsycopgStatements, Statements

log = logging.getLogger("idp.oidc")

CLIENT_CREDENTIALS = "client_credentials"
REFRESH_TOKEN = "refresh_token"
# Authlib's parameters for these grants and methods; any other one goes to Authlib.
_PARAMETERS = {
    CLIENT_CREDENTIALS: {"grant_type", "scope", "client_id", "client_secret"},
    REFRESH_TOKEN: {"grant_type", "refresh_token", "scope", "client_id", "client_secret"},
}
_LARGEST = 2048  # bytes of form: a longer body goes to Flask unread
ENDPOINT = "oidc.token"

Form = Mapping[str, list[str]]


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


def answer(form: Form, authorization: str | None, statements: Statements | None = None) -> dict[str, Any] | None:
    """The token response's body, or None for Authlib's grant to answer (in an app
    context). ``statements`` reach the database; by default SQLAlchemy's pool."""
    grant_type = form.get("grant_type", [""])[0]
    parameters = _PARAMETERS.get(grant_type)
    if parameters is None or not set(form) <= parameters or any(len(values) != 1 for values in form.values()):
        return None
    credentials = _credentials(form, authorization)
    if credentials is None or len(credentials[1]) > 64:
        return None
    if any("\x00" in value for values in form.values() for value in values) or "\x00" in "".join(credentials):
        return None  # PostgreSQL text holds no NUL: Authlib's grant refuses the request
    issue = _client_credentials if grant_type == CLIENT_CREDENTIALS else _refresh
    if statements is None:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return issue(form, credentials, CoreStatements(connection))
    return issue(form, credentials, statements)


def _authenticated(credentials: tuple[str, str, str], grant_type: str, statements: Statements) -> ClientRow | None:
    method, client_id, secret = credentials
    client = statements.client(client_id)
    if (
        client is None
        or not matches(secret, client.secret_digest)
        or client.token_endpoint_auth_method != method
        or grant_type not in client.grant_types
    ):
        return None
    return client


def _access_token(client: ClientRow, client_id: str, subject: str, scope: str, moment: datetime,
                  provenance: Provenance | None) -> str:
    signed = access_tokens.for_client(client.access_token_format, client_id=client_id, subject=subject, scope=scope,
                                      issued=moment, provenance=provenance)
    return signed or new_secret()  # as Authlib's grants draw an opaque one (idp.oidc.server.new_token)


def _body(token: str, scope: str, **more: str) -> dict[str, Any]:
    settings: Settings = current_app.config["IDP"]
    body: dict[str, Any] = {"token_type": "Bearer", "access_token": token,
                            "expires_in": int(settings.oidc.access_token_lifetime.total_seconds()), **more}
    if scope:
        body["scope"] = scope
    return body


def _client_credentials(form: Form, credentials: tuple[str, str, str], statements: Statements
                        ) -> dict[str, Any] | None:
    client_id = credentials[1]
    client = _authenticated(credentials, CLIENT_CREDENTIALS, statements)
    if client is None:
        return None
    scope = allowed_scope(client.scope, form.get("scope", [None])[0])
    token = access_tokens.for_itself(client.access_token_format, client_id=client_id, scope=scope, issued=now())
    metrics.count_token(CLIENT_CREDENTIALS)
    return _body(token, scope)


def _refresh(form: Form, credentials: tuple[str, str, str], statements: Statements) -> dict[str, Any] | None:
    client_id = credentials[1]
    client = _authenticated(credentials, REFRESH_TOKEN, statements)
    if client is None:
        return None
    presented = form.get(REFRESH_TOKEN, [""])[0]
    if not presented:
        return None
    found = statements.refresh(digest(presented), client.service_id)
    moment = now()
    if (
        found is None
        or found.client_id != client_id
        or found.refresh_used_at is not None  # a replay: Authlib's grant revokes the family
        or found.revoked_at is not None
        or found.refresh_expires_at is None
        or found.refresh_expires_at <= moment
        or not usable(found.status, found.valid_until, moment.date())
    ):
        return None
    provenance = None if found.provenance_json is None else Provenance.from_json(found.provenance_json)
    if provenance is not None and provenance.establishment not in (None, found.siret):
        return None  # acting for another establishment: the delegation decides, in Authlib's grant
    if client.service_id is not None and not found.entitled:
        return None
    requested = form.get("scope", [""])[0]
    if requested and (not found.scope or not set(requested.split()) <= set(found.scope.split())):
        return None  # Authlib's grant refuses a scope beyond the token's, or any with none
    scope = allowed_scope(client.scope, requested or found.scope)
    with_id_token = "openid" in scope.split() and provenance is not None
    if with_id_token and provenance is not None and claims.released_names(
            scope, provenance.claims, "id_token", include_scope_claims=False):
        return None  # the ID token releases claims of the account: Authlib's grant reads it
    token = _access_token(client, client_id, found.subject, scope, moment, provenance)
    refresh_token = new_secret()
    body = _body(token, scope, refresh_token=refresh_token)
    if with_id_token and provenance is not None:
        # OIDC Core 12.2: the new ID token keeps the original auth_time, acr and amr.
        # Signed before the statement that consumes the old token, which nothing may follow.
        body["id_token"] = id_token.sign(client_id, found.subject, provenance=provenance, nonce=None,
                                         access_token=token, released={})
    settings: Settings = current_app.config["IDP"]
    values = {
        "access_digest": digest(token), "refresh_digest": digest(refresh_token), "scope": scope,
        "issued_at": moment, "access_expires_at": moment + settings.oidc.access_token_lifetime,
    }
    try:
        rotated = statements.rotate(found.id, values)
    except psycopg.Error as error:
        # Whether it committed is unknown. It consumes and inserts together: the new token
        # is there exactly when it did. If not, nothing changed and Authlib's grant answers.
        log.warning("refresh: the direct connection failed during the rotation (%s)", error)
        assert isinstance(statements, PsycopgStatements)
        statements.drop()
        with db.engine.connect() as connection:
            rotated = connection.execute(
                select(Token.id).where(Token.refresh_digest == values["refresh_digest"])).first() is not None
    if not rotated:
        return None  # consumed by another request meanwhile: Authlib's grant sees the replay
    metrics.count_token(REFRESH_TOKEN)
    return body


def _form(environ: dict[str, Any]) -> Form | None:
    """The urlencoded body of a small form POST without a query string, read once and put
    back for Flask; None, unread, for anything else."""
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded" or environ.get("QUERY_STRING"):
        return None
    declared = environ.get("CONTENT_LENGTH", "")
    if not declared.isascii() or not declared.isdigit() or "HTTP_TRANSFER_ENCODING" in environ:
        return None  # as werkzeug reads it: digits only, and no chunked body
    length = int(declared)
    if not 0 < length <= _LARGEST:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeError, ValueError):
        return None


class FastTokens(AheadOfFlask):
    """WSGI layer in front of the application: answers a plain client_credentials or
    refresh request (see the module docstring) without Flask; every other request, to the
    token endpoint or not, goes on to Flask."""

    HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Pragma", "no-cache")]

    def __init__(self, app: Flask, wsgi_app: WSGIApp):
        super().__init__(app, wsgi_app)
        self.path = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == ENDPOINT)
        with app.app_context():
            engine = db.engine
        self.statements = PsycopgStatements(engine) if engine.dialect.driver == "psycopg" else None
        if self.statements is not None:
            event.listen(engine, "engine_disposed", self.statements.dispose)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        form = _form(environ)
        if form is None:
            return self.wsgi_app(environ, start_response)
        # The request's id from here on: on the log lines written ahead of Flask, and kept by
        # Flask if it takes over (idp.observability).
        environ[ENVIRON_KEY] = request_id_for(environ.get("HTTP_X_REQUEST_ID"), self.trusted_proxies)
        token = request_id_var.set(environ[ENVIRON_KEY])
        try:
            with self.app.app_context():
                try:
                    body = answer(form, environ.get("HTTP_AUTHORIZATION"), self.statements)
                except (psycopg.Error, DBAPIError) as error:  # Flask and its pool take over
                    log.warning("token endpoint: the database failed ahead of Flask (%s)", error)
                    if isinstance(error, psycopg.Error) and self.statements is not None:
                        self.statements.drop()
                    body = None
        finally:
            request_id_var.reset(token)
        if body is None:
            return self.wsgi_app(environ, start_response)
        return self.send(environ, start_response, ENDPOINT, started, 200, self.HEADERS, json.dumps(body).encode())
