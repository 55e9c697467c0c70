"""The directory's rules, one place for the pages and the command line (issue 7):
the administrators' minimum, nominative accounts, and the security notices."""

from datetime import date, timedelta

import pytest

from idp.directory import AccountError, delete_account, establishments_below_minimum, update_account
from idp.extensions import db
from idp.models import Account
from tests.helpers import PASSWORD, page_text, pkce_pair


def _get(app, identifier) -> Account:
    return db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()


@pytest.fixture
def town(actors):
    """An establishment with two administrators and a user."""
    siret = actors.establishment()
    first = actors.account(siret, profile="administrator", email="anne.martin@mairie.example", first_name="Anne")
    second = actors.account(siret, profile="administrator", email="bruno.petit@mairie.example", first_name="Bruno")
    user = actors.account(siret, email="camille.roux@mairie.example", first_name="Camille")
    return siret, first, second, user


def test_no_demotion_or_deletion_goes_below_the_minimum(app, town):
    _, first, second, user = town
    with app.app_context():
        for act in (lambda: update_account(_get(app, first), actor="admin", profile="user"),
                    lambda: delete_account(_get(app, second), actor="admin"),
                    lambda: update_account(_get(app, first), actor="self", profile="user")):  # on themself too
            with pytest.raises(AccountError, match="at least 2"):
                act()
        db.session.rollback()
        update_account(_get(app, user), actor="admin", profile="administrator")  # a third one first
        update_account(_get(app, first), actor="admin", profile="user")          # then a demotion is fine
        with pytest.raises(AccountError, match="would have 1 administrator"):
            delete_account(_get(app, second), actor="admin")
        db.session.commit()
        assert establishments_below_minimum() == []


def test_establishments_below_the_minimum_are_found(actors, app):
    siret = actors.establishment()
    actors.account(siret, profile="administrator", email="seule@mairie.example")
    with app.app_context():
        below = establishments_below_minimum()
        assert [(e.siret, count) for e, count in below] == [(siret, 1)]


@pytest.mark.parametrize("fields, word", [
    ({"first_name": "Accueil", "last_name": "Mairie"}, "accueil"),
    ({"email": "rh@mairie.example"}, "rh"),
    ({"email": "secretariat.mairie@ville.example"}, "mairie"),
    ({"last_name": "Secrétariat"}, "secretariat"),
])
def test_generic_accounts_are_refused(actors, fields, word):
    with pytest.raises(AccountError, match=f"generic account.*'{word}'"):
        actors.account(**{"email": "x.y@mairie.example", **fields})


def test_a_rename_to_a_generic_name_is_refused_too(app, town):
    _, _, _, user = town
    with app.app_context(), pytest.raises(AccountError, match="generic account"):
        update_account(_get(app, user), actor="admin", email="contact@mairie.example")


def test_a_past_end_date_is_refused_and_a_renewal_is_audited(app, town):
    from idp.directory import renew_account

    _, _, _, user = town
    with app.app_context():
        with pytest.raises(AccountError, match="past"):
            renew_account(_get(app, user), date.today() - timedelta(days=1), actor="admin")
        renew_account(_get(app, user), date.today() + timedelta(days=365), actor="admin")
        db.session.commit()
        assert _get(app, user).valid_until == date.today() + timedelta(days=365)


def _notices(actors):
    actors.run_jobs()
    return [m for m in actors.outbox() if m["channel"] == "email"]


def test_phone_email_and_password_changes_are_told_to_the_owner(actors, app, town):
    _, _, _, user = town
    with app.app_context():
        account = _get(app, user)
        update_account(account, actor="admin", phone="06 55 44 33 22")
        update_account(account, actor="admin", email="camille.new@mairie.example")
        db.session.commit()
    notices = _notices(actors)
    phone_notice = next(m for m in notices if "téléphone" in m["subject"])
    assert phone_notice["to"] == "camille.roux@mairie.example"
    assert "+336" in phone_notice["body"] and "22" in phone_notice["body"]  # masked
    email_notice = next(m for m in notices if "adresse" in m["subject"])
    assert email_notice["to"] == "camille.roux@mairie.example"  # the old address is told
    assert "camille.new@mairie.example" in email_notice["body"]


def test_a_lock_and_a_new_trusted_workstation_are_told(actors, app):
    rp = actors.client()
    identifier = actors.account(email="dora.blanc@mairie.example")
    actors.tokens_for(rp[0], rp[1], identifier)  # first login: a code, this browser trusted
    notices = _notices(actors)
    assert any("nouveau poste de confiance" in m["subject"] for m in notices)
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge, prompt="login"))
    for _ in range(5):
        actors.submit_login(login_url, identifier, "wrong " + PASSWORD)
    locked = next(m for m in _notices(actors) if "bloqué" in m["subject"])
    assert locked["to"] == "dora.blanc@mairie.example" and "http://localhost/password/forgot" in locked["body"]


def test_the_new_workstation_notice_follows_its_policy_switch(actors):
    actors.edit_policy("new_trusted_workstation: true", "new_trusted_workstation: false")
    rp = actors.client()
    actors.tokens_for(rp[0], rp[1], actors.account(email="eve.noir@mairie.example"))
    assert not any("poste de confiance" in m["subject"] for m in _notices(actors))


def test_an_expired_account_cannot_log_in_until_renewed(actors, app):
    from idp.directory import renew_account

    rp = actors.client()
    identifier = actors.account(email="fanny.gris@mairie.example")
    with app.app_context():
        _get(app, identifier).valid_until = date.today() - timedelta(days=1)  # behind the rules' back
        db.session.commit()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    refused = actors.submit_login(login_url, identifier)
    assert refused.status_code == 403 and "expiré" in page_text(refused)
    wrong = actors.submit_login(login_url, identifier, "not the password")
    assert wrong.status_code == 401 and "expiré" not in page_text(wrong)  # nothing told without the password
    with app.app_context():
        renew_account(_get(app, identifier), date.today() + timedelta(days=30), actor="admin")
        db.session.commit()
    assert actors.submit_login(login_url, identifier).status_code == 302
