"""Gestion des comptes (issue 7): an establishment's administrators manage its accounts on
the web, their own establishment's only, with a code once per session before creating an
account or changing contact details, and the directory's rules shown on the forms."""

import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from idp.extensions import db
from idp.models import Account, AuditEvent, PasswordReset, TrustedDevice
from tests.helpers import PASSWORD, form_field, page_text, pkce_pair, query_of

NEW_PASSWORD = "a brand new passphrase"


# --- helpers -------------------------------------------------------------------------------

def _get(identifier) -> Account:
    return db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one_or_none()


def _events(name, identifier=None):
    query = db.select(AuditEvent).filter_by(event=name).order_by(AuditEvent.id)
    if identifier is not None:
        query = query.where(AuditEvent.account_id == _get(identifier).id)
    return db.session.execute(query).scalars().all()


def _console_login(actors, path="/admin/accounts"):
    """A console page without a session: the console's own login (the first login asks a
    code: the session is multi-factor), then back to the page."""
    start = actors.browser.get(path)
    assert start.status_code == 302 and start.headers["Location"].startswith("/authorize?")
    to_login = actors.browser.get(start.headers["Location"])
    return to_login


def _signed_in(actors, identifier, path="/admin/accounts"):
    to_login = _console_login(actors, path)
    response = actors.finish_login(actors.submit_login(to_login, identifier))
    assert response.headers["Location"].startswith("http://localhost/account/callback?")
    back = actors.browser.get(response.headers["Location"])
    assert back.status_code == 302 and back.headers["Location"] == path
    return actors.browser.get(path)


def _single_factor_session(actors, identifier):
    """A first login (code), then one on the now trusted workstation: no code, single factor."""
    client_id, secret = actors.client()
    actors.tokens_for(client_id, secret, identifier)
    tokens = actors.tokens_for(client_id, secret, identifier, prompt="login")
    assert actors.id_token_claims(tokens["id_token"])["amr"] == ["pwd"]


def _post(actors, page, action, data):
    """Submit the page's form whose action is ``action``, hidden fields included."""
    html = page.get_data(as_text=True)
    actions = re.findall(r'<form method="post" action="([^"]+)"', html)
    assert action in actions, (action, actions)
    return actors.post_form(None, data, form_index=actions.index(action), page=page)


def _csrf(page) -> str:
    return form_field(page.get_data(as_text=True), "csrf_token")


def _sms_count(actors) -> int:
    return len([m for m in actors.outbox() if m["channel"] in ("sms", "voice")])


def _emails(actors):
    actors.run_jobs()
    return [m for m in actors.outbox() if m["channel"] == "email"]


@contextmanager
def other_browser(actors, app):
    """Another person's browser, for a while."""
    mine = actors.browser
    actors.browser = app.test_client()
    try:
        yield actors.browser
    finally:
        actors.browser = mine


NEW_ACCOUNT = {"civility": "Mme", "last_name": "Lefèvre", "first_name": "Denise",
               "email": "denise.lefevre@ville.example", "phone": "", "landline": "", "function": "Paie",
               "profile": "user", "valid_until": "", "services": ["pensions"]}


@pytest.fixture
def town(actors):
    """An establishment with two administrators and a user."""
    siret = actors.establishment()
    first = actors.account(siret, profile="administrator", email="anne.martin@ville.example", first_name="Anne",
                           last_name="Martin")
    second = actors.account(siret, profile="administrator", email="bruno.petit@ville.example", first_name="Bruno",
                            last_name="Petit")
    user = actors.account(siret, email="camille.roux@ville.example", first_name="Camille", last_name="Roux")
    return siret, first, second, user


# --- who may see what -----------------------------------------------------------------------

def test_without_a_session_the_pages_log_in_first_and_a_user_gets_403(actors, town):
    *_, user = town
    for path in ("/admin/accounts", "/admin/accounts/new", f"/admin/accounts/{user}"):
        response = actors.browser.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/authorize?")
    assert actors.browser.post(f"/admin/accounts/{user}/unlock").status_code == 401
    page = _signed_in(actors, user)
    assert page.status_code == 403
    assert "réservées aux administrateurs" in page_text(page)
    assert actors.browser.get(f"/admin/accounts/{user}").status_code == 403
    assert actors.browser.get("/admin/accounts/new").status_code == 403


