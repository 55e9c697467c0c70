"""A person's walks through the hosted pages in Chromium (issue 10): the first login, a
second one on the same browser without a code (trusted workstation), a fresh browser asked
for the code again, a lockout then a reset by the emailed link, a step-up for an
RNCPS-like service after a trusted single-factor login, and the English pages. Each page
is saved as a screenshot in the test's output folder."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.helpers import code_in, last_code_message, read_outbox

from .browser import Screenshots, authorization_url, chromium
from .conftest import wait_until

pytestmark = pytest.mark.live

SIRET = "21330063500017"
MFA = "urn:peps:acr:mfa"
SINGLE = "urn:peps:acr:pwd"


@pytest.fixture(scope="module")
def world(live_idp, relying_party):
    redirect_uri = f"http://127.0.0.1:{relying_party.server_address[1]}/callback"
    live_idp.idp("establishments", "create", "--siret", SIRET, "--name", "Mairie de Promenade")
    live_idp.idp("services", "create", "--code", "pensions", "--name", "Retraites")
    client = live_idp.idp("clients", "create", "--name", "Retraites", "--service", "pensions",
                          "--redirect-uri", redirect_uri, "--post-logout-redirect-uri", redirect_uri)
    rncps = live_idp.idp("clients", "create", "--name", "RNCPS", "--service", "pensions",
                         "--redirect-uri", redirect_uri, "--default-acr", MFA)
    return {"client": client, "rncps": rncps, "redirect_uri": redirect_uri}


def _person(idp, last_name: str, phone: str | None = None) -> dict:
    email = f"agent.{last_name.lower()}@mairie.example"
    account = idp.idp("accounts", "create", "--establishment", SIRET, "--last-name", last_name,
                      "--first-name", "Agent", "--email", email, "--service", "pensions",
                      *(["--phone", phone] if phone else []))
    return {**account, "email": email}


def _h1(page) -> str:
    return page.locator("h1").inner_text()


class Walk:
    """One person in one browser context: the steps they take, each page photographed."""

    def __init__(self, idp, world, context, shots: Screenshots):
        self.idp, self.world, self.shots = idp, world, shots
        self.page = context.new_page()

    def shot(self, name: str) -> None:
        self.shots(self.page, name)

    def start(self, client: str = "client", **extra: str) -> None:
        url, _ = authorization_url(self.idp.issuer, self.world[client]["client_id"], self.world["redirect_uri"],
                                   **extra)
        self.page.goto(url)

    def password(self, account: dict, password: str | None = None) -> None:
        assert _h1(self.page) in ("Se connecter", "Log in")
        self.shot("login")
        self.page.fill("#identifier", account["identifier"])
        self.page.fill("#password", password or account["password"])
        self.page.click("form button[type=submit]")

    def phone(self, number: str) -> None:
        self.shot("phone")
        self.page.fill("#phone", number)
        self.page.click("form button[type=submit]")

    def code(self) -> None:
        assert _h1(self.page) in ("Code de vérification", "Verification code")
        self.shot("code")
        self.page.fill("#code", code_in(last_code_message(self.idp.outbox)))
        self.page.click("form >> nth=0 >> button")

    def confirm(self) -> None:
        assert _h1(self.page) in ("Vérifiez vos informations", "Check your details")
        self.shot("confirmation")
        self.page.click("form button[type=submit]")

    def arrived(self) -> dict[str, list[str]]:
        """At the relying party: the query it received."""
        self.page.wait_for_url(self.world["redirect_uri"] + "**")
        return parse_qs(urlsplit(self.page.url).query)


def _codes_sent(idp) -> int:
    return sum(1 for message in read_outbox(idp.outbox) if message["channel"] in ("sms", "voice"))


def _id_token_claims(idp, world, client: str, code: str, verifier: str) -> dict:
    token = requests.post(
        idp.issuer + "/token", auth=(world[client]["client_id"], world[client]["client_secret"]),
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
              "redirect_uri": world["redirect_uri"]}, timeout=10)
    assert token.status_code == 200, token.text
    payload = token.json()["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_first_login_then_the_trusted_browser_then_a_fresh_one(live_idp, world, tmp_path):
    account = _person(live_idp, "Premier")
    shots = Screenshots(tmp_path)
    with chromium() as browser:
        context = browser.new_context(locale="fr-FR")
        walk = Walk(live_idp, world, context, shots)
        walk.start()
        walk.password(account)
        assert _h1(walk.page) == "Votre numéro de téléphone"
        walk.phone("06 45 67 89 01")
        walk.code()
        walk.confirm()
        assert "code" in walk.arrived()
        sent = _codes_sent(live_idp)

        # Logged out, the same browser logs in again with the password alone.
        walk.page.goto(f"{live_idp.issuer}/logout?client_id={world['client']['client_id']}")
        assert _h1(walk.page) == "Se déconnecter"
        walk.shot("logout")
        walk.page.click("form button[type=submit]")
        assert _h1(walk.page) == "Déconnexion effectuée"
        back = walk.page.get_by_role("link", name="Retourner à Retraites")
        assert back.get_attribute("href") == world["redirect_uri"].removesuffix("callback")
        walk.shot("logged-out")
        walk.start()
        walk.password(account)
        assert "code" in walk.arrived()
        assert _codes_sent(live_idp) == sent  # no code: a trusted workstation

        # Mon compte lists this browser as trusted.
        walk.page.goto(live_idp.issuer + "/account")
        assert _h1(walk.page) == "Mon compte"
        walk.shot("account")

        # Another browser is asked for the code again.
        other = Walk(live_idp, world, browser.new_context(locale="fr-FR"), shots)
        other.start()
        other.password(account)
        other.code()
        assert "code" in other.arrived()
        assert _codes_sent(live_idp) == sent + 1


def test_a_lockout_then_a_reset_by_the_emailed_link(live_idp, world, tmp_path):
    account = _person(live_idp, "Bloque", phone="0645678902")
    with chromium() as browser:
        walk = Walk(live_idp, world, browser.new_context(locale="fr-FR"), Screenshots(tmp_path))
        walk.start()
        for _ in range(5):
            walk.password(account, "not the password")
        walk.password(account)  # the right password, too late: the account is locked
        assert "bloqué" in walk.page.locator(".error").inner_text()
        walk.shot("locked")
        walk.page.click("text=Réinitialiser mon mot de passe")
        assert _h1(walk.page) == "Réinitialiser votre mot de passe"
        walk.shot("forgot-password")
        walk.page.fill("#identifier", account["identifier"])
        walk.page.fill("#email", account["email"])
        walk.page.click("form button[type=submit]")
        assert _h1(walk.page) == "Demande de réinitialisation envoyée"
        walk.shot("password-sent")

        def reset_links():
            return [found.group(0) for m in read_outbox(live_idp.outbox)
                    if m["channel"] == "email" and m["to"] == account["email"]
                    and (found := re.search(r"https?://\S+/password/reset\?token=\S+", m["body"]))]

        wait_until(lambda: reset_links(), what="the reset email")  # sent by `idp worker`
        link = reset_links()[-1]

        walk.page.goto(link)  # at once: the link's record is committed before its email leaves
        assert _h1(walk.page) == "Choisissez un nouveau mot de passe"
        rule = walk.page.locator("#password-hint").inner_text()
        minimum = int(re.search(r"\d+", rule).group(0))
        assert walk.page.get_attribute("#password", "minlength") == str(minimum)
        walk.shot("new-password")
        new_password = "Une phrase de passe assez longue"
        walk.page.fill("#password", new_password)
        walk.page.fill("#password_again", new_password + " mais pas pareille")
        walk.page.click("form button[type=submit]")
        assert walk.page.get_attribute("#password_again", "aria-invalid") == "true"
        assert walk.page.get_attribute("#password_again", "aria-describedby") == "password_again-error"
        assert walk.page.locator(".error-summary a").get_attribute("href") == "#password_again"
        walk.shot("new-password-refused")
        walk.page.fill("#password", new_password)
        walk.page.fill("#password_again", new_password)
        walk.page.click("form button[type=submit]")
        walk.code()  # the account has a phone: the code first
        assert _h1(walk.page) == "Mot de passe modifié"
        walk.shot("password-changed")
        assert walk.page.get_by_role("link", name="Aller à Mon compte").get_attribute("href").startswith("/account")

        walk.start()
        walk.password(account, new_password)
        walk.code()  # the reset forgot every trusted workstation
        walk.confirm()
        assert "code" in walk.arrived()


def test_a_sensitive_service_steps_up_a_trusted_single_factor_login(live_idp, world, tmp_path):
    account = _person(live_idp, "Etage", phone="0645678903")
    with chromium() as browser:
        walk = Walk(live_idp, world, browser.new_context(locale="fr-FR"), Screenshots(tmp_path))
        walk.start()
        walk.password(account)
        walk.code()
        walk.confirm()
        walk.arrived()
        walk.page.goto(f"{live_idp.issuer}/logout?client_id={world['client']['client_id']}")
        walk.page.click("form button[type=submit]")

        # A trusted workstation: the password alone, a single-factor session.
        url, verifier = authorization_url(live_idp.issuer, world["client"]["client_id"], world["redirect_uri"])
        walk.page.goto(url)
        walk.password(account)
        received = walk.arrived()
        assert _id_token_claims(live_idp, world, "client", received["code"][0], verifier)["acr"] == SINGLE

        # The RNCPS-like client demands the MFA acr: the code is asked within the session.
        url, verifier = authorization_url(live_idp.issuer, world["rncps"]["client_id"], world["redirect_uri"])
        walk.page.goto(url)
        walk.code()
        received = walk.arrived()
        assert _id_token_claims(live_idp, world, "rncps", received["code"][0], verifier)["acr"] == MFA


@pytest.mark.parametrize("asked", ["ui_locales", "accept_language"])
def test_the_pages_speak_english_when_asked(live_idp, world, tmp_path, asked):
    account = _person(live_idp, "Anglais" if asked == "ui_locales" else "Langue")
    headers = {"Accept-Language": "en-GB,en;q=0.8"} if asked == "accept_language" else {}
    with chromium() as browser:
        context = browser.new_context(locale="en-GB" if headers else "fr-FR", extra_http_headers=headers)
        walk = Walk(live_idp, world, context, Screenshots(tmp_path))
        walk.start(**({"ui_locales": "en"} if asked == "ui_locales" else {}))
        assert walk.page.locator("html").get_attribute("lang") == "en"
        assert walk.page.title() == "Log in – Public employers platform"
        walk.password(account, "not the password")
        assert walk.page.locator(".error").inner_text() == "Incorrect identifier or password."
        assert walk.page.locator(".error-summary h2").inner_text() == "The form could not be sent"
        walk.password(account)
        assert _h1(walk.page) == "Your phone number"
        walk.phone("06 45 67 89 0" + ("4" if asked == "ui_locales" else "5"))
        walk.code()
        walk.confirm()
        assert "code" in walk.arrived()
