"""Registering relying applications (clients)."""

from __future__ import annotations

import secrets
from typing import Any, cast
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import CursorResult

from . import audit
from .clock import now
from .digests import digest, new_secret
from .directory import AccountError
from .extensions import db
from .models import AuthorizationCode, Client, Service, Token
from .models.oauth import ACCESS_TOKEN_FORMATS, AUTH_METHODS, GRANT_TYPES
from .oidc.claims import SCOPES_SUPPORTED


def _check_redirect(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
        raise AccountError(f"redirect URI {uri!r} must be an absolute http(s) URL without fragment")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise AccountError(f"redirect URI {uri!r} must use https (http only on loopback)")
    return uri


def create_client(
    name: str,
    *,
    service: Service | None,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] = (),
    auth_method: str = "client_secret_basic",
    grant_types: list[str] = ("authorization_code", "refresh_token"),
    scope: str = "openid profile email phone peps",
    jwks: dict[str, Any] | None = None,
    default_acr: str | None = None,
    client_id: str | None = None,
    access_token_format: str | None = None,
) -> tuple[Client, str | None]:
    """Create a client; return it with its secret (``None`` for public or key clients).

    The secret is shown once: only its SHA-256 digest is stored. ``access_token_format``
    ``None`` follows the configuration's ``oidc.access_token_format``.
    """
    _check_access_token_format(access_token_format)
    if auth_method not in AUTH_METHODS:
        raise AccountError(f"auth method must be one of {', '.join(AUTH_METHODS)}")
    unknown = set(grant_types) - set(GRANT_TYPES)
    if unknown:
        raise AccountError(f"unknown grant types: {', '.join(sorted(unknown))}")
    if auth_method == "none" and "client_credentials" in grant_types:
        raise AccountError("a public client cannot use client_credentials")
    if "authorization_code" in grant_types and not redirect_uris:
        raise AccountError("the authorization_code grant needs at least one redirect URI")
    bad_scopes = set(scope.split()) - set(SCOPES_SUPPORTED)
    if bad_scopes:
        raise AccountError(f"unknown scopes: {', '.join(sorted(bad_scopes))}")
    if auth_method == "private_key_jwt":
        try:
            KeySet.import_key_set(jwks or {})
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise AccountError(f"private_key_jwt needs a valid public JWKS: {exc}") from None
    client_id = client_id or secrets.token_urlsafe(16)
    if db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one_or_none():
        raise AccountError(f"a client with id {client_id!r} exists already")
    secret = new_secret(32) if auth_method.startswith("client_secret") else None
    client = Client(
        client_id=client_id,
        name=name,
        service=service,
        secret_digest=digest(secret) if secret else None,
        token_endpoint_auth_method=auth_method,
        redirect_uris=[_check_redirect(uri) for uri in redirect_uris],
        post_logout_redirect_uris=[_check_redirect(uri) for uri in post_logout_redirect_uris],
        grant_types=list(grant_types),
        scope=scope,
        jwks=jwks,
        default_acr=default_acr,
        access_token_format=access_token_format,
    )
    db.session.add(client)
    audit.record("client.created", client_id=client_id, auth_method=auth_method)
    return client, secret


def _check_access_token_format(value: str | None) -> None:
    if value is not None and value not in ACCESS_TOKEN_FORMATS:
        raise AccountError(f"access token format must be one of {', '.join(ACCESS_TOKEN_FORMATS)}")


def set_access_token_format(client_id: str, value: str | None) -> Client:
    """Give a client opaque or JWT access tokens; ``None``: follow the configuration.

    Tokens already issued keep their format: both kinds stay valid until they expire."""
    _check_access_token_format(value)
    client = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one_or_none()
    if client is None:
        raise AccountError(f"no client {client_id!r}")
    client.access_token_format = value
    audit.record("client.updated", client_id=client_id, access_token_format=value or "default")
    return client


def revoke_tokens(client_id: str) -> dict[str, int]:
    """End every token of a client now (its secret leaked, say): its users' tokens and
    their refresh tokens (the application sends them through /authorize again), its codes
    not yet redeemed, and its own tokens, which are stored nowhere: those issued up to this
    second are inactive from now (``tokens_revoked_at``). Tokens it gets afterwards work."""
    client = db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one_or_none()
    if client is None:
        raise AccountError(f"no client {client_id!r}")
    moment = now()
    client.tokens_revoked_at = moment
    # An UPDATE or DELETE gives a CursorResult, which has the row count.
    tokens = cast(CursorResult[Any], db.session.execute(
        db.update(Token).where(Token.client_id == client_id, Token.revoked_at.is_(None)).values(revoked_at=moment)
    )).rowcount
    codes = cast(CursorResult[Any], db.session.execute(
        db.delete(AuthorizationCode).where(AuthorizationCode.client_id == client_id,
                                           AuthorizationCode.used_at.is_(None))
    )).rowcount
    audit.record("client.tokens_revoked", client_id=client_id, tokens=tokens, codes=codes)
    return {"tokens": tokens, "codes": codes}
