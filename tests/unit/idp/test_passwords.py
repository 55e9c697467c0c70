"""idp.passwords: argon2id verification through libsodium for the hashes this provider
writes, answering exactly as argon2-cffi does, and argon2-cffi for every other hash."""

import threading

import pytest
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from idp import passwords


def _cffi_answer(encoded: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


@pytest.fixture
def verifier():
    """libsodium's verifier: PyNaCl is a dependency, so it must load wherever the tests run."""
    found = passwords._verifier()
    assert isinstance(found, passwords._Sodium), "libsodium (PyNaCl) did not load"
    return found


@pytest.fixture
def derivations(verifier, monkeypatch):
    """The lengths of the digests libsodium computes, one per check it makes."""
    calls: list[int] = []
    real = verifier._derive

    def counting(length, *args):
        calls.append(length)
        return real(length, *args)

    monkeypatch.setattr(verifier, "_derive", counting)
    return calls


SODIUM_HASHERS = [
    PasswordHasher(time_cost=5, memory_cost=7 * 1024, parallelism=1),  # ours
    PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),  # ours until November 2026
    PasswordHasher(time_cost=1, memory_cost=4099, parallelism=1, hash_len=17),  # m not a multiple of 4
    PasswordHasher(time_cost=3, memory_cost=8, parallelism=1, hash_len=64),  # argon2's least memory
]
CFFI_HASHERS = [
    PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=2, hash_len=16, salt_len=8),
    PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, salt_len=32),  # a salt not of 16 bytes
    PasswordHasher(time_cost=3, memory_cost=4 * 1024, parallelism=1, type=Type.I),
    PasswordHasher(time_cost=1, memory_cost=4 * 1024, parallelism=4, type=Type.D, hash_len=64),
]


@pytest.mark.parametrize("hasher", SODIUM_HASHERS + CFFI_HASHERS,
                         ids=["ours", "ours-before", "m-4099", "m-8", "p2-short", "salt-32", "argon2i", "argon2d-p4"])
@pytest.mark.parametrize("password", ["correct horse", "", "Éléphant rose 🐘", "x" * 300])
def test_answers_as_argon2_cffi_for_every_parameter_set(derivations, hasher, password):
    encoded = hasher.hash(password)
    assert passwords.verify_password(encoded, password) is True
    wrongs = {password + " ", password[:-1], password.upper(), "y"} - {password}
    for wrong in wrongs:
        assert passwords.verify_password(encoded, wrong) is _cffi_answer(encoded, wrong) is False
    # The hashes libsodium can check are checked there (one digest per check); the others by argon2-cffi.
    expected = [hasher.hash_len] * (1 + len(wrongs)) if hasher in SODIUM_HASHERS else []
    assert derivations == expected


def test_hashes_are_written_at_owasp_s_7_mib_cost_and_older_ones_are_replaced():
    encoded = passwords.hash_password("secret one")
    assert encoded.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert passwords.needs_rehash(encoded) is False
    earlier = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash("secret one")
    assert passwords.needs_rehash(earlier) is True
    assert passwords.verify_password(earlier, "secret one") and not passwords.verify_password(earlier, "secret two")


def test_a_hash_made_here_checks_with_argon2_cffi_and_the_reverse(verifier):
    encoded = passwords.hash_password("secret one")
    assert PasswordHasher().verify(encoded, "secret one")
    assert verifier.verify(encoded, "secret one") and not verifier.verify(encoded, "secret two")
    other = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash("secret one")
    assert verifier.verify(other, "secret one") and not verifier.verify(other, "secret one ")


def _malformed(encoded: str) -> list[str]:
    head, salt, digest = encoded.rsplit("$", 2)
    params = "m=7168,t=5,p=1"
    assert params in encoded
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
        encoded.replace(params, "t=5,m=7168,p=1"),            # reordered
        encoded.replace(params, "m=9,m=7168,t=5,p=1"),        # a key twice
        encoded.replace(params, "m= 7168,t=5,p=1"), encoded.replace(params, "m=7168,t=5,p=1 "),
        encoded.replace(params, "m=+7168,t=5,p=1"), encoded.replace(params, "m=7_168,t=5,p=1"),
        encoded.replace(params, "m=07168,t=5,p=1"), encoded.replace(params, "m=７１６８,t=5,p=1"),
        encoded.replace(params, "m=-1,t=5,p=1"), encoded.replace(params, "m=4294967296,t=5,p=1"),
        encoded.replace(params, "m=7168,t=18446744073709551616,p=1"),
        encoded.replace("v=19", "v=-1"), encoded.replace("v=19", "v=4294967296"),
        encoded.replace("m=7168", "m=1"),                     # below argon2's minimum
        encoded.replace("t=5", "t=0"),
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


def test_a_password_that_is_not_unicode_text_is_refused(verifier):
    encoded = passwords.hash_password("pw")
    assert passwords.verify_password(encoded, "pw\udc80") is False  # a lone surrogate: no UTF-8 for it


def test_no_hash_costs_a_check_and_answers_no(derivations):
    assert passwords.verify_password(None, passwords._DUMMY_PASSWORD) is False
    assert passwords.verify_password("", passwords._DUMMY_PASSWORD) is False
    assert derivations == [32, 32]  # the dummy hash, checked as a real one would be


def test_libsodium_failing_refuses_as_argon2_cffi_does(verifier, monkeypatch):
    from nacl import exceptions

    def out_of_memory(*args):
        raise exceptions.RuntimeError("Unexpected failure in key derivation")

    monkeypatch.setattr(verifier, "_derive", out_of_memory)
    encoded = passwords.hash_password("pw")
    with pytest.raises(VerificationError):
        verifier.verify(encoded, "pw")
    assert passwords.verify_password(encoded, "pw") is False


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


def test_without_the_verifier_argon2_cffi_checks(monkeypatch):
    monkeypatch.setattr(passwords, "_verifier", lambda: None)
    encoded = passwords.hash_password("pw")
    assert passwords.verify_password(encoded, "pw") and not passwords.verify_password(encoded, "no")
    assert passwords.verify_password("garbage", "pw") is False


def test_a_system_without_libsodium_falls_back(monkeypatch, caplog):
    def refuse(self):
        raise ImportError("No module named 'nacl'")

    monkeypatch.setattr(passwords._Sodium, "__init__", refuse)
    assert passwords._verifier.__wrapped__() is None
    assert "password checks through argon2-cffi: No module named 'nacl'" in caplog.text


def test_a_libsodium_that_disagrees_is_not_used(monkeypatch, caplog):
    monkeypatch.setattr(passwords._Sodium, "verify", lambda self, encoded, password: True)
    assert passwords._verifier.__wrapped__() is None
    assert "libsodium disagreed" in caplog.text
