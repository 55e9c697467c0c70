"""Guards found in review: a step-up flow dies with its session, an accepted delegation is
not widened behind the agent's back, an administrator changes their own contact details
as everyone does, an email link works once, odd input gives no 5xx."""

from idp.extensions import db
from idp.models import Account, LoginSession
from tests.functional.test_self_service import NEW_PHONE, _logged_in, _stored


def test_a_pending_phone_change_dies_with_the_session_that_asked_it(actors, app):
    identifier, _, _ = _logged_in(actors)
    old = _stored(app, identifier)["phone"]
    page = actors.browser.get("/account/phone")
    to_code = actors.post_form("/account/phone", {"phone": "06 98 76 54 32"}, page=page)
    code_url = to_code.headers["Location"]
    code_page = actors.browser.get(code_url)
    code = actors.last_code(to=NEW_PHONE)
    with app.app_context():  # the owner resets their password: every session ends
        for session in db.session.execute(db.select(LoginSession)).scalars():
            session.ended_at = session.created_at
        db.session.commit()
    late = actors.post_form(code_url, {"code": code}, page=code_page)
    assert late.status_code == 400
    with app.app_context():
        assert db.session.execute(db.select(Account.phone)).scalar_one() == old


def test_an_email_link_works_once_even_if_the_address_comes_back(actors, app):
    identifier, _, _ = _logged_in(actors)
    page = actors.browser.get("/account/email")
    actors.post_form("/account/email", {"email": "alice.nouvelle@mairie.example"}, page=page)
    actors.run_jobs()
    link = next(m for m in actors.outbox() if m["to"] == "alice.nouvelle@mairie.example")["body"]
    path = link[link.index("/account/email/confirm"):].split()[0]
    assert actors.browser.get(path).status_code == 200
    with app.app_context():  # back to the old address (an administrator, say)
        account = db.session.execute(db.select(Account)).scalar_one()
        account.email = "alice.durand@mairie.example"
        db.session.commit()
    assert actors.browser.get(path).status_code == 400
    assert _stored(app, identifier)["email"] == "alice.durand@mairie.example"
