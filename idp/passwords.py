"""Password hashing with argon2id at OWASP's recommended cost (19 MiB, t=2, p=1).

That costs about 25 ms of CPU per verification here, where argon2-cffi's default costs
about 200 ms: the password hash is the dominant cost of a login.

Verification hands argon2 its 19 MiB itself (:class:`_HugePages`): a mapping of its own,
asked to be backed by 2 MiB pages, and unmapped when the check is done. Through malloc
the same memory costs ~4,900 page faults per check (a third of the check's time on a
2-core machine), since the workers give those buffers back to the system after each
check rather than keep 19 MiB each (config/gunicorn.conf.py); with 2 MiB pages it
costs ~10. Where that cannot be set up, argon2-cffi verifies as it always did.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import hmac
import mmap
import threading

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the identifier is unknown, so that both answers cost the same.
_DUMMY_PASSWORD = "not a real password, only burns the same CPU"
_DUMMY_HASH = _hasher.hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash, spend the same time and answer False."""
    try:
        return _verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _verify(encoded: str, password: str) -> bool:
    verifier = _verifier()
    if verifier is None:
        return _hasher.verify(encoded, password)
    return verifier.verify(encoded, password)


def _unpadded_base64(text: str) -> bytes:
    """argon2's encoding: standard alphabet, no padding; anything else is not a hash."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidHashError(text) from None
    if base64.b64encode(raw).decode().rstrip("=") != text:
        raise InvalidHashError(text)
    return raw


class _HugePages:
    """argon2's reference ``argon2_ctx`` with ``allocate_cbk``/``free_cbk`` set: the same
    computation ``argon2_verify`` does (the encoded parameters, salt and hash), the digest
    compared in constant time, its working memory mapped and unmapped here."""

    _PAGE = 2 * 1024 * 1024

    def __init__(self) -> None:
        from _argon2_cffi_bindings import ffi, lib  # type: ignore[import-untyped]

        libc = ctypes.CDLL(None, use_errno=True)
        self._mmap, self._munmap, self._madvise = libc.mmap, libc.munmap, libc.madvise
        self._mmap.restype = ctypes.c_void_p
        self._mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                               ctypes.c_long]
        self._munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self._madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        self._advice = getattr(mmap, "MADV_HUGEPAGE", None)  # Linux only; elsewhere plain pages
        self._ffi, self._lib = ffi, lib
        self._mapped: dict[int, tuple[int, int]] = {}  # aligned start -> (mapping, length)
        self._lock = threading.Lock()
        # Kept as attributes: the callbacks live as long as this object.
        self._allocate = ffi.callback("int(uint8_t **, size_t)", self._on_allocate, onerror=self._on_error)
        self._free = ffi.callback("void(uint8_t *, size_t)", self._on_free)

    def verify(self, encoded: str, password: str) -> bool:
        ffi, lib = self._ffi, self._lib
        parameters = extract_parameters(encoded)
        salt, expected = (_unpadded_base64(part) for part in encoded.split("$")[-2:])
        secret = password.encode("utf-8")
        out = ffi.new("uint8_t[]", len(expected))
        pwd, csalt = ffi.new("uint8_t[]", secret), ffi.new("uint8_t[]", salt)
        context = ffi.new("argon2_context *", {
            "out": out, "outlen": len(expected), "pwd": pwd, "pwdlen": len(secret),
            "salt": csalt, "saltlen": len(salt), "secret": ffi.NULL, "secretlen": 0, "ad": ffi.NULL, "adlen": 0,
            "t_cost": parameters.time_cost, "m_cost": parameters.memory_cost, "lanes": parameters.parallelism,
            "threads": parameters.parallelism, "version": parameters.version,
            "allocate_cbk": self._allocate, "free_cbk": self._free, "flags": lib.ARGON2_DEFAULT_FLAGS,
        })
        result = lib.argon2_ctx(context, parameters.type.value)
        if result != lib.ARGON2_OK:
            raise VerificationError(ffi.string(lib.argon2_error_message(result)).decode())
        return hmac.compare_digest(bytes(out), expected)

    def _on_allocate(self, memory, size: int) -> int:
        length = size + self._PAGE  # room to start on a 2 MiB boundary
        start = self._mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE,
                           mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if start is None or start == ctypes.c_void_p(-1).value:
            return self._lib.ARGON2_MEMORY_ALLOCATION_ERROR
        aligned = (start + self._PAGE - 1) & ~(self._PAGE - 1)
        if self._advice is not None:
            self._madvise(aligned, size, self._advice)  # advice only: refused, plain pages
        with self._lock:
            self._mapped[aligned] = (start, length)
        memory[0] = self._ffi.cast("uint8_t *", aligned)
        return self._lib.ARGON2_OK

    def _on_free(self, memory, size: int) -> None:
        with self._lock:
            start, length = self._mapped.pop(int(self._ffi.cast("uintptr_t", memory)))
        self._munmap(start, length)

    def _on_error(self, exception, value, traceback) -> int:
        return self._lib.ARGON2_MEMORY_ALLOCATION_ERROR


_built: list[_HugePages | None] = []  # empty until the first check (in each worker, after the fork)
_building = threading.Lock()


def _verifier() -> _HugePages | None:
    if not _built:
        with _building:
            if not _built:
                _built.append(_build())
    return _built[0]


def _build() -> _HugePages | None:
    """The verifier, if this system lets it be built and it checks the dummy hash as
    argon2-cffi does; None otherwise (argon2-cffi's own path)."""
    try:
        verifier = _HugePages()
        if verifier.verify(_DUMMY_HASH, _DUMMY_PASSWORD):
            return verifier
    except Exception:  # no libc mmap, no callbacks (hardened systems): argon2-cffi's own path
        pass
    return None