def test_another_establishments_account_is_a_404(actors, app, town):
    _, first, _, _ = town
    elsewhere = actors.establishment()
    stranger = actors.account(elsewhere, email="eve.blanc@ailleurs.example", first_name="Eve", last_name="Blanc")
    page = _signed_in(actors, first)
    assert stranger not in page_text(page)
    assert stranger not in page_text(actors.browser.get("/admin/accounts", query_string={"q": "Blanc"}))
    token = _csrf(actors.browser.get(f"/admin/accounts/{first}"))
    for path in (f"/admin/accounts/{stranger}", f"/admin/accounts/{stranger}/contact",
                 f"/admin/accounts/{stranger}/delete", "/admin/accounts/ZZZ999999"):
        assert actors.browser.get(path).status_code == 404, path
    details = {"last_name": "X", "first_name": "Y", "profile": "user"}
    for path, data in ((f"/admin/accounts/{stranger}/details", details),
                       (f"/admin/accounts/{stranger}/contact", {"email": "x.y@ailleurs.example"}),
                       (f"/admin/accounts/{stranger}/renew", {"valid_until": "2099-01-01"}),
                       (f"/admin/accounts/{stranger}/unlock", {}),
                       (f"/admin/accounts/{stranger}/workstations/revoke", {}),
                       (f"/admin/accounts/{stranger}/delete", {})):
        response = actors.browser.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 404, path
    with app.app_context():
        account = _get(stranger)
        assert account is not None and account.last_name == "Blanc" and account.valid_until is None


def test_a_form_without_its_csrf_token_is_refused(actors, app, town):
    _, first, _, user = town
    _signed_in(actors, first)
    assert actors.browser.post(f"/admin/accounts/{user}/delete").status_code == 400
    with app.app_context():
        assert _get(user) is not None


# --- the list ---------------------------------------------------------------------------------

def test_the_list_searches_and_filters(actors, app, town):
    siret, first, second, user = town
    locked = actors.account(siret, email="luc.morel@ville.example", first_name="Luc", last_name="Morel")
    expired = actors.account(siret, email="eric.faure@ville.example", first_name="Eric", last_name="Faure")
    phoneless = actors.account(siret, email="paul.garnier@ville.example", first_name="Paul", last_name="Garnier",
                               phone=None)
    with app.app_context():
        _get(locked).status = "locked"
        _get(expired).valid_until = date.today() - timedelta(days=1)  # the directory refuses a past date
        db.session.commit()
    page = _signed_in(actors, first)
    text = page_text(page)
    assert all(i in text for i in (first, second, user, locked, expired, phoneless))
    assert "Attention" not in text  # two administrators: the policy's minimum

    def shown(**query):
        response = actors.browser.get("/admin/accounts", query_string=query)
        assert response.status_code == 200
        text = page_text(response)
        return {i for i in (first, second, user, locked, expired, phoneless) if i in text}

    assert shown(q="morel") == {locked}
    assert shown(q=user.lower()) == {user}
    assert shown(q="paul.garnier@") == {phoneless}
    assert shown(q="Camille Roux") == {user}
    assert shown(q="%") == set()  # a wildcard is a character like any other
    assert shown(filter="locked") == {locked}
    assert shown(filter="expired") == {expired}
    assert shown(filter="no_phone") == {phoneless}
    assert shown(filter="locked", q="faure") == set()
    assert "Aucun compte ne correspond" in page_text(actors.browser.get("/admin/accounts", query_string={"q": "zz"}))
    english = actors.browser.get("/admin/accounts", headers={"Accept-Language": "en"})
    assert "Account management" in page_text(english) and "Expired" in page_text(english)


def test_an_establishment_below_the_minimum_sees_a_warning(actors):
    siret = actors.establishment()
    alone = actors.account(siret, profile="administrator", email="sylvie.lenoir@ville.example", first_name="Sylvie")
    text = page_text(_signed_in(actors, alone))
    assert re.search(r'role="alert">Attention : votre établissement n\'a que 1 administrateur', text)
    assert "au moins 2" in text


# --- creating an account ------------------------------------------------------------------------

