"""Pages that pass a person's and a screen reader's test (issue 10): each its own title and
h1, errors that say what happened and tie themselves to their fields, a way back after a
logout or an expired form, and the password rule taken from the policy."""

from __future__ import annotations

import re

import pytest

from tests.helpers import page_text, pkce_pair


def _title_and_h1(response) -> tuple[str, str]:
    text = page_text(response)
    title = re.search(r"<title>(.*?)</title>", text, re.S).group(1).strip()
    h1s = re.findall(r"<h1>(.*?)</h1>", text, re.S)
    assert len(h1s) == 1, h1s
    return title, h1s[0]


def _titled(response) -> str:
    """The h1, after checking that the title is "<h1> – <application>"."""
    title, h1 = _title_and_h1(response)
    assert title == f"{h1} – Plateforme employeurs publics"
    return h1


@pytest.mark.parametrize(("ask", "status", "h1"), [
    (lambda b: b.get("/no-such-page"), 404, "Page introuvable"),
    (lambda b: b.post("/"), 405, "Méthode non acceptée"),
    (lambda b: b.get("/authorize", query_string={"client_id": "nobody"}), 400, "Demande non valide"),
    (lambda b: b.get("/password/reset", query_string={"token": "stale"}), 400, "Lien non valide"),
    (lambda b: b.post("/password/forgot", data={"csrf_token": "x"}), 400, "Formulaire expiré"),
    (lambda b: b.post("/password/forgot", data={"email": "x" * 80 * 1024}), 413, "Demande trop volumineuse"),
])
def test_every_error_page_says_what_happened(browser, ask, status, h1):
    response = ask(browser)
    assert response.status_code == status
    assert _titled(response) == h1
    assert "Une erreur est survenue" not in page_text(response)


def test_an_expired_form_offers_to_reload_it(actors):
    actors.browser.get("/password/forgot")
    expired = actors.browser.post("/password/forgot", data={"csrf_token": "stale", "email": "a@b.example"})
    assert expired.status_code == 400
    assert re.search(r'<a class="button" href="/password/forgot">Recharger le formulaire</a>', page_text(expired))
    # A login step's form comes back with its flow.
    client_id, _ = actors.client()
    _, challenge = pkce_pair()
    location = actors.at(actors.authorize(client_id, challenge))
    flow = re.search(r"flow=([^&]+)", location).group(1)
    login = actors.browser.post("/login", data={"csrf_token": "stale", "flow": flow})
    assert login.status_code == 400 and _titled(login) == "Formulaire expiré"
    assert f'href="/login?flow={flow}">Recharger le formulaire' in page_text(login)


def test_the_recovery_sent_pages_have_their_own_titles(actors):
    actors.browser.get("/password/forgot")
    password = actors.post_form("/password/forgot", {"identifier": "ABC000001", "email": "a@b.example"})
    identifier = actors.post_form("/identifier/forgot", {"email": "a@b.example"})
    assert _titled(password) == "Demande de réinitialisation envoyée"
    assert _titled(identifier) == "Demande d'identifiant envoyée"


def test_form_errors_are_tied_to_their_fields_with_a_summary(actors):
    actors.browser.get("/password/forgot")
    refused = actors.post_form("/password/forgot", {"identifier": "ABC000001", "email": ""})
    text = page_text(refused)
    assert refused.status_code == 400
    summary = re.search(r'<div class="error-summary" id="error-summary" tabindex="-1" autofocus[^>]*>(.*?)</div>',
                        text, re.S)
    assert summary and 'href="#email"' in summary.group(1) and "Remplissez tous les champs." in summary.group(1)
    email = re.search(r'<input id="email"[^>]*>', text).group(0)
    assert 'aria-invalid="true"' in email and 'aria-describedby="email-error"' in email
    assert re.search(r'<p class="field-error" id="email-error">Remplissez tous les champs.</p>', text)
    identifier = re.search(r'<input id="identifier"[^>]*>', text).group(0)
    assert "aria-invalid" not in identifier and 'value="ABC000001"' in identifier


def test_the_new_password_rule_comes_from_the_policy(actors, app):
    identifier = actors.account(email="rita.regle@mairie.example")
    actors.edit_policy("min_length: 12", "min_length: 14")
    actors.browser.get("/password/forgot")
    actors.post_form("/password/forgot", {"identifier": identifier, "email": "rita.regle@mairie.example"})
    actors.run_jobs()
    link = re.search(r"https?://\S+/password/reset\?token=\S+", actors.outbox()[-1]["body"]).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = actors.browser.get("/" + path)
    assert 'minlength="14"' in page_text(page) and "Au moins 14 caractères." in page_text(page)
    short = actors.post_form("/" + path, {"password": "x" * 13, "password_again": "x" * 13}, page=page)
    assert short.status_code == 400
    assert "il doit compter au moins 14 caractères" in page_text(short)
    field = re.search(r'<input id="password"[^>]*>', page_text(short)).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="password-error password-hint"' in field


def test_after_logout_a_link_leads_back_to_the_application(actors):
    client_id, _ = actors.client()
    identifier = actors.account()
    _, challenge = pkce_pair()
    login = actors.at(actors.authorize(client_id, challenge))
    actors.finish_login(actors.submit_login(login, identifier))
    confirm = actors.post_form(f"/logout?client_id={client_id}", {})
    assert confirm.status_code == 200
    assert _titled(confirm) == "Déconnexion effectuée"
    assert "Se déconnecter" not in page_text(confirm)
    assert 'href="https://rp.example.test/">Retourner à' in page_text(confirm)
    # Without a client, the way back is the console.
    alone = actors.post_form("/logout", {})
    assert 'href="/account?ui_locales=fr">Mon compte' in page_text(alone)


def test_the_pages_have_their_own_titles(actors):
    client_id, _ = actors.client()
    _, challenge = pkce_pair()
    login = actors.browser.get(actors.at(actors.authorize(client_id, challenge)))
    assert _titled(login) == "Se connecter"
    assert _titled(actors.browser.get("/")) == "Connexion à la plateforme employeurs publics"
    assert _titled(actors.browser.get("/password/forgot")) == "Réinitialiser votre mot de passe"
    assert _titled(actors.browser.get("/identifier/forgot")) == "Identifiant oublié"
    english = actors.browser.get("/no-such-page?ui_locales=en")
    title, h1 = _title_and_h1(english)
    assert (title, h1) == ("Page not found – Public employers platform", "Page not found")
