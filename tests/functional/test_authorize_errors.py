"""Authorization request errors (OIDC Core 3.1.2.6; RFC 9700 2.1, 4.1).

Until the client and its redirect URI are trusted, the user gets an error page and no
redirect; after that, errors go back to the client with the request's state.
"""

import pytest

from tests.helpers import REDIRECT_URI, page_text, pkce_pair, query_of


@pytest.fixture
def rp(actors):
    return actors.client()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/",  # trailing slash
        REDIRECT_URI.replace("callback", "Callback"),  # other case
        REDIRECT_URI + "?extra=1",  # extra query
        "https://evil.example/callback",
    ],
)
def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(actors, rp, redirect_uri):
    _, challenge = pkce_pair()
    response = actors.authorize(rp[0], challenge, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "L'adresse de retour de l'application n'est pas enregistrée." in page_text(response)


def test_unknown_client_gets_an_error_page(actors):
    _, challenge = pkce_pair()
    response = actors.authorize("no-such-client", challenge)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "n'est pas connue" in page_text(response)


def test_missing_client_id_gets_an_error_page(actors):
    response = actors.browser.get("/authorize", query_string={"response_type": "code"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def _error_redirect(response):
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return query_of(location)


def test_missing_pkce_is_refused(actors, rp):
    query = _error_redirect(actors.authorize(rp[0], None, state="s1"))
    assert query["error"] == "invalid_request"
    assert query["state"] == "s1"


def test_plain_pkce_is_refused(actors, rp):
    verifier, _ = pkce_pair()
    query = _error_redirect(
        actors.authorize(rp[0], None, code_challenge=verifier, code_challenge_method="plain")
    )
    assert query["error"] == "invalid_request"


def test_challenge_without_method_is_refused(actors, rp):
    _, challenge = pkce_pair()
    query = _error_redirect(actors.authorize(rp[0], None, code_challenge=challenge))
    assert query["error"] == "invalid_request"


def test_implicit_flow_is_not_supported(actors, rp):
    _, challenge = pkce_pair()
    query = _error_redirect(actors.authorize(rp[0], challenge, response_type="id_token token"))
    assert query["error"] == "unsupported_response_type"


def test_prompt_none_without_session_gives_login_required(actors, rp):
    _, challenge = pkce_pair()
    query = _error_redirect(actors.authorize(rp[0], challenge, prompt="none", state="quiet"))
    assert query["error"] == "login_required" and query["state"] == "quiet"
    assert set(query) <= {"error", "error_description", "state"}


@pytest.mark.parametrize(
    "params, error",
    [
        ({"request": "eyJ..."}, "request_not_supported"),
        ({"request_uri": "https://rp.example.test/req"}, "request_uri_not_supported"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"claims": '{"id_token": ["acr"]}'}, "invalid_request"),
        ({"max_age": "-5"}, "invalid_request"),
        ({"prompt": "none login"}, "invalid_request"),
    ],
)
def test_malformed_parameters_go_back_to_the_client(actors, rp, params, error):
    _, challenge = pkce_pair()
    if params.get("prompt"):
        actors.tokens_for(rp[0], rp[1], actors.account())
    query = _error_redirect(actors.authorize(rp[0], challenge, state="s2", **params))
    assert query["error"] == error
    assert query["state"] == "s2"


def test_scopes_beyond_the_client_registration_are_not_granted(actors):
    # RFC 6749 3.3: the server may ignore part of the requested scope, and says so.
    client_id, secret = actors.client(scope="openid profile")
    tokens = actors.tokens_for(client_id, secret, actors.account(), scope="openid profile email admin")
    assert tokens["scope"] == "openid profile"
    info = actors.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).get_json()
    assert "email" not in info and "family_name" in info


def test_a_user_without_the_right_to_the_service_is_refused(actors):
    identifier = actors.account(services=("pensions",))
    client_id, _ = actors.client(service="rncps")
    verifier, challenge = pkce_pair()
    response = actors.authorize(client_id, challenge, state="s3")
    response = actors.finish_login(actors.submit_login(response, identifier))
    query = _error_redirect(response)
    assert query["error"] == "access_denied"
    assert query["state"] == "s3"
