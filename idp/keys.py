"""Signing keys: kept in the database, shared by every worker and every node.

The newest key that is not retired signs. ``rotate`` retires it and creates a new one;
the retired key stays in the JWKS until everything it signed has expired.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey

from .clock import now
from .extensions import db
from .models import SigningKey

# Clock skew that relying parties commonly allow when they check exp.
PUBLISH_LEEWAY = timedelta(minutes=5)


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
    return db.session.execute(
        db.select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def ensure_key(alg: str, rsa_key_size: int) -> SigningKey:
    """Return the signing key, creating the first one if there is none."""
    return current_key() or generate(alg, rsa_key_size)


def rotate(alg: str, rsa_key_size: int, overlap: timedelta) -> SigningKey:
    """Start signing with a new key; keep the old ones published for ``overlap``."""
    moment = now()
    for old in db.session.execute(
        db.select(SigningKey).where(SigningKey.retired_at.is_(None))
    ).scalars():
        old.retired_at = moment
        old.publish_until = moment + overlap + PUBLISH_LEEWAY
    return generate(alg, rsa_key_size)


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