def test_creating_an_account_asks_a_code_once_per_session(actors, app, town):
    _, first, _, _ = town
    # A session from a trusted workstation: no code at login, so one is asked now.
    _single_factor_session(actors, first)
    sent = _sms_count(actors)
    step_up = actors.browser.get("/admin/accounts/new")
    assert step_up.status_code == 302 and step_up.headers["Location"].startswith("/login/code?flow=")
    form = actors.finish_login(step_up)
    assert form.status_code == 200 and "Créer un compte" in page_text(form)
    assert _sms_count(actors) == sent + 1
    created = actors.post_form(None, NEW_ACCOUNT, page=form)
    assert created.status_code == 303
    identifier = created.headers["Location"].split("/admin/accounts/")[1].split("?")[0]
    assert identifier.startswith("DLE")
    page = actors.browser.get(created.headers["Location"])
    assert f"Le compte {identifier} a été créé" in page_text(page)
    with app.app_context():
        account = _get(identifier)
        assert account.password_hash is None and account.phone is None
        assert account.civility == "Mme" and account.function == "Paie" and account.service_codes == ["pensions"]
        assert account.establishment.siret == town[0]
        assert _events("account.created", identifier)[-1].detail["actor"] == first

    # The code holds for the session: a second creation asks none.
    again = actors.browser.get("/admin/accounts/new")
    assert again.status_code == 200
    second = actors.post_form(None, {**NEW_ACCOUNT, "first_name": "Gilles", "last_name": "Bonnet",
                                     "email": "gilles.bonnet@ville.example", "profile": "administrator",
                                     "landline": "05 56 00 00 00", "valid_until": "2099-12-31"}, page=again)
    assert second.status_code == 303
    assert _sms_count(actors) == sent + 1
    with app.app_context():
        account = _get(second.headers["Location"].split("/admin/accounts/")[1].split("?")[0])
        assert account.profile == "administrator" and account.landline == "+33556000000"
        assert account.valid_until == date(2099, 12, 31)
        created = _events("account.created", account.identifier)
        assert len(created) == 1 and created[0].detail["actor"] == first  # one entry, with its actor
    history = page_text(actors.browser.get(second.headers["Location"])).split('id="history"')[1]
    assert "Compte créé" in history and f"par {first}" in history


def test_a_post_without_a_code_in_the_session_creates_nothing(actors, app, town):
    _, first, _, _ = town
    _single_factor_session(actors, first)
    page = actors.browser.get(f"/admin/accounts/{first}")
    response = actors.browser.post("/admin/accounts/new", data={"csrf_token": _csrf(page), **NEW_ACCOUNT})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/code?flow=")
    with app.app_context():
        assert db.session.execute(db.select(Account).filter_by(last_name="Lefèvre")).scalar_one_or_none() is None


def test_the_new_user_chooses_a_password_from_the_welcome_email_then_logs_in(actors, app, town):
    _, first, _, _ = town
    form = _signed_in(actors, first, "/admin/accounts/new")  # the login's code holds for the session
    created = actors.post_form(None, NEW_ACCOUNT, page=form)
    identifier = created.headers["Location"].split("/admin/accounts/")[1].split("?")[0]
    welcome = [m for m in _emails(actors) if m["to"] == NEW_ACCOUNT["email"]]
    assert len(welcome) == 1 and "créé" in welcome[0]["subject"]
    assert identifier in welcome[0]["body"]
    link = re.search(r"http://localhost(/password/reset\?token=\S+)", welcome[0]["body"]).group(1)
    with app.app_context():
        reset = db.session.execute(db.select(PasswordReset)).scalar_one()
        assert reset.account_id == _get(identifier).id and reset.used_at is None
        assert timedelta(days=7) - timedelta(minutes=5) < reset.expires_at - reset.created_at <= timedelta(days=7)
        assert _events("account.welcome_sent", identifier)

    rp_id, rp_secret = actors.client()
    with other_browser(actors, app):
        page = actors.browser.get(link)
        assert page.status_code == 200
        done = actors.follow(actors.post_form(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD},
                                              page=page))
        assert done.status_code == 200 and "première connexion" in page_text(done)  # no phone: no code
        assert actors.browser.get(link).status_code == 400  # once
        # The first login asks the phone, then a code sent to it.
        response = actors.authorize(rp_id, pkce_pair()[1])
        response = actors.submit_login(response, identifier, NEW_PASSWORD)
        assert response.headers["Location"].startswith("/login/phone")
        response = actors.post_form(response.headers["Location"], {"phone": "06 12 99 88 77"})
        assert response.headers["Location"].startswith("/login/code")
        response = actors.finish_login(response)
        assert response.status_code == 302 and "code" in query_of(response.headers["Location"])
        assert actors.last_code(to="+33612998877")
    with app.app_context():
        account = _get(identifier)
        assert account.phone == "+33612998877" and account.code_verified_at is not None


