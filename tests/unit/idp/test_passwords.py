"""idp.passwords: argon2id verification on memory mapped for it, answering exactly as
argon2-cffi does, and giving the memory back after each check."""

import sys
import threading

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from idp import passwords

ON_LINUX = sys.platform == "linux"


def _cffi_answer(encoded: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


@pytest.fixture
def verifier():
    found = passwords._verifier()
    if found is None:
        assert not ON_LINUX, "the mapped-memory verifier must be built on Linux"
        pytest.skip("this system gives no mmap through libc or no cffi callbacks")
    return found


@pytest.mark.skipif(not ON_LINUX, reason="mmap through libc and 2 MiB pages are Linux's")
def test_linux_builds_the_mapped_memory_verifier():
    assert isinstance(passwords._verifier(), passwords._HugePages)


@pytest.mark.parametrize("hasher", [
    PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),  # ours
    PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=2, hash_len=16, salt_len=8),
    PasswordHasher(time_cost=3, memory_cost=4 * 1024, parallelism=1, type=Type.I),
    PasswordHasher(time_cost=1, memory_cost=4 * 1024, parallelism=4, type=Type.D, hash_len=64),
], ids=["ours", "p2-short", "argon2i", "argon2d-p4"])
@pytest.mark.parametrize("password", ["correct horse", "", "Éléphant rose 🐘", "x" * 300])
def test_answers_as_argon2_cffi_for_every_parameter_set(verifier, hasher, password):
    encoded = hasher.hash(password)
    assert passwords.verify_password(encoded, password) is True
    for wrong in {password + " ", password[:-1], password.upper(), "y"} - {password}:
        assert passwords.verify_password(encoded, wrong) is _cffi_answer(encoded, wrong) is False


def test_a_hash_made_here_checks_with_argon2_cffi_and_the_reverse(verifier):
    encoded = passwords.hash_password("secret one")
    assert PasswordHasher().verify(encoded, "secret one")
    assert verifier.verify(encoded, "secret one") and not verifier.verify(encoded, "secret two")


def _malformed(encoded: str) -> list[str]:
    head, salt, digest = encoded.rsplit("$", 2)
    params = "m=19456,t=2,p=1"
    return [
        "", "$argon2id$", "not a hash", encoded[:-1], encoded + "A", encoded + "=", encoded + "\x00junk",
        f"{head}${salt}=${digest}",                          # padding
        f"{head}${salt}${digest[:-1]}B",                      # last character: bits beyond the digest
        f"{head}$!!!!!!!!${digest}",                          # outside the alphabet
        f"{head}${salt[:8]}${digest}",                        # a salt too short for argon2
        f"{head}${salt}${digest[:4]}",                        # a digest too short for argon2
        f"{head}$$${salt}${digest}", f"{head}${salt}${digest}$",
        encoded.replace("argon2id", "argon2x"), encoded.replace("argon2id", "ARGON2ID"),
        encoded.replace("$v=19", ""),                         # no version: the old v1.0 format
        encoded.replace(params, "t=2,m=19456,p=1"),           # reordered
        encoded.replace(params, "m=9,m=19456,t=2,p=1"),       # a key twice
        encoded.replace(params, "m= 19456,t=2,p=1"), encoded.replace(params, "m=19456,t=2,p=1 "),
        encoded.replace(params, "m=+19456,t=2,p=1"), encoded.replace(params, "m=19_456,t=2,p=1"),
        encoded.replace(params, "m=019456,t=2,p=1"), encoded.replace(params, "m=１９４５６,t=2,p=1"),
        encoded.replace(params, "m=-1,t=2,p=1"), encoded.replace(params, "m=4294967296,t=2,p=1"),
        encoded.replace(params, "m=19456,t=18446744073709551616,p=1"),
        encoded.replace("v=19", "v=-1"), encoded.replace("v=19", "v=4294967296"),
        encoded.replace("m=19456", "m=1"),                    # below argon2's minimum
        encoded.replace("t=2", "t=0"),
        encoded.replace("p=1", "p=0"),
        encoded.replace("v=19", "v=18"),
    ]


