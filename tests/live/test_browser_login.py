"""A person logs in with Chromium: the hosted page, its cookies and its CSP hold up in a
real browser on http://127.0.0.1 (the `make run` set-up). The longer walks (trusted
workstation, lockout and reset, step-up, English pages) are in test_browser_walks.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.helpers import code_in, last_code_message

from .browser import authorization_url, chromium

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def redirect_uri(relying_party):
    return f"http://127.0.0.1:{relying_party.server_address[1]}/callback"


@pytest.fixture(scope="module")
def registered(live_idp, redirect_uri):
    return live_idp.register(redirect_uri, "Navigateur", "nina@mairie.example")


def test_a_person_logs_in_with_chromium_and_single_sign_on_holds(
    live_idp, registered, relying_party, redirect_uri
):
    account, client = registered
    callbacks = relying_party.seen
    with chromium() as browser:
        page = browser.new_page(locale="fr-FR")
        url, verifier = authorization_url(live_idp.issuer, client["client_id"], redirect_uri)
        page.goto(url)
        assert page.locator("h1").inner_text() == "Se connecter"
        assert page.get_attribute("#password", "autocomplete") == "current-password"

        page.fill("#identifier", account["identifier"])
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        assert page.locator(".error").inner_text() == "Identifiant ou mot de passe incorrect."
        # The refusal is tied to its field, and the summary that has the focus links to it.
        assert page.get_attribute("#password", "aria-invalid") == "true"
        assert page.locator("#" + page.get_attribute("#password", "aria-describedby")).inner_text() == \
            "Identifiant ou mot de passe incorrect."
        assert page.evaluate("document.activeElement.id") == "error-summary"
        assert page.locator(".error-summary a").get_attribute("href") == "#password"

        page.fill("#password", account["password"])
        page.click("button[type=submit]")

        # First login: the account has no phone yet.
        assert page.locator("h1").inner_text() == "Votre numéro de téléphone"
        assert page.get_attribute("#phone", "autocomplete") == "tel"
        page.fill("#phone", "07 00 00 00 0")
        page.click("button[type=submit]")
        assert "n'est pas valide" in page.locator(".error").inner_text()
        assert "phone-error" in page.get_attribute("#phone", "aria-describedby").split()
        page.fill("#phone", "06 98 76 54 32")
        page.click("button[type=submit]")

        assert page.locator("h1").inner_text() == "Code de vérification"
        assert "SMS" in page.locator(".info").inner_text()
        assert page.get_attribute("#code", "autocomplete") == "one-time-code"
        assert page.get_attribute("#code", "inputmode") == "numeric"
        sms = last_code_message(live_idp.outbox)
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
        second_url, _ = authorization_url(live_idp.issuer, client["client_id"], redirect_uri, prompt="none")
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
