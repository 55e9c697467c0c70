"""JWT access tokens (RFC 9068): claims, header, the format a client gets
(:mod:`idp.oidc.access_tokens`)."""

import base64
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.config import load_settings
from idp.keys import Signer
from idp.oidc.access_tokens import claims, encode, read_own, seal, wanted
from idp.provenance import Provenance

LOGIN = Provenance(auth_time=1_700_000_000, acr="urn:peps:acr:mfa", amr=("pwd", "otp", "sms", "mfa"), sid="s1",
                   claims={"userinfo": {"email": None}}, establishment="21330063500017")


def _claims(**overrides):
    values = dict(issuer="https://idp.example", client_id="rp-1", subject="sub-123", scope="openid profile",
                  issued_at=1_700_000_100, expires_at=1_700_000_700, provenance=LOGIN)
    values.update(overrides)
    return claims(**values)


def test_a_users_token_states_who_for_whom_until_when_and_how_they_logged_in():
    payload = _claims()
    assert {k: v for k, v in payload.items() if k != "jti"} == {
        "iss": "https://idp.example", "exp": 1_700_000_700, "aud": "rp-1", "sub": "sub-123",
        "client_id": "rp-1", "iat": 1_700_000_100, "scope": "openid profile",
        "auth_time": 1_700_000_000, "acr": "urn:peps:acr:mfa", "amr": ["pwd", "otp", "sms", "mfa"],
    }


def test_nothing_of_the_session_beyond_the_authentication_leaks_into_the_token():
    payload = _claims()
    assert not {"sid", "claims", "establishment", "login_method"} & payload.keys()


def test_a_client_credentials_token_has_the_client_as_subject_and_no_authentication_claims():
    payload = _claims(subject="rp-1", scope="", provenance=None)
    assert payload["sub"] == payload["client_id"] == payload["aud"] == "rp-1"
    assert not {"auth_time", "acr", "amr", "scope"} & payload.keys()


def test_every_token_has_its_own_jti_even_within_one_second():
    assert len({_claims()["jti"] for _ in range(50)}) == 50


