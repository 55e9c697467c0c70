"""Digests of high-entropy secrets (client secrets, codes, tokens, session ids).

These secrets are long random strings, so a fast SHA-256 digest compared in constant
time is the right tool; a slow password hash would only cost CPU on every request.
"""

import hashlib
import hmac
import secrets


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, expected_digest: str | None) -> bool:
    if not expected_digest:
        return False
    return hmac.compare_digest(digest(secret), expected_digest)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