def test_a_malformed_hash_gets_argon2_cffi_s_answer_never_an_error(verifier):
    encoded = passwords.hash_password("pw")
    for bad in _malformed(encoded):
        for password in ("pw", "other"):
            try:
                expected = PasswordHasher().verify(bad, password)
            except (VerificationError, InvalidHashError, ValueError):
                expected = False
            assert passwords.verify_password(bad, password) is expected, (bad, password)
    assert passwords.verify_password(encoded + "\x00junk", "pw") is True  # as argon2's C string ends there
    assert passwords.verify_password(encoded.replace("p=1", "p=0"), "pw") is False


def test_no_hash_costs_a_check_and_answers_no(verifier):
    assert passwords.verify_password(None, passwords._DUMMY_PASSWORD) is False
    assert passwords.verify_password("", passwords._DUMMY_PASSWORD) is False


def test_each_check_maps_its_memory_and_unmaps_it(verifier, monkeypatch):
    calls = {"mmap": [], "munmap": []}
    real_mmap, real_munmap = verifier._mmap, verifier._munmap

    def counting_mmap(*args):
        calls["mmap"].append(args[1])
        return real_mmap(*args)

    def counting_munmap(*args):
        calls["munmap"].append(args[1])
        return real_munmap(*args)

    monkeypatch.setattr(verifier, "_mmap", counting_mmap)
    monkeypatch.setattr(verifier, "_munmap", counting_munmap)
    encoded = passwords.hash_password("pw")
    assert passwords.verify_password(encoded, "pw") and not passwords.verify_password(encoded, "nope")
    assert calls["mmap"] == calls["munmap"] and len(calls["mmap"]) == 2
    assert calls["mmap"][0] >= 19 * 1024 * 1024  # argon2's whole working memory
    assert verifier._mapped == {}


def test_memory_that_cannot_be_mapped_refuses_as_argon2_cffi_does(verifier, monkeypatch):
    monkeypatch.setattr(verifier, "_mmap", lambda *args: -1 & (2 ** 64 - 1))
    encoded = passwords.hash_password("pw")
    with pytest.raises(VerificationError):
        verifier.verify(encoded, "pw")
    assert passwords.verify_password(encoded, "pw") is False
    assert verifier._mapped == {}


def test_checks_run_side_by_side_in_threads(verifier):
    encoded = passwords.hash_password("pw")
    answers: list[bool] = []

    def check(password: str) -> None:
        for _ in range(3):
            answers.append(passwords.verify_password(encoded, password))

    threads = [threading.Thread(target=check, args=(p,)) for p in ("pw", "no", "pw", "no")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] * 6 + [True] * 6
    assert verifier._mapped == {}


def test_without_the_verifier_argon2_cffi_checks(monkeypatch):
    monkeypatch.setattr(passwords, "_verifier", lambda: None)
    encoded = passwords.hash_password("pw")
    assert passwords.verify_password(encoded, "pw") and not passwords.verify_password(encoded, "no")
    assert passwords.verify_password("garbage", "pw") is False


def test_a_system_without_callbacks_falls_back(monkeypatch):
    def refuse(self):
        raise MemoryError("callbacks refused")

    monkeypatch.setattr(passwords._HugePages, "__init__", refuse)
    assert passwords._verifier.__wrapped__() is None


def test_memory_argon2_left_mapped_on_a_failure_is_unmapped(verifier, monkeypatch):
    """argon2 returns without freeing when it cannot start its threads (p > 1)."""
    real = verifier._lib

    class FailingAfterAllocating:
        def __getattr__(self, name):
            return getattr(real, name)

        def argon2_ctx(self, context, kind):
            memory = verifier._ffi.new("uint8_t **")
            assert context.allocate_cbk(memory, 1024 * 1024) == real.ARGON2_OK
            assert len(verifier._mapped) == 1
            return real.ARGON2_THREAD_FAIL

    monkeypatch.setattr(verifier, "_lib", FailingAfterAllocating())
    with pytest.raises(VerificationError):
        verifier.verify(passwords.hash_password("pw"), "pw")
    assert verifier._mapped == {}
