"""Hostile and malformed input never gives a 5xx: each gets a clear 4xx (issue 8.1)."""

import base64

import pytest

from tests.helpers import REDIRECT_URI, page_text, pkce_pair

ODD = ['"', "\\", "\t", "\r\n", "\x00", "\x7f", "é", "😀", "\u202e"]


@pytest.fixture
def rp(actors):
    return actors.client()


@pytest.mark.parametrize("odd", ODD)
def test_odd_characters_in_redirect_uri_or_response_type_get_a_page(actors, rp, odd):
    _, challenge = pkce_pair()
    for params in ({"redirect_uri": REDIRECT_URI + odd}, {"response_type": "code" + odd}):
        response = actors.authorize(rp[0], challenge, **params)
        assert response.status_code == 400, params
        assert "Location" not in response.headers  # never sent anywhere
        assert "<h1>Demande non valide</h1>" in page_text(response)  # an error page that says what happened


@pytest.mark.parametrize("credentials", [
    "é:secret".encode("latin-1"), b"\xff\xfe:secret", b"no-colon",
])
@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_malformed_basic_credentials_are_invalid_client(actors, path, credentials):
    for header in ("Basic " + base64.b64encode(credentials).decode(), "Basic é", "Basic !!!"):
        response = actors.browser.post(path, data={"grant_type": "client_credentials", "token": "x"},
                                       headers={"Authorization": header})
        assert response.status_code == 401, (path, header)
        assert response.get_json()["error"] == "invalid_client"


def test_a_non_ascii_csrf_token_is_a_form_error(actors, rp):
    actors.browser.get("/password/forgot")  # the browser cookie
    response = actors.browser.post("/password/forgot", data={"csrf_token": "é" * 64, "identifier": "X",
                                                              "email": "x@example.org"})
    assert response.status_code == 400 and "Le formulaire a expiré" in page_text(response)


def test_an_oversized_body_gets_a_413_page_or_json(actors):
    big = "x" * (80 * 1024)
    page = actors.browser.post("/password/forgot?ui_locales=en", data={"email": big})
    assert page.status_code == 413 and "too large" in page_text(page)
    protocol = actors.browser.post("/token", data={"grant_type": big})
    assert protocol.status_code == 413 and protocol.get_json()["error"] == "invalid_request"


def test_discovery_and_jwks_answer_304_to_their_etag(actors):
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        first = actors.browser.get(path)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and "public, max-age=" in first.headers["Cache-Control"]
        again = actors.browser.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
        other = actors.browser.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.data == first.data
