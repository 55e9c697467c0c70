"""JWT access tokens (RFC 9068) beside opaque ones.

A client gets JWTs when its ``access_token_format`` says ``jwt``, or when it says nothing
and ``oidc.access_token_format`` does. The JWT is signed with the key that signs ID tokens
(same ``kid``, published in the JWKS) and typed ``at+jwt`` (RFC 9068 2.1), so that no
relying party can take it for an ID token.

A user's JWT is stored as an opaque token is, by its digest, in the row that also holds
its refresh token and family: introspection, revocation, UserInfo and replay detection
treat both formats alike, and a revoked JWT is inactive at introspection even though its
signature still verifies.

A client's own JWT (client_credentials: no user, no refresh token, no family) is stored
nowhere (:func:`kept`), as node oidc-provider does: its signature and claims hold all
that introspection says of it (:func:`read_own`), and only its revocation is written down
(``revoked_access_tokens``, until it would have expired anyway). That spares the busiest
token request its INSERT.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from .. import keys
from ..clock import epoch
from ..config import OIDCConfig, Settings
from ..models import SigningKey
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



def kept(signed: str | None, for_a_user: bool) -> bool:
    """Whether an access token needs its own row: an opaque one always (the row is all
    there is of it), a user's JWT too (its family and refresh token live there); a
    client's own JWT never (see the module's docstring)."""
    return signed is None or for_a_user


_LONGEST = 4096  # characters: ours are under 1,000


def read_own(value: str, published: Sequence[SigningKey], issuer: str, moment: datetime) -> dict[str, Any] | None:
    """The claims of ``value`` if it is a client's own JWT access token from this
    provider, unexpired at ``moment``: signed by one of the ``published`` keys (a key
    retired from signing still vouches for the tokens it signed while it is published),
    typed ``at+jwt``, issued by ``issuer``, naming its client as subject and audience. None
    for anything else, a user's JWT (whose row says more) or an ID token included."""
    if len(value) > _LONGEST or value.count(".") != 2 or not published:
        return None
    key_set = KeySet([keys.load(record.kid, record.private_jwk) for record in published])
    try:
        token = jwt.decode(value, key_set, algorithms=sorted({record.alg for record in published}))
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    claims = token.claims
    if token.header.get("typ") != TYPE or not isinstance(claims, dict):
        return None
    client_id, jti, scope = claims.get("client_id"), claims.get("jti"), claims.get("scope", "")
    expires_at, issued_at = claims.get("exp"), claims.get("iat")
    if (
        claims.get("iss") != issuer
        or not isinstance(client_id, str) or claims.get("sub") != client_id or claims.get("aud") != client_id
        or not isinstance(jti, str) or not 0 < len(jti) <= 64
        or not isinstance(scope, str)
        or not isinstance(expires_at, int) or not isinstance(issued_at, int)
        or expires_at <= epoch(moment)
        or "auth_time" in claims  # a user's: issued with a row, found by its digest
    ):
        return None
    return claims
