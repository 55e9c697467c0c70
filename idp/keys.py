"""Signing keys: kept in the database, shared by every worker and every node.

Every process serves the JWKS from memory, reread at most every :data:`JWKS_REFRESH`
(:mod:`idp.oidc.metadata`), and relying parties may keep it as long again. So ``rotate``
publishes a new key first and lets it sign only :data:`PUBLISH_AHEAD` later, when every
worker of every node serves it; the old key signs until then, and stays published
until everything it signed has expired.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy.exc import DBAPIError

from .clock import now
from .extensions import db
from .models import SigningKey

log = logging.getLogger("idp.keys")

# Clock skew that relying parties commonly allow when they check exp.
PUBLISH_LEEWAY = timedelta(minutes=5)
# How long a process serves the JWKS before rereading the keys (and the max-age it sends).
# IDP_JWKS_REFRESH_SECONDS (whole seconds, default 60) changes it for every node: shorter
# for tests of several nodes, longer to read the database less.
JWKS_REFRESH = timedelta(seconds=max(1, int(os.environ.get("IDP_JWKS_REFRESH_SECONDS", "60"))))
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
    until then and stay published for ``overlap`` (the longer of the ID and access token
    lifetimes) after."""
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


@dataclass(frozen=True)
class Signer:
    """A signing key as this process holds it: the parsed key and a key set around it."""

    kid: str
    alg: str
    created_at: datetime
    retired_at: datetime | None
    key_set: KeySet = field(compare=False)
    # The private scalar ("d" of the JWK): sealed access tokens draw their key from it.
    scalar: str = field(compare=False, repr=False)
    publish_until: datetime | None = None

    def signs_at(self, moment: datetime) -> bool:
        return self.retired_at is None or self.retired_at > moment

    def published_at(self, moment: datetime) -> bool:
        """Still in the JWKS: what it signed or sealed is still to be believed."""
        return self.publish_until is None or self.publish_until > moment


class SignerCache:
    """The published keys, those that may sign among them, read from the database at most
    every :data:`JWKS_REFRESH`.

    Tokens are signed on every token request: reading the keys each time was one query per
    token. Holding them as long as the JWKS is held is safe because a rotation's new key
    signs only :data:`PUBLISH_AHEAD` (twice that period) after it is created, and each
    key's ``retired_at`` and ``publish_until`` are checked against the time of each use,
    not of the read. A key unpublished early (a compromise) is believed by a process for
    at most :data:`JWKS_REFRESH` more, as long as relying parties hold the JWKS.
    """

    def __init__(self) -> None:
        self._signers: tuple[Signer, ...] = ()
        self._read_at: datetime | None = None
        self._lock = threading.Lock()

    def _fresh(self, moment: datetime) -> bool:
        # No key yet (a server started before `idp init`): look again at the next token.
        return (bool(self._signers) and self._read_at is not None
                and timedelta(0) <= moment - self._read_at < JWKS_REFRESH)

    def _held(self, moment: datetime) -> tuple[Signer, ...]:
        if not self._fresh(moment):
            with self._lock:
                if not self._fresh(moment):
                    self._reread(moment)
        return self._signers

    def current(self) -> Signer | None:
        moment = now()
        return _choose(self._held(moment), moment)

    def published(self) -> list[Signer]:
        """The keys in the JWKS now, retired from signing or not."""
        moment = now()
        return [held for held in self._held(moment) if held.published_at(moment)]

    def _reread(self, moment: datetime) -> None:
        try:
            records = db.session.execute(
                db.select(SigningKey)  # published: every key that may sign, and those retired lately
                .where((SigningKey.publish_until.is_(None)) | (SigningKey.publish_until > moment))
                .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
            ).scalars().all()
        except DBAPIError:
            if not self._signers:
                raise
            log.warning("database unreachable: signing with the keys read at %s", self._read_at)
            return
        self._signers = tuple(
            Signer(r.kid, r.alg, r.created_at, r.retired_at, KeySet([load(r.kid, r.private_jwk)]),
                   str(r.private_jwk["d"]), r.publish_until) for r in records
        )
        self._read_at = moment


def _choose(signers: tuple[Signer, ...], moment: datetime) -> Signer | None:
    """The newest key not retired at ``moment`` and published for :data:`PUBLISH_AHEAD`;
    the very first key of an instance signs at once (as :func:`current_key`)."""
    candidates = [s for s in signers if s.signs_at(moment)]
    ready = next((s for s in candidates if s.created_at <= moment - PUBLISH_AHEAD), None)
    return ready or (candidates[-1] if candidates else None)


def _cache() -> SignerCache:
    cache: SignerCache | None = current_app.extensions.get("idp.signers")
    if cache is None:
        cache = current_app.extensions.setdefault("idp.signers", SignerCache())
    return cache


def published_signers() -> list[Signer]:
    """The published keys, from this process's copy (see :class:`SignerCache`): what
    reads a client's own token back checks it against."""
    return _cache().published()


def signer() -> Signer:
    """The key that signs now, from this process's copy (see :class:`SignerCache`)."""
    found = _cache().current()
    if found is None:
        raise RuntimeError("no signing key: run `idp init` or `idp keys rotate`")
    return found


def signing_key_set() -> tuple[Signer, KeySet]:
    """The current signing key and a key set holding its private key."""
    found = signer()
    return found, found.key_set


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