def test_a_generic_account_is_refused_with_the_message_and_the_values_kept(actors, app, town):
    _, first, _, user = town
    form = _signed_in(actors, first, "/admin/accounts/new")
    refused = actors.post_form(None, {**NEW_ACCOUNT, "first_name": "Accueil", "last_name": "Mairie"}, page=form)
    assert refused.status_code == 400
    text = page_text(refused)
    assert re.search(r'role="alert">Compte générique refusé : « accueil »', text)
    assert 'value="Accueil"' in text and 'value="denise.lefevre@ville.example"' in text
    assert 'value="pensions" checked' in text
    assert _tied_to(text, "last_name")  # the summary links to the field that holds the message
    refused = actors.post_form(None, {**NEW_ACCOUNT, "email": "rh@ville.example"}, page=refused)
    assert refused.status_code == 400 and "« rh »" in page_text(refused)
    assert _tied_to(page_text(refused), "email") and not _tied_to(page_text(refused), "last_name")
    # Renaming an account to a generic name: refused on the account's page.
    page = actors.browser.get(f"/admin/accounts/{user}")
    renamed = _post(actors, page, f"/admin/accounts/{user}/details",
                    {"first_name": "Secrétariat", "last_name": "Roux", "profile": "user", "services": ["pensions"]})
    assert renamed.status_code == 400
    assert "Compte générique refusé : « secretariat »" in page_text(renamed)
    assert 'value="Secrétariat"' in page_text(renamed)
    with app.app_context():
        assert _get(user).first_name == "Camille"
        assert db.session.execute(db.select(Account).filter_by(last_name="Mairie")).scalar_one_or_none() is None


def test_a_shared_phone_is_refused(actors, app, town):
    _, first, second, user = town
    with app.app_context():
        taken = _get(user).phone
    form = _signed_in(actors, first, "/admin/accounts/new")
    refused = actors.post_form(None, {**NEW_ACCOUNT, "phone": taken}, page=form)
    assert refused.status_code == 400
    assert "déjà utilisé par un autre compte" in page_text(refused)
    assert _tied_to(page_text(refused), "phone")
    contact = actors.browser.get(f"/admin/accounts/{second}/contact")
    assert contact.status_code == 200  # the code of the login holds
    refused = actors.post_form(None, {"email": "anne.martin@ville.example", "phone": taken}, page=contact)
    assert refused.status_code == 400 and "déjà utilisé par un autre compte" in page_text(refused)
    assert f'value="{taken}"' in page_text(refused)
    refused = actors.post_form(None, {"email": "anne.martin@ville.example", "phone": "+44 20 7946 0000"},
                               page=contact)
    assert refused.status_code == 400 and "France" in page_text(refused)


def _tied_to(html: str, field: str) -> bool:
    """The form's summary links to ``field``, which says it is invalid and points at its message."""
    return (f'href="#{field}"' in html
            and re.search(rf'<input id="{field}"[^>]*aria-invalid="true"[^>]*aria-describedby="{field}-error', html)
            is not None and f'id="{field}-error"' in html)


# --- changing an account --------------------------------------------------------------------------

