"""Issue 7 walked in Chromium: an administrator logs in (a code), creates an account (no
second code in that session), the new user opens the emailed link, chooses a password,
enters a phone and a code, reaches a relying party, then changes their phone and sees it
in "Mon historique". Each page is saved as a screenshot in the test's output folder."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import urlencode

import pytest

from tests.conftest import postgres_database
from tests.helpers import code_in, read_outbox

from .browser import chromium, relying_party_callback
from .conftest import LiveIdP, free_port, wait_until

pytestmark = pytest.mark.live
SIRET = "21330063500017"


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    with relying_party_callback(free_port()) as server, postgres_database() as url:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
        idp = LiveIdP(tmp_path_factory.mktemp("administration"), url)
        idp.start()
        try:
            idp.idp("establishments", "create", "--siret", SIRET, "--name", "Mairie de Navigateur")
            idp.idp("services", "create", "--code", "pensions", "--name", "Retraites")
            admins = [idp.idp("accounts", "create", "--establishment", SIRET, "--profile", "administrator",
                              "--last-name", last, "--first-name", first, "--email", email, "--phone", phone,
                              "--service", "pensions")
                      for last, first, email, phone in (("Martin", "Anne", "anne.martin@mairie.example", "0611223344"),
                                                        ("Petit", "Bruno", "bruno.petit@mairie.example", "0611223355"))]
            client = idp.idp("clients", "create", "--name", "Retraites", "--service", "pensions",
                             "--redirect-uri", redirect_uri)
            yield idp, admins[0], client, redirect_uri
        finally:
            idp.stop()


def _authorization_url(issuer, client_id, redirect_uri):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return f"{issuer}/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})


def _last_message(idp, **match):
    messages = [m for m in read_outbox(idp.outbox) if all(m.get(k) == v for k, v in match.items())]
    assert messages, f"no message {match}"
    return messages[-1]


def test_an_administrator_creates_an_account_and_its_user_gets_going(town, tmp_path):
    idp, admin, client, redirect_uri = town
    shots = iter(range(100))

    def shot(page, name):
        page.screenshot(path=str(tmp_path / f"{next(shots):02d}-{name}.png"), full_page=True)

    with chromium() as browser:
        # The administrator: a console page starts the login, with a code at this first login.
        page = browser.new_page(locale="fr-FR")
        page.goto(idp.issuer + "/admin/accounts/new")
        assert page.locator("h1").inner_text() == "Se connecter"
        page.fill("#identifier", admin["identifier"])
        page.fill("#password", admin["password"])
        page.click("button[type=submit]")
        assert page.locator("h1").inner_text() == "Code de vérification"
        shot(page, "admin-code")
        page.fill("#code", code_in(_last_message(idp, to="+33611223344")))
        page.click("form >> nth=0 >> button")
        assert page.locator("h1").inner_text() == "Vérifiez vos informations"
        page.click("button[type=submit]")
        page.wait_for_url(idp.issuer + "/admin/accounts/new")
        shot(page, "admin-new-account")
        codes_before = len([m for m in read_outbox(idp.outbox) if m["channel"] == "sms"])

        page.fill("#last_name", "Nouvelle")
        page.fill("#first_name", "Nadia")
        page.fill("#email", "nadia.nouvelle@mairie.example")
        page.check("#service-pensions")
        page.click("form >> button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/accounts/[A-Z]{3}\d{6}.*"))
        shot(page, "admin-account-created")
        identifier = re.search(r"/admin/accounts/([A-Z]{3}\d{6})", page.url).group(1)
        # The code of this session holds for the sensitive action: no other code was sent.
        assert len([m for m in read_outbox(idp.outbox) if m["channel"] == "sms"]) == codes_before

        # The new user: the welcome email (sent by `idp worker`) carries the identifier and a link.
        wait_until(lambda: any(m["to"] == "nadia.nouvelle@mairie.example" for m in read_outbox(idp.outbox)),
                   what="the welcome email")
        welcome = _last_message(idp, to="nadia.nouvelle@mairie.example")
        assert identifier in welcome["body"]
        link = re.search(r"(http://127\.0\.0\.1:\d+/password/reset\?token=[\w-]+)", welcome["body"]).group(1)
        user = browser.new_context(locale="fr-FR").new_page()
        user.goto(link)
        shot(user, "user-choose-password")
        user.fill("#password", "nadia chooses a long passphrase")
        user.fill("#password_again", "nadia chooses a long passphrase")
        user.click("button[type=submit]")
        assert "Mot de passe modifié" in user.content() and "première connexion" in user.content()

        # First login at a relying party: a phone, a code, the confirmation.
        user.goto(_authorization_url(idp.issuer, client["client_id"], redirect_uri))
        user.fill("#identifier", identifier)
        user.fill("#password", "nadia chooses a long passphrase")
        user.click("button[type=submit]")
        assert user.locator("h1").inner_text() == "Votre numéro de téléphone"
        user.fill("#phone", "06 77 88 99 00")
        user.click("button[type=submit]")
        user.fill("#code", code_in(_last_message(idp, to="+33677889900")))
        user.click("form >> nth=0 >> button")
        assert user.locator("h1").inner_text() == "Vérifiez vos informations"
        shot(user, "user-confirm")
        user.click("button[type=submit]")
        user.wait_for_url(redirect_uri + "**")
        assert "code=" in user.url

        # Then the user changes their phone: a code goes to the new number.
        user.goto(idp.issuer + "/account/phone")
        shot(user, "user-phone-form")
        user.fill("#phone", "07 55 44 33 22")
        user.click("form >> button[type=submit]")
        assert user.locator("h1").inner_text() == "Code de vérification"
        user.fill("#code", code_in(_last_message(idp, to="+33755443322")))
        user.click("form >> nth=0 >> button")
        user.wait_for_url(idp.issuer + "/account/phone/done**")
        shot(user, "user-phone-done")

        user.goto(idp.issuer + "/account/history")
        shot(user, "user-history")
        history = user.locator("table").inner_text()
        assert "Téléphone" in history or "téléphone" in history
    assert list(tmp_path.glob("*.png"))
