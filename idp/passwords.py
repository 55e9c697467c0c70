"""Password hashing with argon2id at one of OWASP's recommended costs: 7 MiB, t=5, p=1.

OWASP's Password Storage Cheat Sheet lists five argon2id configurations (46 MiB and t=1,
19 MiB and t=2, 12 MiB and t=3, 9 MiB and t=4, 7 MiB and t=5, one lane each) which
"provide an equal level of defense, and the only difference is a trade off between CPU
and RAM usage"; 7 MiB and t=5 is also Keycloak's default. It is the cheapest of the five
for a server: a check takes 9–10 ms of CPU through libsodium on the machine this project
is benchmarked on, against 16–17 ms at 19 MiB and t=2 (fewer pages to map, zero and
fill, and a working set that stays in the caches more easily), and borrows 7 MiB instead
of 19. The password hash is still the largest single cost of a login. A hash written
with other parameters (the 19 MiB ones of earlier versions) is checked with its own, and
replaced at the next successful login (:func:`needs_rehash`).

Verification of the hashes this module writes goes through libsodium (:class:`_Sodium`,
PyNaCl's binding): the same Argon2 as argon2-cffi's, whose bundled build fills memory
with SSE2 only, where libsodium picks AVX2 or AVX-512 on the processor it runs on (9 ms a
check instead of 14 at 7 MiB and t=5, on the machine this project is benchmarked on). Any other hash
(another variant, version, parallelism or salt length) is argon2-cffi's to check, as is
every check where libsodium cannot be loaded. Hashing stays argon2-cffi's.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_log = logging.getLogger(__name__)
_hasher = PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1)
# Verified against when the identifier is unknown, so that both answers cost the same.
_DUMMY_PASSWORD = "not a real password, only burns the same CPU"
_DUMMY_HASH = _hasher.hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, spend the same time and answer False."""
    try:
        return _verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError, ValueError):  # ValueError: not ASCII, or no UTF-8 form
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _verify(encoded: str, password: str) -> bool:
    verifier = _verifier()
    if verifier is None:
        return _hasher.verify(encoded, password)
    return verifier.verify(encoded, password)


# The one spelling argon2's reference encoder writes for what hash_password stores
# (argon2id, version 19, one lane): anything else goes to argon2-cffi, whose answer for it
# is then the answer.
_ENCODED = re.compile(
    r"\$argon2id\$v=19\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)",
    re.ASCII,
)
_UINT32 = 2**32 - 1


def _unpadded_base64(text: str) -> bytes | None:
    """argon2's encoding: standard alphabet, no padding, one spelling per value."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode().rstrip("=") == text else None


class _Sodium:
    """libsodium's ``crypto_pwhash`` for a hash in the reference encoding of argon2id,
    version 19, one lane and a 16-byte salt (what :func:`hash_password` writes): the
    digest computed from the hash's parameters and salt, then compared in constant time.
    Anything else goes to argon2-cffi, whose answer is then the answer."""

    def __init__(self) -> None:
        from nacl import bindings, exceptions

        self._derive = bindings.crypto_pwhash_alg
        self._algorithm = bindings.crypto_pwhash_ALG_ARGON2ID13
        self._salt_length = bindings.crypto_pwhash_SALTBYTES
        self._digest_lengths = (bindings.crypto_pwhash_BYTES_MIN, bindings.crypto_pwhash_BYTES_MAX)
        self._kib = (bindings.crypto_pwhash_argon2id_MEMLIMIT_MIN // 1024,
                     bindings.crypto_pwhash_argon2id_MEMLIMIT_MAX // 1024)
        self._passes = (bindings.crypto_pwhash_argon2id_OPSLIMIT_MIN, bindings.crypto_pwhash_argon2id_OPSLIMIT_MAX)
        self._failure = exceptions.RuntimeError  # libsodium could not compute (no memory)

    def verify(self, encoded: str, password: str) -> bool:
        found = _ENCODED.fullmatch(encoded)
        if found is None:
            return _hasher.verify(encoded, password)
        kib, passes = int(found[1]), int(found[2])
        salt, expected = _unpadded_base64(found[3]), _unpadded_base64(found[4])
        if (salt is None or expected is None or len(salt) != self._salt_length
                or not self._digest_lengths[0] <= len(expected) <= self._digest_lengths[1]
                or not self._kib[0] <= kib <= min(self._kib[1], _UINT32)
                or not self._passes[0] <= passes <= min(self._passes[1], _UINT32)):
            return _hasher.verify(encoded, password)
        try:
            digest = self._derive(len(expected), password.encode("utf-8"), salt, passes, kib * 1024,
                                  self._algorithm)
        except self._failure as exc:
            raise VerificationError(str(exc)) from exc
        return hmac.compare_digest(digest, expected)


@functools.cache  # built on the first check, in each worker (after the fork)
def _verifier() -> _Sodium | None:
    """libsodium's verifier, if it loads and checks the dummy hash as argon2-cffi does;
    None otherwise (argon2-cffi's own path)."""
    try:
        verifier = _Sodium()
        if verifier.verify(_DUMMY_HASH, _DUMMY_PASSWORD) and not verifier.verify(_DUMMY_HASH, "not it"):
            return verifier
        _log.warning("password checks through argon2-cffi: libsodium disagreed with it")
    except Exception as exc:  # PyNaCl missing or its libsodium not loadable here
        _log.warning("password checks through argon2-cffi: %s", exc)
    return None
