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
import functools
import hmac
import logging
import mmap
import re
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_log = logging.getLogger(__name__)
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
    except (VerificationError, InvalidHashError, ValueError):  # ValueError: a hash that is not ASCII
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _verify(encoded: str, password: str) -> bool:
    verifier = _verifier()
    if verifier is None:
        return _hasher.verify(encoded, password)
    return verifier.verify(encoded, password)


# The one spelling argon2's reference encoder writes (and hash_password stores): anything
# else goes to argon2-cffi, whose answer for it is then the answer.
_ENCODED = re.compile(
    r"\$(argon2id|argon2i|argon2d)\$v=(16|19)\$m=([1-9][0-9]{0,9}),t=([1-9][0-9]{0,9}),p=([1-9][0-9]{0,9})"
    r"\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)",
    re.ASCII,
)
_TYPES = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}
_UINT32 = 2**32 - 1


def _unpadded_base64(text: str) -> bytes | None:
    """argon2's encoding: standard alphabet, no padding, one spelling per value."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode().rstrip("=") == text else None


class _HugePages:
    """argon2's reference ``argon2_ctx`` with ``allocate_cbk``/``free_cbk`` set: the
    computation ``argon2_verify`` does for a hash in the reference encoding (its
    parameters, salt and digest), the digest compared in constant time, the working memory
    mapped and unmapped here. A hash in any other spelling is argon2-cffi's to check."""

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
        self._call = threading.local()  # what the current thread's check mapped
        # Kept as attributes: the callbacks live as long as this object.
        self._allocate = ffi.callback("int(uint8_t **, size_t)", self._on_allocate, onerror=self._on_error)
        self._free = ffi.callback("void(uint8_t *, size_t)", self._on_free)

    def verify(self, encoded: str, password: str) -> bool:
        found = _ENCODED.fullmatch(encoded)
        salt = _unpadded_base64(found[6]) if found else None
        expected = _unpadded_base64(found[7]) if found else None
        if found is None or not salt or not expected or any(int(found[i]) > _UINT32 for i in (3, 4, 5)):
            return _hasher.verify(encoded, password)
        ffi, lib = self._ffi, self._lib
        secret = password.encode("utf-8")
        out = ffi.new("uint8_t[]", len(expected))
        pwd, csalt = ffi.new("uint8_t[]", secret), ffi.new("uint8_t[]", salt)
        lanes = int(found[5])
        context = ffi.new("argon2_context *", {
            "out": out, "outlen": len(expected), "pwd": pwd, "pwdlen": len(secret),
            "salt": csalt, "saltlen": len(salt), "secret": ffi.NULL, "secretlen": 0, "ad": ffi.NULL, "adlen": 0,
            "t_cost": int(found[4]), "m_cost": int(found[3]), "lanes": lanes, "threads": lanes,
            "version": int(found[2]), "allocate_cbk": self._allocate, "free_cbk": self._free,
            "flags": lib.ARGON2_DEFAULT_FLAGS,
        })
        self._call.mapped = []
        try:
            result = lib.argon2_ctx(context, _TYPES[found[1]].value)
        finally:  # argon2 may fail after allocating without freeing (a thread it could not start)
            for aligned in self._call.mapped:
                self._unmap(aligned)
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
        with self._lock:
            self._mapped[aligned] = (start, length)
        self._call.mapped.append(aligned)  # from here on, unmapped whatever happens
        if self._advice is not None:
            self._madvise(aligned, size, self._advice)  # advice only: refused, plain pages
        memory[0] = self._ffi.cast("uint8_t *", aligned)
        return self._lib.ARGON2_OK

    def _on_free(self, memory, size: int) -> None:
        self._unmap(int(self._ffi.cast("uintptr_t", memory)))

    def _unmap(self, aligned: int) -> None:
        with self._lock:
            mapping = self._mapped.pop(aligned, None)
        if mapping is not None:
            self._munmap(*mapping)

    def _on_error(self, exception, value, traceback) -> int:
        _log.error("argon2's memory could not be mapped: %r", value)
        return self._lib.ARGON2_MEMORY_ALLOCATION_ERROR


@functools.cache  # built on the first check, in each worker (after the fork)
def _verifier() -> _HugePages | None:
    """The verifier, if this system lets it be built and it checks the dummy hash as
    argon2-cffi does; None otherwise (argon2-cffi's own path)."""
    try:
        verifier = _HugePages()
        if verifier.verify(_DUMMY_HASH, _DUMMY_PASSWORD) and not verifier.verify(_DUMMY_HASH, "not it"):
            return verifier
        _log.warning("password checks through argon2-cffi: the mapped-memory check disagreed with it")
    except Exception as exc:  # no libc mmap, no callbacks (hardened systems)
        _log.warning("password checks through argon2-cffi: %s", exc)
    return None
