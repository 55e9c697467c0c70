"""The token endpoint: client authentication, code redemption, PKCE (RFC 6749 4.1.3,
RFC 7636, RFC 7523, OIDC Core 9)."""

import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.helpers import REDIRECT_URI, pkce_pair


@pytest.fixture
def setup(actors):
    identifier = actors.account()
    client_id, secret = actors.client()
    return identifier, client_id, secret


def _bearer_ok(actors, access_token) -> bool:
    return actors.browser.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"}).status_code == 200


def test_wrong_verifier_is_refused_and_does_not_burn_the_code(actors, setup):
    identifier, client_id, secret = setup
    code, verifier = actors.login_and_get_code(client_id, identifier)
    wrong, _ = pkce_pair()
    response = actors.exchange(client_id, secret, code, wrong)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"
    assert actors.exchange(client_id, secret, code, verifier).status_code == 200


def test_missing_verifier_is_refused_for_a_confidential_client(actors, setup):
    identifier, client_id, secret = setup
    code, _ = actors.login_and_get_code(client_id, identifier)
    response = actors.token(client_id, secret, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_reused_code_is_refused_and_revokes_what_it_issued(actors, setup):
    identifier, client_id, secret = setup
    code, verifier = actors.login_and_get_code(client_id, identifier)
    first = actors.exchange(client_id, secret, code, verifier).get_json()
    assert _bearer_ok(actors, first["access_token"])

    again = actors.exchange(client_id, secret, code, verifier)
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert not _bearer_ok(actors, first["access_token"])
    refresh = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert refresh.get_json()["error"] == "invalid_grant"


def test_another_clients_code_is_refused(actors, setup):
    identifier, client_id, _ = setup
    other_id, other_secret = actors.client()
    code, verifier = actors.login_and_get_code(client_id, identifier)
    response = actors.exchange(other_id, other_secret, code, verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_authorization_request(actors, setup):
    identifier, client_id, secret = setup
    code, verifier = actors.login_and_get_code(client_id, identifier)
    response = actors.exchange(client_id, secret, code, verifier, redirect_uri=REDIRECT_URI + "/")
    assert response.get_json()["error"] == "invalid_grant"


def test_bad_client_secret_is_refused(actors, setup):
    identifier, client_id, secret = setup
    code, verifier = actors.login_and_get_code(client_id, identifier)
    response = actors.exchange(client_id, secret + "x", code, verifier)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["Cache-Control"] == "no-store"


def test_expired_code_is_refused(actors, app, setup):
    identifier, client_id, secret = setup
    code, verifier = actors.login_and_get_code(client_id, identifier)
    from idp.extensions import db
    from idp.models import AuthorizationCode

    with app.app_context():
        record = db.session.execute(db.select(AuthorizationCode)).scalar_one()
        record.expires_at = record.issued_at
        db.session.commit()
    assert actors.exchange(client_id, secret, code, verifier).get_json()["error"] == "invalid_grant"


def test_client_secret_post(actors):
    identifier = actors.account()
    client_id, secret = actors.client(auth_method="client_secret_post")
    code, verifier = actors.login_and_get_code(client_id, identifier)
    # Basic is not this client's registered method.
    assert actors.exchange(client_id, secret, code, verifier).status_code == 401
    response = actors.browser.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI, "client_id": client_id, "client_secret": secret,
    })
    assert response.status_code == 200, response.get_json()


def test_public_client_with_pkce(actors):
    identifier = actors.account()
    client_id, secret = actors.client(auth_method="none")
    assert secret is None
    code, verifier = actors.login_and_get_code(client_id, identifier)
    response = actors.token(client_id, None, grant_type="authorization_code", code=code,
                            code_verifier=verifier, redirect_uri=REDIRECT_URI)
    assert response.status_code == 200, response.get_json()
    assert "id_token" in response.get_json()


def _assertion(key: RSAKey, client_id: str, audience: str, **overrides) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
              "exp": now + 60, "jti": str(uuid.uuid4())}
    claims.update(overrides)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def test_private_key_jwt_authenticates_and_refuses_replay(actors):
    key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    identifier = actors.account()
    client_id, secret = actors.client(auth_method="private_key_jwt", jwks=jwks)
    assert secret is None
    code, verifier = actors.login_and_get_code(client_id, identifier)
    assertion = _assertion(key, client_id, "http://localhost/token")
    form = {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    response = actors.browser.post("/token", data=form)
    assert response.status_code == 200, response.get_json()

    refresh = {
        "grant_type": "refresh_token", "refresh_token": response.get_json()["refresh_token"],
        "client_assertion_type": form["client_assertion_type"], "client_assertion": assertion,
    }
    replayed = actors.browser.post("/token", data=refresh)
    assert replayed.status_code in (400, 401)
    assert replayed.get_json()["error"] == "invalid_client"

    other_key = RSAKey.generate_key(2048, parameters={"kid": "rp-key-1"}, private=True)
    refresh["client_assertion"] = _assertion(other_key, client_id, "http://localhost/token")
    assert actors.browser.post("/token", data=refresh).get_json()["error"] == "invalid_client"

    refresh["client_assertion"] = _assertion(key, client_id, "https://elsewhere.example/token")
    assert actors.browser.post("/token", data=refresh).get_json()["error"] == "invalid_client"

    refresh["client_assertion"] = _assertion(key, client_id, "http://localhost")
    assert actors.browser.post("/token", data=refresh).status_code == 200


def test_client_credentials(actors):
    client_id, secret = actors.client(
        grant_types=["client_credentials"], redirect_uris=[], scope="peps"
    )
    response = actors.token(client_id, secret, grant_type="client_credentials", scope="peps")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "refresh_token" not in body and "id_token" not in body
    public_id, _ = actors.client(auth_method="none")
    refused = actors.token(public_id, None, grant_type="client_credentials")
    assert refused.status_code in (400, 401)


def test_implicit_and_password_grants_are_not_supported(actors, setup):
    _, client_id, secret = setup
    response = actors.token(client_id, secret, grant_type="password", username="x", password="y")
    assert response.get_json()["error"] == "unsupported_grant_type"
