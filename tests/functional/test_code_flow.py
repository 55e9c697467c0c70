"""The authorization code flow end to end (OIDC Core 3.1), through the hosted login."""

import time

from tests.helpers import REDIRECT_URI, pkce_pair, query_of


def test_login_page_is_french_and_code_flow_issues_signed_id_token(actors):
    identifier = actors.account()
    client_id, secret = actors.client()
    verifier, challenge = pkce_pair()

    # The authorization endpoint answers with the login page itself (no redirect to it),
    # whose form posts to /login with the flow, under the endpoint's own security headers.
    response = actors.authorize(client_id, challenge, state="xyz", nonce="n-123")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "form-action 'self' https://rp.example.test;" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert 'lang="fr"' in page and "Se connecter" in page and 'action="/login"' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    assert actors.browser.get(actors.at(response)).get_data(as_text=True) == page  # /login shows the same

    before = int(time.time())
    response = actors.finish_login(actors.submit_login(response, identifier))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["state"] == "xyz"

    response = actors.exchange(client_id, secret, query["code"], verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert {"access_token", "refresh_token", "id_token", "expires_in"} <= body.keys()

    claims = actors.id_token_claims(body["id_token"])
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == client_id
    assert claims["nonce"] == "n-123"
    # First login: a code by SMS was needed, so two factors.
    assert claims["acr"] == "urn:peps:acr:mfa"
    assert claims["amr"] == ["pwd", "otp", "sms", "mfa"]
    assert claims["sid"]
    assert claims["at_hash"]
    assert before - 1 <= claims["auth_time"] <= claims["iat"] < claims["exp"]
    assert "email" not in claims  # scope claims go to UserInfo when an access token exists


def test_userinfo_by_get_and_post(actors):
    identifier = actors.account(email="bob@mairie.example", first_name="Bob", last_name="Leroy")
    client_id, secret = actors.client()
    tokens = actors.tokens_for(client_id, secret, identifier)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    by_get = actors.browser.get("/userinfo", headers=headers)
    by_post = actors.browser.post("/userinfo", headers=headers)
    assert by_get.status_code == by_post.status_code == 200
    info = by_get.get_json()
    assert info == by_post.get_json()
    assert info["sub"] == actors.id_token_claims(tokens["id_token"])["sub"]
    assert info["email"] == "bob@mairie.example"
    assert info["given_name"] == "Bob" and info["family_name"] == "Leroy"
    assert info["peps_siret"] == "21330063500017"
    assert info["peps_services"] == ["pensions"]
    assert "phone_number" not in info  # the phone scope was not asked for

    anonymous = actors.browser.get("/userinfo")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_claims_parameter_puts_a_claim_in_the_id_token(actors):
    identifier = actors.account(email="carl@mairie.example")
    client_id, secret = actors.client()
    tokens = actors.tokens_for(
        client_id, secret, identifier, claims='{"id_token": {"email": null}}'
    )
    assert actors.id_token_claims(tokens["id_token"])["email"] == "carl@mairie.example"


def test_single_sign_on_across_clients(actors):
    identifier = actors.account()
    first_id, first_secret = actors.client()
    second_id, _ = actors.client()
    actors.tokens_for(first_id, first_secret, identifier)

    _, challenge = pkce_pair()
    response = actors.authorize(second_id, challenge)
    assert response.status_code == 302
    assert "code=" in response.headers["Location"]  # no login page the second time
