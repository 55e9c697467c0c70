"""JWT access tokens (RFC 9068) beside opaque ones.

A client gets JWTs when its ``access_token_format`` says ``jwt``, or when it says nothing
and ``oidc.access_token_format`` does. The JWT is signed with the key that signs ID tokens
(same ``kid``, published in the JWKS) and typed ``at+jwt`` (RFC 9068 2.1), so that no
relying party can take it for an ID token. Only its digest is stored, as for an opaque
token: introspection, revocation, UserInfo and the refresh families treat both alike, and
a revoked JWT is inactive at introspection even though its signature still verifies.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask import current_app
from joserfc import jwt

from .. import keys
from ..clock import epoch
from ..config import OIDCConfig, Settings
from ..provenance import Provenance

TYPE = "at+jwt"


def wanted(client_format: str | None, settings: OIDCConfig) -> bool:
    """Whether a client whose ``access_token_format`` is ``client_format`` gets JWT access
    tokens: its own choice, else the configuration's."""
    return (client_format or settings.access_token_format) == "jwt"


def claims(
    *,
    issuer: str,
    client_id: str,
    subject: str,
    scope: str,
    issued_at: int,
    expires_at: int,
    provenance: Provenance | None,
) -> dict[str, Any]:
    """RFC 9068 2.2. ``subject`` is the account's ``sub`` as in ID tokens, or the client id
    when no user is involved (client_credentials, 2.2 "sub"). ``aud`` is the client, as
    introspection says: a resource server checks it is the application it serves.
    ``jti`` makes two tokens issued in one second distinct (their digests are unique)."""
    payload: dict[str, Any] = {
        "iss": issuer,
        "exp": expires_at,
        "aud": client_id,
        "sub": subject,
        "client_id": client_id,
        "iat": issued_at,
        "jti": secrets.token_urlsafe(16),
    }
    if scope:
        payload["scope"] = scope
    if provenance is not None:
        # RFC 9068 2.2.1: how the user authenticated, as the ID token states it.
        payload["auth_time"] = provenance.auth_time
        payload["acr"] = provenance.acr
        if provenance.amr:
            payload["amr"] = list(provenance.amr)
    return payload


def for_client(client_format: str | None, *, client_id: str, subject: str, scope: str, issued: datetime,
               provenance: Provenance | None) -> str | None:
    """The signed JWT access token, if the client gets one (:func:`wanted`); None for an
    opaque one, which the caller draws."""
    settings: Settings = current_app.config["IDP"]
    if not wanted(client_format, settings.oidc):
        return None
    return encode(claims(
        issuer=settings.issuer, client_id=client_id, subject=subject, scope=scope, issued_at=epoch(issued),
        expires_at=epoch(issued + settings.oidc.access_token_lifetime), provenance=provenance,
    ), keys.signer())


def encode(payload: dict[str, Any], signer: keys.Signer) -> str:
    header = {"alg": signer.alg, "kid": signer.kid, "typ": TYPE}
    return jwt.encode(header, payload, signer.key_set, algorithms=[signer.alg])

