"""ID tokens (OIDC Core 2): signed with the current key, ``kid`` in the header."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oidc.core.grants.util import create_half_hash
from flask import current_app
from joserfc import jwt

from .. import keys
from ..clock import epoch_now
from ..config import Settings
from ..models import Account, Client
from ..provenance import Provenance
from . import claims as claim_rules


def add_to_response(
    token: dict[str, Any], request: OAuth2Request, provenance: Provenance | None, nonce: str | None = None
) -> None:
    """Add an ID token to a token response when the granted scope includes ``openid``.

    ``provenance`` comes from the authorization code or the refresh token the grant
    came from: the login's ``auth_time``, ``acr``, ``amr``, ``sid`` and ``claims`` request."""
    if "openid" not in (token.get("scope") or "").split() or provenance is None:
        return
    token["id_token"] = build(request.client, request.user, scope=token["scope"], provenance=provenance,
                              nonce=nonce, access_token=token["access_token"])


def build(client: Client, account: Account, *, scope: str, provenance: Provenance, nonce: str | None = None,
          access_token: str | None = None) -> str:
    # With an access token, scope claims go to UserInfo (OIDC Core 5.4); the ID token
    # carries only what the claims parameter asks for there.
    released = claim_rules.select(
        account, scope, provenance.claims, "id_token", include_scope_claims=not access_token,
        establishment=provenance.establishment,
    )
    return sign(client.client_id, account.subject, provenance=provenance, nonce=nonce, access_token=access_token,
                released=released)


def sign(client_id: str, subject: str, *, provenance: Provenance, nonce: str | None, access_token: str | None,
         released: dict[str, Any]) -> str:
    """The signed ID token for ``subject`` and the client, with the ``released`` claims."""
    settings: Settings = current_app.config["IDP"]
    record, key_set = keys.signing_key_set()
    issued = epoch_now()
    payload: dict[str, Any] = {
        "iss": settings.issuer,
        "sub": subject,
        "aud": client_id,
        "exp": issued + int(settings.oidc.id_token_lifetime.total_seconds()),
        "iat": issued,
        "auth_time": provenance.auth_time,
    }
    if nonce:
        payload["nonce"] = nonce
    payload["acr"] = provenance.acr
    if provenance.amr:
        payload["amr"] = list(provenance.amr)
    if provenance.sid:
        payload["sid"] = provenance.sid
    if access_token:
        payload["at_hash"] = create_half_hash(access_token, record.alg).decode("ascii")
    payload.update(released)
    header = {"alg": record.alg, "kid": record.kid, "typ": "JWT"}
    return jwt.encode(header, payload, key_set, algorithms=[record.alg])
