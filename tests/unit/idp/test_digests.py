"""Digests of high-entropy secrets (:mod:`idp.digests`)."""

import re

import pytest

from idp.digests import digest, matches, new_secret


def test_the_digest_is_sha256_of_the_utf8_text():
    # FIPS 180-2 test vector for "abc"
    assert digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    # SHA-256 of the UTF-8 bytes c3 a9, not of a Latin-1 byte
    assert digest("é") == "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c"


def test_a_secret_matches_its_digest_only():
    stored = digest("s3cret-value")
    assert matches("s3cret-value", stored)
    assert not matches("s3cret-valuE", stored)
    assert not matches("s3cret-value ", stored)
    assert not matches(stored, stored)  # the digest itself is no password


@pytest.mark.parametrize("expected", [None, ""])
def test_nothing_stored_matches_nothing(expected):
    assert not matches("", expected)
    assert not matches("anything", expected)


def test_new_secrets_are_url_safe_random_and_sized():
    secrets = {new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", s) for s in secrets)  # 32 bytes, unpadded base64url
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", new_secret(24))
