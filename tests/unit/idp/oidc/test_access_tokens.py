"""JWT access tokens (RFC 9068): claims, header, the format a client gets
(:mod:`idp.oidc.access_tokens`)."""

from datetime import datetime

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from idp.config import load_settings
from idp.keys import Signer
from idp.oidc.access_tokens import claims, encode, wanted
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
    signer = Signer(kid="k1", alg=alg, created_at=datetime(2026, 1, 1), retired_at=None, key_set=KeySet([key]))
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