def test_changing_contact_details_asks_a_code_but_other_fields_do_not(actors, app, town):
    _, first, _, user = town
    _single_factor_session(actors, first)
    page = actors.browser.get(f"/admin/accounts/{user}")
    assert page.status_code == 200
    # Names, function, profile and rights: no code.
    changed = _post(actors, page, f"/admin/accounts/{user}/details",
                    {"civility": "M", "first_name": "Camille", "last_name": "Roux-Dupont", "function": "Paie",
                     "profile": "user", "services": []})
    assert changed.status_code == 303 and changed.headers["Location"].endswith("?done=updated")
    with app.app_context():
        account = _get(user)
        assert account.last_name == "Roux-Dupont" and account.function == "Paie" and account.service_codes == []
        assert _events("account.updated", user)[-1].detail["actor"] == first
    # Email and phone: a code first, once.
    sent = _sms_count(actors)
    step_up = actors.browser.get(f"/admin/accounts/{user}/contact")
    assert step_up.headers["Location"].startswith("/login/code?flow=")
    forbidden = actors.browser.post(f"/admin/accounts/{user}/contact",
                                    data={"csrf_token": _csrf(page), "email": "camille.roux@ailleurs.example"})
    assert forbidden.headers["Location"].startswith("/login/code?flow=")  # nothing applied without it
    contact = actors.finish_login(step_up)
    assert contact.status_code == 200 and _sms_count(actors) == sent + 1
    done = actors.post_form(None, {"email": "camille.roux@agglo.example", "phone": "07 98 76 54 32",
                                   "landline": "05 56 11 22 33"}, page=contact)
    assert done.status_code == 303 and done.headers["Location"].endswith("?done=contact")
    with app.app_context():
        account = _get(user)
        assert (account.email, account.phone, account.landline) == (
            "camille.roux@agglo.example", "+33798765432", "+33556112233")
        assert set(_events("account.updated", user)[-1].detail["fields"]) == {"email", "phone", "landline"}
    told = {m["to"] for m in _emails(actors)}
    assert {"camille.roux@ville.example", "camille.roux@agglo.example"} <= told  # the old address, the new phone
    assert actors.browser.get(f"/admin/accounts/{user}/contact").status_code == 200  # no second code
    assert _sms_count(actors) == sent + 1


