"""Password hashing with argon2id at OWASP's recommended cost (19 MiB, t=2, p=1).

That costs about 25 ms of CPU per verification here, where argon2-cffi's default costs
about 200 ms: the password hash is the dominant cost of a login.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the identifier is unknown, so that both answers cost the same.
_DUMMY_HASH = _hasher.hash("not a real password, only burns the same CPU")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, spend the same time and answer False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
