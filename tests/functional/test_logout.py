"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)."""

import pytest

from tests.helpers import form_field, page_text, pkce_pair, query_of

LOGOUT_TARGET = "https://rp.example.test/logged-out"


@pytest.fixture
def signed_in(actors):
    identifier = actors.account()
    client_id, secret = actors.client(post_logout_redirect_uris=[LOGOUT_TARGET])
    tokens = actors.tokens_for(client_id, secret, identifier)
    return client_id, secret, tokens


def _has_session(actors, client_id) -> bool:
    _, challenge = pkce_pair()
    location = actors.at(actors.authorize(client_id, challenge, prompt="none"))
    return "code=" in location


def test_logout_with_hint_redirects_with_state_and_ends_the_session(actors, signed_in):
    client_id, _, tokens = signed_in
    assert _has_session(actors, client_id)
    response = actors.browser.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT_TARGET, "state": "bye",
    })
    assert response.status_code == 302
    assert response.headers["Location"] == LOGOUT_TARGET + "?state=bye"
    assert not _has_session(actors, client_id)


@pytest.mark.parametrize("target", [LOGOUT_TARGET + "/", "https://evil.example/", LOGOUT_TARGET + "?x=1"])
def test_logout_with_unregistered_redirect_gets_an_error_page(actors, signed_in, target):
    client_id, _, tokens = signed_in
    response = actors.browser.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": target,
    })
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "n'est pas enregistrée" in page_text(response)
    assert _has_session(actors, client_id)


def test_logout_with_a_forged_hint_is_refused(actors, signed_in):
    client_id, _, tokens = signed_in
    header, payload, signature = tokens["id_token"].split(".")
    forged = ".".join([header, payload, signature[::-1]])
    response = actors.browser.get("/logout", query_string={"id_token_hint": forged})
    assert response.status_code == 400
    assert _has_session(actors, client_id)


def test_a_jwt_access_token_is_no_id_token_hint(actors):
    """JWT access tokens are signed by the ID tokens' key: one given as a hint (a resource
    server or a log may hold it) must not end the user's session without confirmation."""
    identifier = actors.account()
    client_id, secret = actors.client(post_logout_redirect_uris=[LOGOUT_TARGET], access_token_format="jwt")
    tokens = actors.tokens_for(client_id, secret, identifier)
    assert tokens["access_token"].count(".") == 2  # a JWT
    response = actors.browser.get("/logout", query_string={
        "id_token_hint": tokens["access_token"], "post_logout_redirect_uri": LOGOUT_TARGET})
    assert response.status_code == 400 and "Location" not in response.headers
    assert _has_session(actors, client_id)
    with_id_token = actors.browser.get("/logout", query_string={
        "id_token_hint": tokens["id_token"], "post_logout_redirect_uri": LOGOUT_TARGET})
    assert with_id_token.status_code == 302  # the same client's ID token still works


def test_logout_without_hint_asks_for_confirmation(actors, signed_in):
    client_id, _, _ = signed_in
    page = actors.browser.get("/logout", query_string={
        "client_id": client_id, "post_logout_redirect_uri": LOGOUT_TARGET, "state": "s",
    })
    assert page.status_code == 200
    assert "Voulez-vous vous déconnecter" in page_text(page)
    assert _has_session(actors, client_id)

    html = page.get_data(as_text=True)
    forged = actors.browser.post("/logout", data={"csrf_token": "nope"})
    assert forged.status_code == 400 and _has_session(actors, client_id)

    response = actors.browser.post("/logout", data={
        "csrf_token": form_field(html, "csrf_token"),
        "client_id": client_id,
        "post_logout_redirect_uri": LOGOUT_TARGET,
        "state": "s",
    })
    assert response.status_code == 302
    assert query_of(response.headers["Location"]) == {"state": "s"}
    assert not _has_session(actors, client_id)


def test_logout_without_redirect_shows_a_page(actors, signed_in):
    _, _, tokens = signed_in
    response = actors.browser.get("/logout", query_string={"id_token_hint": tokens["id_token"]})
    assert response.status_code == 200
    assert "Vous êtes déconnecté." in page_text(response)
