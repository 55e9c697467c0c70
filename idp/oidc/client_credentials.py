"""client_credentials in two statements, for the requests that need nothing more.

A service asking for a token with its secret is the token endpoint's busiest case, and
Authlib's grant costs it more than the work: the ORM loads the client with its service,
the unit of work inserts the token, and the transaction adds a BEGIN and a COMMIT round
trip to PostgreSQL. :func:`answer` handles the plain, well-formed request on a connection
in autocommit mode: one SELECT of the client's columns, one INSERT of the token's digest
(one statement commits alone; a lost token only makes the service ask again).

It answers only what it can answer exactly as Authlib would: a POST with
``grant_type=client_credentials``, at most a ``scope``, and the client's secret either in
a Basic header or in the form (the client's registered method), each parameter once. It
answers no error: anything else, a wrong secret included, returns None and Authlib's
grant answers, with the same checks and the standard error. ``test_client_credentials``
holds both paths to the same answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any
from urllib.parse import unquote

from flask import Request, Response, current_app
from sqlalchemy import bindparam, insert, select

from .. import keys, metrics
from ..clock import epoch, now
from ..config import Settings
from ..digests import digest, matches, new_secret
from ..extensions import db
from ..models import Client, Token
from ..models.oauth import allowed_scope
from . import access_tokens

GRANT_TYPE = "client_credentials"
# Authlib's parameters for this grant and these methods; any other one goes to Authlib.
_PARAMETERS = {"grant_type", "scope", "client_id", "client_secret"}
_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}

_CLIENT = select(
    Client.secret_digest, Client.token_endpoint_auth_method, Client.grant_types, Client.scope,
    Client.access_token_format,
).where(Client.client_id == bindparam("client_id"))
_INSERT = insert(Token)


def _credentials(request: Request) -> tuple[str, str, str] | None:
    """(method, client id, secret) when the request carries exactly one pair."""
    form = request.form
    header = request.headers.get("Authorization")
    if header is None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        return ("client_secret_post", client_id, secret) if client_id and secret else None
    if "client_id" in form or "client_secret" in form:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    client_id, secret = unquote(client_id), unquote(secret)  # RFC 6749 2.3.1, as Authlib reads it
    return ("client_secret_basic", client_id, secret) if colon and client_id and secret else None


def _plain(request: Request) -> bool:
    form = request.form
    return (
        request.mimetype == "application/x-www-form-urlencoded"
        and not request.args
        and set(form) <= _PARAMETERS
        and all(len(values) == 1 for values in form.listvalues())
    )


def answer(request: Request) -> Response | None:
    """The token response, or None for Authlib's grant to answer."""
    if request.form.get("grant_type") != GRANT_TYPE or not _plain(request):
        return None
    credentials = _credentials(request)
    if credentials is None or len(credentials[1]) > 64:
        return None
    method, client_id, secret = credentials
    settings: Settings = current_app.config["IDP"]
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        client = connection.execute(_CLIENT, {"client_id": client_id}).first()
        if (
            client is None
            or not matches(secret, client.secret_digest)
            or client.token_endpoint_auth_method != method
            or GRANT_TYPE not in client.grant_types
        ):
            return None
        scope = allowed_scope(client.scope, request.form.get("scope"))
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
        connection.execute(_INSERT, {
            "family_id": str(uuid.uuid4()), "client_id": client_id, "account_id": None,
            "access_digest": digest(token), "scope": scope, "issued_at": moment,
            "access_expires_at": expires, "provenance_json": None,
        })
    metrics.count_token(GRANT_TYPE)
    body: dict[str, Any] = {"token_type": "Bearer", "access_token": token,
                            "expires_in": int(lifetime.total_seconds())}
    if scope:
        body["scope"] = scope
    return Response(json.dumps(body), status=200, headers=_HEADERS)

