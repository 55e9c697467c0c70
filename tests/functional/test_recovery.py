"""Forgotten password and identifier: emailed links, a code before the change, no
account enumeration."""

import re

import pytest

from idp.extensions import db
from idp.models import Account, LoginSession, TrustedDevice
from tests.helpers import PASSWORD, page_text, pkce_pair

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def rp(actors):
    return actors.client()


def _emails(actors):
    actors.run_jobs()  # the worker sends what the pages queued
    return [m for m in actors.outbox() if m["channel"] == "email"]


def _ask_reset(actors, identifier, email):
    return actors.post_form("/password/forgot", {"identifier": identifier, "email": email})


def _link_path(message) -> str:
    return re.search(r"http://localhost(/password/reset\?token=\S+)", message["body"]).group(1)


def test_reset_answers_the_same_whether_or_not_the_account_exists(actors):
    identifier = actors.account(email="alice@mairie.example")
    answers = [
        _ask_reset(actors, identifier, "someone@else.example"),
        _ask_reset(actors, "ZZZ999999", "alice@mairie.example"),
        _ask_reset(actors, identifier, "Alice@Mairie.example"),
    ]
    texts = {page_text(a) for a in answers}
    assert len(texts) == 1 and all(a.status_code == 200 for a in answers)
    emails = _emails(actors)
    assert len(emails) == 1 and emails[0]["to"] == "alice@mairie.example"
    assert identifier in emails[0]["body"] and emails[0]["subject"]


def test_reset_with_a_code_unlocks_and_ends_devices_and_sessions(actors, app, rp):
    identifier = actors.account(email="alice@mairie.example")
    actors.tokens_for(rp[0], rp[1], identifier)  # a session and a trusted device
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        account.status, account.failed_logins = "locked", 5
        db.session.commit()

    _ask_reset(actors, identifier, "alice@mairie.example")
    link = _link_path(_emails(actors)[-1])
    form = actors.browser.get(link)
    assert form.get_data(as_text=True).count('autocomplete="new-password"') == 2
    short = actors.post_form(link, {"password": "short", "password_again": "short"}, page=form)
    assert short.status_code == 400 and "trop court" in page_text(short)
    response = actors.post_form(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, page=form)
    # The account has a phone: a code is needed before the password changes.
    assert response.headers["Location"].startswith("/login/code")
    from idp.models import LoginFlow, PasswordReset

    with app.app_context():
        flow = db.session.execute(db.select(LoginFlow)).scalars().all()[-1]
        assert NEW_PASSWORD not in repr(flow.params) + repr(flow.state)  # never stored in clear
        pending = db.session.execute(db.select(PasswordReset.new_password_hash)).scalar_one()
        assert pending.startswith("$argon2id$")
    code_page = actors.browser.get(response.headers["Location"])
    with app.app_context():
        assert db.session.execute(db.select(Account.status)).scalar_one() == "locked"
    done = actors.post_form(response.headers["Location"], {"code": actors.last_code()}, page=code_page)
    done = actors.follow(done)
    assert done.status_code == 200 and "Mot de passe modifié" in page_text(done)

    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        assert account.status == "active" and account.failed_logins == 0
        assert all(d.revoked_at for d in db.session.execute(db.select(TrustedDevice)).scalars())
        assert all(s.ended_at for s in db.session.execute(db.select(LoginSession)).scalars())

    # The link worked once; the old password no longer does; the new one does, with a code.
    assert actors.browser.get(link).status_code == 400
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    assert actors.submit_login(login_url, identifier, PASSWORD).status_code == 401
    response = actors.submit_login(login_url, identifier, NEW_PASSWORD)
    assert response.headers["Location"].startswith("/login/code")  # devices were revoked


def test_reset_without_a_phone_needs_no_code(actors, app):
    identifier = actors.account(email="nophone@mairie.example", phone=None)
    _ask_reset(actors, identifier, "nophone@mairie.example")
    link = _link_path(_emails(actors)[-1])
    done = actors.post_form(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    done = actors.follow(done)
    assert done.status_code == 200 and "Mot de passe modifié" in page_text(done)


def test_a_password_change_voids_every_outstanding_link(actors, app):
    identifier = actors.account(email="nophone@mairie.example", phone=None)
    _ask_reset(actors, identifier, "nophone@mairie.example")
    _ask_reset(actors, identifier, "nophone@mairie.example")
    older, newer = (_link_path(message) for message in _emails(actors)[-2:])
    assert older != newer and actors.browser.get(older).status_code == 200
    done = actors.follow(actors.post_form(newer, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}))
    assert "Mot de passe modifié" in page_text(done)
    stale = actors.browser.get(older)
    assert stale.status_code == 400 and "n'est pas valide" in page_text(stale)
    refused = actors.browser.post(older, data={"password": "yet another passphrase",
                                               "password_again": "yet another passphrase"})
    assert refused.status_code == 400
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        from idp.passwords import verify_password

        assert verify_password(account.password_hash, NEW_PASSWORD)


def test_an_expired_or_forged_link_is_refused(actors, app):
    identifier = actors.account(email="alice@mairie.example")
    _ask_reset(actors, identifier, "alice@mairie.example")
    link = _link_path(_emails(actors)[-1])
    assert actors.browser.get(link + "x").status_code == 400
    from idp.models import PasswordReset

    with app.app_context():
        reset = db.session.execute(db.select(PasswordReset)).scalar_one()
        reset.expires_at = reset.created_at
        db.session.commit()
    response = actors.browser.get(link)
    assert response.status_code == 400 and "n'est pas valide" in page_text(response)


def test_forgotten_identifier_by_email(actors):
    first = actors.account(email="shared@mairie.example")
    second = actors.account(email="shared@mairie.example", first_name="Bruno")
    known = actors.post_form("/identifier/forgot", {"email": "Shared@Mairie.example"})
    unknown = actors.post_form("/identifier/forgot", {"email": "nobody@mairie.example"})
    assert page_text(known) == page_text(unknown)
    emails = _emails(actors)
    assert len(emails) == 1
    assert first in emails[0]["body"] and second in emails[0]["body"]


def test_reset_emails_are_limited_per_address(actors):
    identifier = actors.account(email="alice@mairie.example")
    for _ in range(7):
        _ask_reset(actors, identifier, "alice@mairie.example")
    assert len(_emails(actors)) == 5


def test_recovery_pages_in_english(actors):
    page = actors.browser.get("/password/forgot", query_string={"ui_locales": "en"})
    assert "Reset your password" in page_text(page) and 'autocomplete="email"' in page.get_data(as_text=True)