def test_renewing_and_refusing_a_past_date(actors, app, town):
    _, first, _, user = town
    page = _signed_in(actors, first, f"/admin/accounts/{user}")
    past = _post(actors, page, f"/admin/accounts/{user}/renew",
                 {"valid_until": (date.today() - timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and "déjà passée" in page_text(past)
    wrong = _post(actors, page, f"/admin/accounts/{user}/renew", {"valid_until": "31/02/2030"})
    assert wrong.status_code == 400 and "date valide" in page_text(wrong)
    renewed = _post(actors, page, f"/admin/accounts/{user}/renew", {"valid_until": "31/12/2030"})
    assert renewed.status_code == 303
    with app.app_context():
        assert _get(user).valid_until == date(2030, 12, 31)
        assert _events("account.renewed", user)[-1].detail["actor"] == first


def test_the_last_two_administrators_can_be_neither_demoted_nor_deleted(actors, app, town):
    _, first, second, user = town
    page = _signed_in(actors, first, f"/admin/accounts/{second}")
    demote = _post(actors, page, f"/admin/accounts/{second}/details",
                   {"first_name": "Bruno", "last_name": "Petit", "profile": "user", "services": ["pensions"]})
    assert demote.status_code == 400
    assert re.search(r'role="alert">Refusé : l\'établissement n\'aurait plus que 1 administrateur', page_text(demote))
    assert 'href="#profile"' in page_text(demote)
    assert re.search(r'<select id="profile" name="profile" aria-invalid="true" aria-describedby="profile-error">',
                     page_text(demote))
    mine = actors.browser.get(f"/admin/accounts/{first}")
    myself = _post(actors, mine, f"/admin/accounts/{first}/details",
                   {"first_name": "Anne", "last_name": "Martin", "profile": "user", "services": ["pensions"]})
    assert myself.status_code == 400 and "au moins 2" in page_text(myself)
    for target in (second, first):
        confirm = actors.browser.get(f"/admin/accounts/{target}/delete")
        refused = actors.post_form(None, {}, page=confirm)
        assert refused.status_code == 400 and "au moins 2" in page_text(refused)
    with app.app_context():
        assert _get(first).profile == _get(second).profile == "administrator"

    # A third administrator first; then one may step down, themself included.
    page = actors.browser.get(f"/admin/accounts/{user}")
    promoted = _post(actors, page, f"/admin/accounts/{user}/details",
                     {"first_name": "Camille", "last_name": "Roux", "profile": "administrator",
                      "services": ["pensions"]})
    assert promoted.status_code == 303
    mine = actors.browser.get(f"/admin/accounts/{first}")
    stepped_down = _post(actors, mine, f"/admin/accounts/{first}/details",
                         {"first_name": "Anne", "last_name": "Martin", "profile": "user", "services": ["pensions"]})
    assert stepped_down.status_code == 303 and stepped_down.headers["Location"] == "/account"
    assert actors.browser.get("/admin/accounts").status_code == 403


def test_unlock_and_revoke_workstations(actors, app, town):
    _, first, _, user = town
    rp_id, rp_secret = actors.client()
    with other_browser(actors, app):
        actors.tokens_for(rp_id, rp_secret, user)  # the user's workstation is now trusted
        for _ in range(5):
            response = actors.submit_login(actors.at(actors.authorize(rp_id, pkce_pair()[1], prompt="login")),
                                           user, "not the password")
        assert response.status_code == 401
    with app.app_context():
        assert _get(user).status == "locked"
    page = _signed_in(actors, first, f"/admin/accounts/{user}")
    assert "Bloqué" in page_text(page)
    locked = actors.browser.get("/admin/accounts", query_string={"filter": "locked"})
    assert page_text(locked).count(f">{user}</a>") == 1
    unlocked = _post(actors, page, f"/admin/accounts/{user}/unlock", {})
    assert unlocked.status_code == 303
    assert "Le compte est débloqué" in page_text(actors.browser.get(unlocked.headers["Location"]))
    with app.app_context():
        account = _get(user)
        assert account.status == "active" and account.failed_logins == 0
        assert _events("account.unlocked", user)[-1].detail["actor"] == first

    page = actors.browser.get(f"/admin/accounts/{user}")
    assert "Postes de confiance (connexion sans code) : 1" in page_text(page)
    revoked = _post(actors, page, f"/admin/accounts/{user}/workstations/revoke", {})
    assert revoked.status_code == 303
    with app.app_context():
        account = _get(user)
        live = db.session.execute(db.select(TrustedDevice).filter_by(account_id=account.id, revoked_at=None))
        assert live.scalars().all() == []
        assert _events("device.revoked_all", user)[-1].detail["actor"] == first
    # The user can log in again, and is asked a code: the workstation is no longer trusted.
    with other_browser(actors, app):
        login = actors.at(actors.authorize(rp_id, pkce_pair()[1], prompt="login"))
        response = actors.submit_login(login, user, PASSWORD)
        assert response.headers["Location"].startswith("/login/code")


def test_delete_after_a_confirmation(actors, app, town):
    _, first, _, user = town
    page = _signed_in(actors, first, f"/admin/accounts/{user}")
    assert f'href="/admin/accounts/{user}/delete"' in page.get_data(as_text=True)
    confirm = actors.browser.get(f"/admin/accounts/{user}/delete")
    assert confirm.status_code == 200 and "Supprimer le compte" in page_text(confirm)
    with app.app_context():
        assert _get(user) is not None  # nothing yet
    deleted = actors.post_form(None, {}, page=confirm)
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/admin/accounts?done=deleted"
    listing = page_text(actors.browser.get(deleted.headers["Location"]))
    assert "Le compte a été supprimé" in listing and user not in listing
    with app.app_context():
        assert _get(user) is None
        event = _events("account.deleted")[-1]
        assert event.detail["identifier"] == user and event.detail["actor"] == first
    assert actors.browser.get(f"/admin/accounts/{user}").status_code == 404


def test_the_accounts_history_is_shown_newest_first_and_paged(actors, app, town):
    _, first, _, user = town
    with app.app_context():
        account_id = _get(user).id
        for number in range(25):
            db.session.add(AuditEvent(event="code.sent", account_id=account_id, detail={"channel": "sms", "n": number}))
        db.session.commit()
    page = _signed_in(actors, first, f"/admin/accounts/{user}")
    html = page.get_data(as_text=True)
    history = html.split('id="history"')[1]
    assert history.count("<tr>") == 21  # the header and 20 rows
    assert f"/admin/accounts/{user}?page=2" in history
    older = actors.browser.get(f"/admin/accounts/{user}", query_string={"page": "2"})
    rows = older.get_data(as_text=True).split('id="history"')[1].count("<tr>") - 1
    assert rows == 26 - 20  # 25 codes and the account's creation
    assert "page=1" in older.get_data(as_text=True)


def test_an_administrator_may_delete_their_own_account_when_enough_remain(actors, app, town):
    siret, first, _, _ = town
    actors.account(siret, profile="administrator", email="gaelle.simon@ville.example", first_name="Gaelle",
                   last_name="Simon")
    _signed_in(actors, first, f"/admin/accounts/{first}")
    deleted = actors.post_form(None, {}, page=actors.browser.get(f"/admin/accounts/{first}/delete"))
    assert deleted.status_code == 303 and deleted.headers["Location"] == "/account"
    assert actors.browser.get("/admin/accounts").headers["Location"].startswith("/authorize?")  # signed out
    with app.app_context():
        assert _get(first) is None


def test_the_pages_speak_english_on_request(actors, town):
    _, first, _, user = town
    _signed_in(actors, first, f"/admin/accounts/{user}")
    english = {"Accept-Language": "en"}
    expected = {f"/admin/accounts/{user}": "Identity, profile and rights", "/admin/accounts/new": "Create an account",
                f"/admin/accounts/{user}/contact": "Contact details of the account",
                f"/admin/accounts/{user}/delete": "Delete for good"}
    for path, words in expected.items():
        page = actors.browser.get(path, headers=english)
        assert page.status_code == 200 and words in page_text(page), path
        assert 'lang="en"' in page.get_data(as_text=True)
    refused = actors.post_form(None, {**NEW_ACCOUNT, "last_name": "Accueil"},
                               page=actors.browser.get("/admin/accounts/new", headers=english))
    assert refused.status_code == 400


def test_hostile_input_gets_an_answer_never_an_error(actors, town):
    _, first, _, user = town
    page = _signed_in(actors, first, f"/admin/accounts/{user}")
    for query in ({"q": "a\x00b"}, {"q": "x" * 5000}, {"filter": "'; drop"}, {"page": "-3"}, {"page": "9" * 30}):
        assert actors.browser.get("/admin/accounts", query_string=query).status_code == 200, query
    for path in ("/admin/accounts/%00", "/admin/accounts/" + "A" * 300, "/admin/accounts/%C3%A9t%C3%A9"):
        assert actors.browser.get(path).status_code == 404, path
    for data, said in (({"last_name": "Roux\x00", "first_name": "Camille", "profile": "user"}, "non autorisés"),
                       ({"last_name": "R" * 500, "first_name": "Camille", "profile": "user"}, "« Nom » est trop long"),
                       ({"last_name": " ", "first_name": "Camille", "profile": "user"}, "sont obligatoires"),
                       ({"last_name": "Roux", "first_name": "Camille", "profile": "root"}, "valeurs proposées"),
                       ({"last_name": "Roux", "first_name": "Camille", "profile": "user", "services": ["nope"]},
                        "Ce service n'existe pas"),
                       ({"last_name": "Roux", "first_name": "Camille", "profile": "user", "civility": "Dr"},
                        "valeurs proposées")):
        response = _post(actors, page, f"/admin/accounts/{user}/details", data)
        assert response.status_code == 400 and re.search(f'role="alert">[^<]*{said}', page_text(response)), data
    for value in ("2030-13-45", "demain", "\x00", "9" * 40):
        assert _post(actors, page, f"/admin/accounts/{user}/renew", {"valid_until": value}).status_code == 400
    contact = actors.browser.get(f"/admin/accounts/{user}/contact")
    for data, said in (({"email": "pas une adresse"}, "pas une adresse valide"),
                       ({"email": "camille.roux@ville.example", "landline": "12"}, "fixe n'est pas valide"),
                       ({"email": "camille.roux@ville.example", "phone": "12"}, "numéro de téléphone n'est pas valide"),
                       ({"email": "camille.roux@ville.example", "phone": "\x00"}, "non autorisés")):
        response = actors.post_form(None, data, page=contact)
        assert response.status_code == 400 and re.search(f'role="alert">[^<]*{said}', page_text(response)), data


def test_an_administrator_changes_their_own_contact_details_through_mon_compte(actors, app):
    from tests.functional.test_delegations import _console

    siret = actors.establishment()
    me = actors.account(siret, profile="administrator", email="anne.martin@a.example")
    actors.account(siret, profile="administrator", email="bruno.petit@a.example")
    _console(actors, "/admin/accounts", me)
    response = actors.browser.get(f"/admin/accounts/{me}/contact")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
