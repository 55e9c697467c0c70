"""Signing keys: kept in the database, shared by every worker and every node.

Every process serves the JWKS from memory, reread at most every :data:`JWKS_REFRESH`
(:mod:`idp.oidc.metadata`), and relying parties may keep it as long again. So ``rotate``
publishes a new key first and lets it sign only :data:`PUBLISH_AHEAD` later, when every
worker of every node serves it; the old key signs until then, and stays published
until everything it signed has expired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey

from .clock import now
from .extensions import db
from .models import SigningKey

# Clock skew that relying parties commonly allow when they check exp.
PUBLISH_LEEWAY = timedelta(minutes=5)
# How long a process serves the JWKS before rereading the keys (and the max-age it sends).
JWKS_REFRESH = timedelta(seconds=60)
# A new key is published this long before it signs: a process's copy, then a client's.
PUBLISH_AHEAD = 2 * JWKS_REFRESH


def generate(alg: str, rsa_key_size: int) -> SigningKey:
    params = {"alg": alg, "use": "sig"}
    if alg == "ES256":
        key: RSAKey | ECKey = ECKey.generate_key("P-256", parameters=params, private=True)
    else:
        key = RSAKey.generate_key(rsa_key_size, parameters=params, private=True)
    kid = key.thumbprint()
    record = SigningKey(kid=kid, alg=alg, private_jwk={**key.as_dict(private=True), "kid": kid})
    db.session.add(record)
    return record


def current_key() -> SigningKey | None:
    """The key that signs now: the newest one not retired that has been published for
    :data:`PUBLISH_AHEAD`; the very first key of an instance signs at once."""
    moment = now()
    candidates = list(db.session.execute(
        db.select(SigningKey)
        .where((SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > moment))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    ).scalars())
    ready = next((key for key in candidates if key.created_at <= moment - PUBLISH_AHEAD), None)
    return ready or (candidates[-1] if candidates else None)


def ensure_key(alg: str, rsa_key_size: int) -> SigningKey:
    """Return the signing key, creating the first one if there is none."""
    return current_key() or generate(alg, rsa_key_size)


def rotate(alg: str, rsa_key_size: int, overlap: timedelta) -> SigningKey:
    """Publish a new key that signs from :data:`PUBLISH_AHEAD` on; the old ones sign
    until then and stay published for ``overlap`` (the ID-token lifetime) after."""
    moment = now()
    hand_over = moment + PUBLISH_AHEAD
    for old in db.session.execute(
        db.select(SigningKey).where((SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > hand_over))
    ).scalars():
        old.retired_at = hand_over
        old.publish_until = hand_over + overlap + PUBLISH_LEEWAY
    key = generate(alg, rsa_key_size)
    key.created_at = moment
    return key


def signs_from(key: SigningKey) -> datetime:
    """When ``key`` starts signing (after a rotation)."""
    return key.created_at + PUBLISH_AHEAD


def published_keys() -> list[SigningKey]:
    moment = now()
    return list(
        db.session.execute(
            db.select(SigningKey)
            .where((SigningKey.publish_until.is_(None)) | (SigningKey.publish_until > moment))
            .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        ).scalars()
    )


def public_jwks() -> dict[str, Any]:
    return {"keys": [load(record.kid, record.private_jwk).as_dict(private=False) for record in published_keys()]}


def signing_key_set() -> tuple[SigningKey, KeySet]:
    """The current signing key record and a key set holding its private key."""
    record = current_key()
    if record is None:
        raise RuntimeError("no signing key: run `idp init` or `idp keys rotate`")
    return record, KeySet([load(record.kid, record.private_jwk)])


def load(kid: str, jwk: dict[str, Any]) -> RSAKey | ECKey:
    """Import a key once per process: validating an RSA key costs about 45 ms."""
    return _load_cached(kid, _freeze(jwk))


def _freeze(jwk: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(jwk.items()))


@lru_cache(maxsize=32)
def _load_cached(kid: str, frozen: tuple[tuple[str, Any], ...]) -> RSAKey | ECKey:
    data = dict(frozen)
    if data["kty"] == "EC":
        return ECKey.import_key(data)
    return RSAKey.import_key(data)
