"""JWT access tokens (RFC 9068) beside opaque ones.

A client gets JWTs when its ``access_token_format`` says ``jwt``, or when it says nothing
and ``oidc.access_token_format`` does. The JWT is signed with the key that signs ID tokens
(same ``kid``, published in the JWKS) and typed ``at+jwt`` (RFC 9068 2.1), so that no
relying party can take it for an ID token.

A user's JWT is stored as an opaque token is, by its digest, in the row that also holds
its refresh token and family: introspection, revocation, UserInfo and replay detection
treat both formats alike, and a revoked JWT is inactive at introspection even though its
signature still verifies.

A client's own access token (client_credentials: no user, no refresh token, no family)
is stored nowhere, as node oidc-provider does with JWTs (:func:`for_itself`): a JWT, or,
for a client that wants opaque tokens, the same claims sealed (AES-256-GCM-SIV, under a key
derived from the signing key named in front of it) so that nobody but this provider can
read or make one. Introspection reads either from itself (:func:`read_own`); only a
revocation is written down (``revoked_access_tokens``, until the token would have
expired). That spares the busiest token request its INSERT, and the database its load.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

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


def for_itself(client_format: str | None, *, client_id: str, scope: str, issued: datetime) -> str:
    """A client's own access token (client_credentials): a JWT when it gets JWTs
    (:func:`wanted`), else a sealed one; stored nowhere either way."""
    signed = for_client(client_format, client_id=client_id, subject=client_id, scope=scope, issued=issued,
                        provenance=None)
    if signed is not None:
        return signed
    settings: Settings = current_app.config["IDP"]
    expires = issued + settings.oidc.access_token_lifetime
    signer = keys.signer()
    return seal(signer.kid, signer.scalar, settings.issuer, {
        "client_id": client_id, "scope": scope, "iat": epoch(issued), "exp": epoch(expires),
        "jti": secrets.token_urlsafe(16),
    })


# --- sealed (opaque) tokens ----------------------------------------------------------------

SEALED = "~"  # between the key's id and the sealed claims; in no JWT and no random token
_NONCE = 12
_INFO = b"idp sealed access token v1 "
_boxes: dict[tuple[str, str], AESGCMSIV] = {}


def _box(kid: str, scalar: str) -> AESGCMSIV:
    """AES-256-GCM-SIV under a key drawn (HKDF-SHA256) from the signing key's private
    scalar: each rotation brings a new one, shared by every node through the database, and
    a token sealed under a key lives as long as the key is published. GCM-SIV (RFC 8452)
    because nonces are drawn at random for billions of tokens under one key: a repeated
    one would only show that two tokens are equal (never, each has its own jti), where
    plain GCM's would give its authentication key away."""
    box = _boxes.get((kid, scalar))
    if box is None:
        secret = base64.urlsafe_b64decode(scalar + "=" * (-len(scalar) % 4))
        box = AESGCMSIV(HKDF(algorithm=SHA256(), length=32, salt=None, info=_INFO + kid.encode()).derive(secret))
        _boxes[(kid, scalar)] = box
    return box


def seal(kid: str, scalar: str, issuer: str, payload: dict[str, Any]) -> str:
    """``KID~`` and the sealed claims, bound to this issuer and key (the associated data):
    another instance sharing the keys, a staging copy say, cannot pass its tokens off."""
    if not scalar:
        raise ValueError(f"signing key {kid} has no private scalar to seal with")
    nonce = os.urandom(_NONCE)
    plain = json.dumps(payload, separators=(",", ":")).encode()
    sealed = _box(kid, scalar).encrypt(nonce, plain, _bound(issuer, kid))
    return kid + SEALED + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()


def _bound(issuer: str, kid: str) -> bytes:
    return f"{issuer} {kid}".encode()


def _unsealed(value: str, published: Sequence[keys.Signer], issuer: str) -> Any:
    kid, _, body = value.partition(SEALED)
    held = next((held for held in published if held.kid == kid), None)
    if held is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if len(raw) <= _NONCE or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != body:
            return None  # one token, one spelling: nothing else decodes to it
        plain = _box(kid, held.scalar).decrypt(raw[:_NONCE], raw[_NONCE:], _bound(issuer, kid))
        return json.loads(plain)
    except (binascii.Error, ValueError, InvalidTag, KeyError, RecursionError):
        return None


def check_sealing() -> None:
    """At start-up: the cryptography build can seal (AES-GCM-SIV needs OpenSSL 3.2 or
    later, and no FIPS-only provider), or the provider does not start."""
    try:
        AESGCMSIV(bytes(32)).encrypt(bytes(_NONCE), b"", None)
    except UnsupportedAlgorithm as error:
        raise RuntimeError(
            "the cryptography package cannot do AES-GCM-SIV (OpenSSL 3.2 or later is needed): "
            f"opaque client_credentials tokens cannot be sealed ({error})") from error


# --- reading a client's own token back -----------------------------------------------------

_LONGEST = 4096  # characters: ours are under 1,000


def may_be_own(value: str) -> bool:
    """Whether ``value`` has the shape of a client's own token, sealed or a JWT; a user's
    opaque token (random, URL-safe) never has."""
    return len(value) <= _LONGEST and (SEALED in value or value.count(".") == 2)


def _verified(value: str, published: Sequence[keys.Signer], issuer: str) -> Any:
    """The claims of a JWT access token of ours issued to a client for itself."""
    key_set = KeySet([key for held in published for key in held.key_set.keys])
    try:
        token = jwt.decode(value, key_set, algorithms=sorted({held.alg for held in published}))
    except (JoseError, ValueError, TypeError, KeyError, RecursionError):
        return None
    found = token.claims
    if (
        token.header.get("typ") != TYPE
        or not isinstance(found, dict)
        or found.get("iss") != issuer
        or found.get("sub") != found.get("client_id")
        or found.get("aud") != found.get("client_id")
        or "auth_time" in found  # a user's: issued with a row, found by its digest
    ):
        return None
    return found


def read_own(value: str, published: Sequence[keys.Signer], issuer: str, moment: datetime) -> dict[str, Any] | None:
    """The claims (``client_id``, ``scope``, ``iat``, ``exp``, ``jti``) of ``value`` if it
    is a client's own access token from this provider, unexpired at ``moment``: sealed or
    signed by one of the ``published`` keys (a key retired from signing still vouches for
    what it made while it is published); a JWT must also be typed ``at+jwt``, issued by
    ``issuer``, and name its client as subject and audience. None for anything else, a
    user's token (whose row says more) or an ID token included."""
    if not may_be_own(value) or not published:
        return None  # a user's opaque token, or nothing of ours
    found = _unsealed(value, published, issuer) if SEALED in value else _verified(value, published, issuer)
    if not isinstance(found, dict):
        return None
    client_id, jti, scope = found.get("client_id"), found.get("jti"), found.get("scope", "")
    expires_at, issued_at = found.get("exp"), found.get("iat")
    if (
        not isinstance(client_id, str) or not client_id
        or not isinstance(jti, str) or not 0 < len(jti) <= 64
        or not isinstance(scope, str)
        or not isinstance(expires_at, int) or not isinstance(issued_at, int)
        or expires_at <= epoch(moment)
    ):
        return None
    return found