@pytest.mark.parametrize("key", [
    RSAKey.generate_key(2048, parameters={"alg": "RS256", "kid": "k1"}, private=True),
    ECKey.generate_key("P-256", parameters={"alg": "ES256", "kid": "k1"}, private=True),
], ids=["RS256", "ES256"])
def test_the_token_is_typed_at_jwt_and_names_the_signing_key(key):
    alg = key.alg
    signer = Signer(kid="k1", alg=alg, created_at=datetime(2026, 1, 1), retired_at=None, key_set=KeySet([key]),
                    scalar=key.as_dict(private=True)["d"])
    token = encode(_claims(), signer)
    public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
    decoded = jwt.decode(token, public, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": "k1", "typ": "at+jwt"}
    assert decoded.claims["sub"] == "sub-123"


@pytest.mark.parametrize("own, configured, expected", [
    (None, "opaque", False), (None, "jwt", True),
    ("jwt", "opaque", True), ("opaque", "jwt", False),
])
def test_a_clients_own_format_overrides_the_configuration(own, configured, expected):
    settings = load_settings(overrides={"oidc": {"access_token_format": configured}}, environ={})
    assert wanted(own, settings.oidc) is expected


def test_the_configuration_accepts_only_the_two_formats():
    from idp.config import ConfigError

    with pytest.raises(ConfigError, match="access_token_format"):
        load_settings(overrides={"oidc": {"access_token_format": "paseto"}}, environ={})


# --- sealed (opaque) tokens of a client for itself -------------------------------------------

def _record(kid, key):
    """The key as the process holds it (:class:`idp.keys.Signer`), published."""
    return Signer(kid=kid, alg=key.alg, created_at=datetime(2026, 1, 1), retired_at=None,
                  key_set=KeySet([key]), scalar=key.as_dict(private=True)["d"])


SEALING_KEY = RSAKey.generate_key(2048, parameters={"alg": "RS256"}, private=True)
OTHER_KEY = ECKey.generate_key("P-256", parameters={"alg": "ES256"}, private=True)
NOW = datetime(2026, 11, 28, 12, 0, 0)
OWN = {"client_id": "svc-1", "scope": "peps", "iat": 1_795_867_000, "exp": 1_795_867_600, "jti": "j" * 22}


ISSUER = "https://idp.example"


def _sealed(kid="k1", key=SEALING_KEY, payload=OWN, issuer=ISSUER):
    return seal(kid, key.as_dict(private=True)["d"], issuer, payload)


def test_a_sealed_token_reads_back_under_its_key_and_shows_nothing_of_its_claims():
    token = _sealed()
    assert read_own(token, [_record("k1", SEALING_KEY)], ISSUER, NOW) == OWN
    kid, _, body = token.partition("~")
    assert kid == "k1" and set(body) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert b"svc-1" not in raw and b"peps" not in raw
    assert _sealed() != token  # a fresh nonce each time


@pytest.mark.parametrize("case", ["another kid, same key", "another key, same kid", "unknown kid", "bit flipped",
                                  "truncated", "nonce only", "not base64", "standard base64", "padded",
                                  "other unused bits", "empty", "another issuer", "expired", "exp as text",
                                  "no jti", "claims a list", "not JSON"])
def test_a_sealed_token_altered_or_made_elsewhere_reads_as_nothing(case):
    # k3 is k1's very key under another id: only the id bound into the seal tells them apart.
    published = [_record("k1", SEALING_KEY), _record("k2", OTHER_KEY), _record("k3", SEALING_KEY)]
    token = _sealed()
    kid, _, body = token.partition("~")
    scalar = SEALING_KEY.as_dict(private=True)["d"]
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    token = {
        "another kid, same key": "k3~" + body,
        "another key, same kid": _sealed(key=OTHER_KEY),
        "unknown kid": "k9~" + body,
        "bit flipped": kid + "~" + flipped,
        "truncated": token[:-4],
        "nonce only": kid + "~" + body[:16],
        "not base64": kid + "~" + body[:30] + "*" + body[31:],
        "standard base64": kid + "~" + body.replace("-", "+").replace("_", "/") if {"-", "_"} & set(body)
        else kid + "~" + body[:-1] + "+",
        "padded": kid + "~" + body + "=" * (-len(body) % 4 or 4),
        "other unused bits": _other_unused_bits(),
        "another issuer": _sealed(issuer="https://staging.example"),
        "empty": "k1~",
        "expired": _sealed(payload={**OWN, "exp": 1_795_867_200}),
        "exp as text": _sealed(payload={**OWN, "exp": "1795867600"}),
        "no jti": _sealed(payload={k: v for k, v in OWN.items() if k != "jti"}),
        "claims a list": seal("k1", scalar, ISSUER, ["svc-1"]),  # type: ignore[arg-type]
        "not JSON": "k1~" + base64.urlsafe_b64encode(
            b"\0" * 12 + AESGCMSIV(HKDF(algorithm=SHA256(), length=32, salt=None,
                                     info=b"idp sealed access token v1 k1").derive(
                base64.urlsafe_b64decode(scalar + "=" * (-len(scalar) % 4)))).encrypt(
                b"\0" * 12, b"{not json", ISSUER.encode() + b" k1")).rstrip(b"=").decode(),
    }[case]
    assert read_own(token, published, ISSUER, NOW) is None


def _other_unused_bits():
    """A genuine token respelt: its last character changed in the bits base64 leaves unused,
    so that it decodes to the very same bytes."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for extra in range(3):  # a length that leaves unused bits in the last character
        kid, _, body = _sealed(payload={**OWN, "scope": "peps" + "x" * extra}).partition("~")
        if len(body) % 4 in (2, 3):
            respelt = body[:-1] + alphabet[alphabet.index(body[-1]) ^ 1]
            decoded = [base64.urlsafe_b64decode(b + "=" * (-len(b) % 4)) for b in (body, respelt)]
            assert respelt != body and decoded[0] == decoded[1]
            return kid + "~" + respelt
    raise AssertionError("no length left unused bits")


def test_the_signing_key_without_its_private_scalar_seals_nothing():
    with pytest.raises(ValueError):
        seal("k1", "", ISSUER, OWN)


def test_a_cryptography_build_that_cannot_seal_stops_start_up(monkeypatch):
    from cryptography.exceptions import UnsupportedAlgorithm

    from idp.oidc import access_tokens

    def unsupported(key):
        raise UnsupportedAlgorithm("AES-GCM-SIV is not supported by this version of OpenSSL")

    monkeypatch.setattr(access_tokens, "AESGCMSIV", unsupported)
    with pytest.raises(RuntimeError, match="AES-GCM-SIV"):
        access_tokens.check_sealing()
