"""The hosted pages pass an automated accessibility check (axe-core from npm, injected by
Playwright into Debian's Chromium): no serious or critical violation of WCAG 2.0/2.1 A and
AA, and no sideways scrolling at 375 px (WCAG 1.4.10), on every page a person meets on the
way in, in "Mon compte", at logout, in recovery and on error pages. Each page checked is also saved
as a screenshot in the test's output folder.

axe is a script: the page's CSP forbids it, so the test context bypasses the CSP
(Playwright's ``bypass_csp``); the application's CSP is never loosened."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import code_in, last_code_message

from .browser import Screenshots, authorization_url, chromium

pytestmark = pytest.mark.live

AXE = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
WIDTHS = {1280: 900, 375: 812}  # width: height, a desktop and a phone


@pytest.fixture(scope="module")
def world(live_idp, relying_party):
    redirect_uri = f"http://127.0.0.1:{relying_party.server_address[1]}/callback"
    account, client = live_idp.register(redirect_uri, "Lecteur", "lea.lecteur@mairie.example")
    second = live_idp.idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Ecran",
                          "--first-name", "Eva", "--email", "eva.ecran@mairie.example", "--service", "pensions")
    people = {1280: {**account, "email": "lea.lecteur@mairie.example", "phone": "06 98 76 54 10"},
              375: {**second, "email": "eva.ecran@mairie.example", "phone": "06 98 76 54 11"}}
    return people, client, redirect_uri


class Checker:
    """Runs axe and the reflow check on each page; collects what fails, to report it all."""

    def __init__(self, width: int, shots: Screenshots):
        self.width = width
        self.shots = shots
        self.failures: list[str] = []
        self.checked: list[str] = []

    def __call__(self, page, name: str) -> None:
        page.wait_for_load_state("load")
        self.checked.append(name)
        self.shots(page, f"{self.width}-{name}")
        page.add_script_tag(path=str(AXE))
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        for violation in results["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
                self.failures.append(f"{name} @ {self.width}px: {violation['id']} ({violation['impact']}): "
                                     f"{violation['help']} — {targets}")
        scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll[0] > scroll[1]:
            self.failures.append(f"{name} @ {self.width}px: scrolls sideways ({scroll[0]} > {scroll[1]} px)")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_passes_axe_and_reflows(live_idp, world, width, tmp_path):
    assert AXE.exists(), "axe-core is missing: run `npm ci` in tests/live/node (make test does)"
    accounts, client, redirect_uri = world
    account = accounts[width]
    check = Checker(width, Screenshots(tmp_path))
    viewport = {"width": width, "height": WIDTHS[width]}
    with chromium() as browser:
        context = browser.new_context(bypass_csp=True, viewport=viewport, locale="fr-FR")
        page = context.new_page()
        page.goto(live_idp.issuer + "/")
        check(page, "home")

        page.goto(authorization_url(live_idp.issuer, client["client_id"], redirect_uri)[0])
        check(page, "login")
        page.fill("#identifier", account["identifier"])
        page.fill("#password", "not the password")
        page.click("form button[type=submit]")
        assert page.get_attribute("#password", "aria-invalid") == "true"
        check(page, "login-refused")
        page.fill("#password", account["password"])
        page.click("form button[type=submit]")

        assert page.locator("h1").inner_text() == "Votre numéro de téléphone"
        check(page, "phone")
        page.fill("#phone", "12")
        page.click("form button[type=submit]")
        check(page, "phone-refused")
        page.fill("#phone", account["phone"])
        page.click("form button[type=submit]")

        assert page.locator("h1").inner_text() == "Code de vérification"
        check(page, "code")
        page.fill("#code", "000000" if code_in(last_code_message(live_idp.outbox)) != "000000" else "111111")
        page.click("form >> nth=0 >> button")
        check(page, "code-refused")
        page.fill("#code", code_in(last_code_message(live_idp.outbox)))
        page.click("form >> nth=0 >> button")

        assert page.locator("h1").inner_text() == "Vérifiez vos informations"
        check(page, "confirmation")
        page.click("form button[type=submit]")
        page.wait_for_url(redirect_uri + "**")

        page.goto(live_idp.issuer + "/account")
        page.wait_for_url(live_idp.issuer + "/account**")
        assert page.locator("h1").inner_text() == "Mon compte"
        check(page, "account")
        page.goto(f"{live_idp.issuer}/logout?client_id={client['client_id']}")
        check(page, "logout")
        page.click("form button[type=submit]")
        assert page.locator("h1").inner_text() == "Déconnexion effectuée"
        check(page, "logged-out")

        # Recovery and errors, in a browser without a session.
        fresh = browser.new_context(bypass_csp=True, viewport=viewport, locale="fr-FR").new_page()
        fresh.goto(live_idp.issuer + "/password/forgot")
        check(fresh, "forgot-password")
        fresh.goto(live_idp.issuer + "/identifier/forgot")
        check(fresh, "forgot-identifier")
        fresh.fill("#email", account["email"])
        fresh.click("form button[type=submit]")
        assert fresh.locator("h1").inner_text() == "Demande d'identifiant envoyée"
        check(fresh, "identifier-sent")
        fresh.goto(live_idp.issuer + "/password/forgot")
        fresh.fill("#identifier", account["identifier"])
        fresh.context.clear_cookies()  # the form outlives its browser cookie: "Le formulaire a expiré"
        fresh.fill("#email", account["email"])
        fresh.click("form button[type=submit]")
        assert fresh.locator("h1").inner_text() == "Formulaire expiré"
        check(fresh, "csrf-expired")
        fresh.click("text=Recharger le formulaire")
        fresh.fill("#identifier", account["identifier"])
        fresh.fill("#email", account["email"])
        fresh.click("form button[type=submit]")
        assert fresh.locator("h1").inner_text() == "Demande de réinitialisation envoyée"
        check(fresh, "password-sent")
        fresh.goto(live_idp.issuer + "/no-such-page")
        assert fresh.locator("h1").inner_text() == "Page introuvable"
        check(fresh, "not-found")
        fresh.goto(live_idp.issuer + "/authorize?client_id=unknown")
        check(fresh, "bad-request")

    assert check.failures == [], "\n".join(check.failures)
