"""A person logs in with Chromium: the hosted page, its cookies and its CSP hold up in a
real browser on http://127.0.0.1 (the `make run` set-up)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.helpers import code_in, read_outbox

from .browser import chromium, relying_party_callback
from .conftest import free_port

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def relying_party():
    """A real callback endpoint on a free loopback port, recording what it receives."""
    with relying_party_callback(free_port()) as server:
        yield server


@pytest.fixture(scope="module")
def redirect_uri(relying_party):
    return f"http://127.0.0.1:{relying_party.server_address[1]}/callback"


@pytest.fixture(scope="module")
def registered(live_idp, redirect_uri):
    return live_idp.register(redirect_uri, "Navigateur", "nina@mairie.example")


def _authorization_url(issuer, client_id, redirect_uri, **extra):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "openid profile", "state": "browser-state", "nonce": "browser-nonce",
        "code_challenge": challenge, "code_challenge_method": "S256", **extra,
    }
    return f"{issuer}/authorize?{urlencode(query)}", verifier


def test_a_person_logs_in_with_chromium_and_single_sign_on_holds(
    live_idp, registered, relying_party, redirect_uri
):
    account, client = registered
    callbacks = relying_party.seen
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        url, verifier = _authorization_url(live_idp.issuer, client["client_id"], redirect_uri)
        page.goto(url)
        assert page.locator("h1").inner_text() == "Se connecter"
        assert page.get_attribute("#password", "autocomplete") == "current-password"

        page.fill("#identifier", account["identifier"])
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        assert page.locator(".error").inner_text() == "Identifiant ou mot de passe incorrect."

        page.fill("#password", account["password"])
        page.click("button[type=submit]")

        # First login: the account has no phone yet.
        assert page.locator("h1").inner_text() == "Votre numéro de téléphone"
        assert page.get_attribute("#phone", "autocomplete") == "tel"
        page.fill("#phone", "07 00 00 00 0")
        page.click("button[type=submit]")
        assert "n'est pas valide" in page.locator(".error").inner_text()
        page.fill("#phone", "06 98 76 54 32")
        page.click("button[type=submit]")

        assert page.locator("h1").inner_text() == "Code de vérification"
        assert "SMS" in page.locator(".info").inner_text()
        assert page.get_attribute("#code", "autocomplete") == "one-time-code"
        assert page.get_attribute("#code", "inputmode") == "numeric"
        sms = read_outbox(live_idp.outbox)[-1]
        assert sms["channel"] == "sms" and sms["to"] == "+33698765432"
        page.fill("#code", code_in(sms))
        page.click("form >> nth=0 >> button")

        assert page.locator("h1").inner_text() == "Vérifiez vos informations"
        assert "Navigateur" in page.locator("dl").inner_text()
        page.click("button[type=submit]")
        page.wait_for_url(redirect_uri + "**")
        cookies = {c["name"]: c for c in page.context.cookies(live_idp.issuer)}
        assert cookies["__Host-idp-session"]["secure"] and cookies["__Host-idp-session"]["httpOnly"]

        # Single sign-on: a second authorization needs no login page.
        second_url, _ = _authorization_url(live_idp.issuer, client["client_id"], redirect_uri, prompt="none")
        page.goto(second_url)
        page.wait_for_url(redirect_uri + "**")

    assert len(callbacks) == 2
    first = parse_qs(urlsplit(callbacks[0]).query)
    assert first["state"] == ["browser-state"]
    assert "code" in parse_qs(urlsplit(callbacks[1]).query)
    token = requests.post(
        live_idp.issuer + "/token",
        auth=(client["client_id"], client["client_secret"]),
        data={"grant_type": "authorization_code", "code": first["code"][0],
              "code_verifier": verifier, "redirect_uri": redirect_uri},
        timeout=10,
    )
    assert token.status_code == 200, token.text


def test_the_page_speaks_english_to_an_english_browser(live_idp, registered, redirect_uri):
    _, client = registered
    with chromium() as browser:
        page = browser.new_page(locale="en-GB", extra_http_headers={"Accept-Language": "en-GB,en;q=0.8"})
        url, _ = _authorization_url(live_idp.issuer, client["client_id"], redirect_uri)
        page.goto(url)
        assert page.locator("h1").inner_text() == "Log in"
        assert page.locator("html").get_attribute("lang") == "en"
