"""Mon compte (issue 7): a user changes their own phone, email and password, each after a
code verified in the session, and reads "Mon historique"."""

import re
from urllib.parse import urlsplit

from idp import audit
from idp.extensions import db
from idp.models import Account
from tests.helpers import PASSWORD, Actors, page_text, pkce_pair

NEW_PHONE = "+33698765432"
NEW_PASSWORD = "a brand new passphrase"
SENSITIVE_PAGES = ("/account/phone", "/account/email", "/account/password")


def _stored(app, identifier) -> dict:
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        return {"id": account.id, "phone": account.phone, "email": account.email,
                "password_hash": account.password_hash}


def _logged_in(actors, **fields):
    """An account logged in once (first login: phone code and confirmation): the session
    holds a code, and this browser is now a trusted workstation."""
    identifier = actors.account(**fields)
    client_id, secret = actors.client()
    actors.tokens_for(client_id, secret, identifier)
    return identifier, client_id, secret


def _from_trusted_workstation(actors, **fields):
    """A second login on the trusted workstation: password only, no code in the session."""
    identifier, client_id, secret = _logged_in(actors, **fields)
    sent = len(actors.outbox())
    actors.tokens_for(client_id, secret, identifier, prompt="login")
    assert len(actors.outbox()) == sent  # no code was asked
    return identifier, client_id, secret


def _asks_code(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login/code?flow=")


def _emails(actors, to=None):
    return [m for m in actors.outbox() if m["channel"] == "email" and (to is None or m["to"] == to)]


# --- every page needs a session, and each change a code -------------------------------
def test_without_a_session_every_page_starts_a_login(actors):
    for path in (*SENSITIVE_PAGES, "/account/history", "/account/phone/done", "/account/email/confirm?token=x"):
        response = actors.browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/authorize?"), path
    for path in SENSITIVE_PAGES:
        assert actors.browser.post(path, data={"phone": NEW_PHONE}).status_code == 401


def test_the_overview_links_to_the_new_pages(actors):
    _logged_in(actors)
    page = actors.browser.get("/account").get_data(as_text=True)
    for path in (*SENSITIVE_PAGES, "/account/history"):
        assert f'href="{path}"' in page


def test_each_sensitive_page_asks_a_code_from_a_trusted_workstation_once_per_session(actors, app):
    identifier, _, _ = _from_trusted_workstation(actors)
    before = _stored(app, identifier)
    for path in SENSITIVE_PAGES:
        assert _asks_code(actors.browser.get(path)), path
    # A form posted without the code changes nothing: the code comes first.
    posted = actors.browser.post("/account/password", data={
        "csrf_token": "x", "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD})
    assert _asks_code(posted)
    assert _stored(app, identifier)["password_hash"] == before["password_hash"]

    # The code goes to the current phone; once entered, the page asked comes back…
    page = actors.finish_login(actors.browser.get("/account/email"), code=None)
    assert page.status_code == 200 and 'name="email"' in page.get_data(as_text=True)
    assert actors.outbox()[-1]["to"] == before["phone"]
    # …and the other sensitive pages ask no more in this session.
    sent = len(actors.outbox())
    for path in SENSITIVE_PAGES:
        response = actors.browser.get(path)
        assert response.status_code == 200, path
    assert len(actors.outbox()) == sent


# --- the phone ---------------------------------------------------------------------------
def test_a_new_phone_is_kept_only_once_the_code_sent_to_it_is_entered(actors, app):
    identifier, _, _ = _logged_in(actors)
    old = _stored(app, identifier)
    to_old = len([m for m in actors.outbox() if m["to"] == old["phone"]])
    page = actors.browser.get("/account/phone")
    assert page.status_code == 200 and '<label for="phone">' in page.get_data(as_text=True)

    to_code = actors.post_form("/account/phone", {"phone": "06 98 76 54 32"}, page=page)
    assert _asks_code(to_code)
    code_page = actors.browser.get(to_code.headers["Location"])
    assert code_page.status_code == 200 and "+336••••••32" in page_text(code_page)
    right = actors.last_code(to=NEW_PHONE)
    assert len([m for m in actors.outbox() if m["to"] == old["phone"]]) == to_old  # nothing to the old one

    wrong = "000000" if right != "000000" else "111111"
    refused = actors.post_form(to_code.headers["Location"], {"code": wrong}, page=code_page)
    assert refused.status_code == 401 and "Code incorrect" in page_text(refused)
    assert _stored(app, identifier)["phone"] == old["phone"]
    actors.run_jobs()
    assert not [m for m in _emails(actors) if "téléphone" in m["subject"]]  # no change, no notice

    done = actors.finish_login(actors.post_form(to_code.headers["Location"], {"code": right}, page=code_page))
    assert done.status_code == 200
    assert "a été changé" in page_text(done) and "+336••••••32" in page_text(done)
    assert _stored(app, identifier)["phone"] == NEW_PHONE

    actors.run_jobs()
    notices = _emails(actors, to=old["email"])
    assert any("téléphone de votre compte a changé" in m["subject"] for m in notices)


def test_a_refused_number_says_why_and_keeps_what_was_typed(actors, app):
    taken = "+33612345678"
    actors.account(phone=taken, first_name="Bruno", last_name="Martin", email="bruno.martin@ville.example")
    identifier, _, _ = _logged_in(actors)
    phone = _stored(app, identifier)["phone"]
    cases = {
        "+44 7400 123456": "Les codes ne sont envoyés qu'aux numéros de France",  # a foreign number
        "06 12 34 56 78": "déjà utilisé par un autre compte",  # another agent's
        "12": "n'est pas valide",
        phone: "déjà celui de votre compte",
        "": "Saisissez votre nouveau numéro",
    }
    for typed, message in cases.items():
        response = actors.post_form("/account/phone", {"phone": typed})
        text = page_text(response)
        assert response.status_code == 400, typed
        assert re.search(r'role="alert"[^>]*>[^<]*' + re.escape(message), text), typed
        assert f'value="{typed}"' in text
    assert _stored(app, identifier)["phone"] == phone


def test_the_phone_page_speaks_english_on_request(actors):
    _logged_in(actors)
    page = page_text(actors.browser.get("/account/phone", headers={"Accept-Language": "en"}))
    assert "My authentication phone" in page and "New phone number" in page


# --- the email -------------------------------------------------------------------------------
def _ask_email_change(actors, new):
    response = actors.post_form("/account/email", {"email": new})
    assert response.status_code == 200, page_text(response)
    actors.run_jobs()
    (message,) = [m for m in _emails(actors, to=new) if "confirmez" in m["subject"]]
    link = re.search(r"http://localhost(/account/email/confirm\?token=\S+)", message["body"]).group(1)
    return link


def test_an_email_change_is_confirmed_by_a_link_sent_to_the_new_address(actors, app):
    identifier, _, _ = _logged_in(actors)
    old = _stored(app, identifier)["email"]
    new = "alice.durand@ville.example"
    link = _ask_email_change(actors, new)
    assert _stored(app, identifier)["email"] == old  # nothing changes before the link
    assert not [m for m in _emails(actors, to=old) if "adresse" in m["subject"]]

    done = actors.browser.get(link)
    assert done.status_code == 200 and new in page_text(done)
    assert _stored(app, identifier)["email"] == new
    actors.run_jobs()
    (notice,) = [m for m in _emails(actors, to=old) if "adresse de votre compte a changé" in m["subject"]]
    assert new in notice["body"]

    # The link works once.
    again = actors.browser.get(link)
    assert again.status_code == 400 and "a déjà servi" in page_text(again)


def test_the_email_link_needs_the_right_account_and_a_whole_token(actors, app):
    identifier, client_id, secret = _logged_in(actors)
    old = _stored(app, identifier)["email"]
    link = _ask_email_change(actors, "alice.durand@ville.example")

    fresh = app.test_client()  # a browser without a session logs in first, then comes back
    start = fresh.get(link)
    assert start.status_code == 302 and start.headers["Location"].startswith("/authorize?")

    other_id = actors.account(first_name="Bruno", last_name="Martin", email="bruno.martin@ville.example")
    other = Actors(app, app.test_client())  # another browser, another account
    other.tokens_for(client_id, secret, other_id)
    refused = other.browser.get(link)
    assert refused.status_code == 403 and "un autre compte" in page_text(refused)
    assert actors.browser.get(link[:-3]).status_code == 400  # a token cut short
    assert _stored(app, identifier)["email"] == old


def test_a_generic_or_invalid_address_is_refused(actors, app):
    identifier, _, _ = _logged_in(actors)
    for typed, message in {"accueil@ville.example": "désigne un service", "pas une adresse": "pas valide"}.items():
        response = actors.post_form("/account/email", {"email": typed})
        assert response.status_code == 400 and message in page_text(response), typed
        assert f'value="{typed}"' in page_text(response)
    actors.run_jobs()
    assert not [m for m in _emails(actors) if "confirmez" in m["subject"]]


# --- the password ----------------------------------------------------------------------------
def test_a_password_change_needs_the_current_one_and_follows_the_rule(actors, app):
    identifier, client_id, secret = _logged_in(actors)
    page = actors.browser.get("/account/password")
    html = page.get_data(as_text=True)
    assert 'autocomplete="current-password"' in html and html.count('autocomplete="new-password"') == 2
    for field in ("current_password", "new_password", "new_password_again"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html

    wrong = actors.post_form("/account/password", {"current_password": "not it", "new_password": NEW_PASSWORD,
                                                   "new_password_again": NEW_PASSWORD})
    assert wrong.status_code == 400 and "mot de passe actuel est incorrect" in page_text(wrong)
    short = actors.post_form("/account/password", {"current_password": PASSWORD, "new_password": "court",
                                                   "new_password_again": "court"})
    assert short.status_code == 400 and "au moins 12 caractères" in page_text(short)
    differ = actors.post_form("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                    "new_password_again": NEW_PASSWORD + "!"})
    assert differ.status_code == 400 and "pas identiques" in page_text(differ)

    done = actors.post_form("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                                  "new_password_again": NEW_PASSWORD})
    assert done.status_code == 200 and "a été changé" in page_text(done)
    assert actors.browser.get("/account").status_code == 200  # the session stays
    actors.run_jobs()
    email = _stored(app, identifier)["email"]
    assert any("mot de passe a changé" in m["subject"] for m in _emails(actors, to=email))

    # Another browser logs in with the new password, not the old one.
    other = Actors(app, app.test_client())
    to_login = other.authorize(client_id, pkce_pair()[1])
    assert other.submit_login(to_login, identifier, PASSWORD).status_code == 401
    code, verifier = other.login_and_get_code(client_id, identifier, password=NEW_PASSWORD)
    assert other.exchange(client_id, secret, code, verifier).status_code == 200


def test_guessing_the_current_password_locks_the_account(actors, app):
    identifier, _, _ = _logged_in(actors)
    wrong = {"current_password": "a guess", "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    answers = [actors.post_form("/account/password", wrong).status_code for _ in range(5)]
    assert answers == [400, 400, 400, 400, 403]
    with app.app_context():
        assert db.session.execute(db.select(Account.status).filter_by(identifier=identifier)).scalar_one() == "locked"
    # The session no longer opens the console: a login first, which the lock stops.
    assert actors.browser.get("/account/password").headers["Location"].startswith("/authorize?")


def test_a_form_without_its_csrf_token_is_refused(actors, app):
    identifier, _, _ = _logged_in(actors)
    for path, data in (("/account/phone", {"phone": NEW_PHONE}), ("/account/email", {"email": "a.b@ville.example"}),
                       ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "new_password_again": NEW_PASSWORD})):
        assert actors.browser.post(path, data=data).status_code == 400, path
    assert _stored(app, identifier)["phone"] != NEW_PHONE


# --- Mon historique ----------------------------------------------------------------------------
def test_the_history_shows_logins_codes_and_the_phone_change_paged(actors, app):
    identifier, client_id, _ = _logged_in(actors)
    # A failed login through the relying party.
    other = Actors(app, app.test_client())
    to_login = other.authorize(client_id, pkce_pair()[1])
    assert other.submit_login(to_login, identifier, "not the password").status_code == 401
    # The phone change.
    to_code = actors.post_form("/account/phone", {"phone": NEW_PHONE})
    assert actors.finish_login(to_code, code=None).status_code == 200

    page = actors.browser.get("/account/history")
    text = page_text(page)
    assert page.status_code == 200 and "Mon historique" in text
    for shown in ("Connexion", "Mot de passe + code par SMS", "Code envoyé", "Échec de connexion",
                  "mot de passe incorrect", "Test RP", "Téléphone d'authentification enregistré",
                  "Poste de confiance ajouté", "127.0.0.1"):
        assert shown in text, shown
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", text)
    assert "authorize.code_issued" not in text and "Plus anciens" not in text

    # More than a page: 25 newer events, 20 a page.
    with app.app_context():
        account_id = _stored(app, identifier)["id"]
        for number in range(25):
            audit.record("device.revoked", account_id=account_id, device=number)
        audit.record("account.updated", account_id=account_id, actor="ADM000001", fields=["email", "services"])
        audit.record("some.future_event", account_id=account_id)
        db.session.commit()
    first = page_text(actors.browser.get("/account/history"))
    assert first.count("<tr>") == 21  # the header and 20 rows
    assert "some.future_event" in first  # an event without a label shows its code
    assert "Compte modifié (Courriel professionnel, droits aux services)" in first and "par ADM000001" in first
    older = re.search(r'href="([^"]+)" rel="next">Plus anciens', first).group(1)
    assert urlsplit(older).query == "page=2"
    second = page_text(actors.browser.get(older))
    assert "Plus récents" in second and "Plus anciens" not in second
    assert "Téléphone d'authentification enregistré" in second and "Connexion" in second
    assert 1 < second.count("<tr>") <= 21
    assert "Aucun événement" in page_text(actors.browser.get("/account/history?page=99"))
    assert actors.browser.get("/account/history?page=-3").status_code == 200
    english = page_text(actors.browser.get("/account/history?page=2", headers={"Accept-Language": "en"}))
    assert "My history" in english and "Login" in english
