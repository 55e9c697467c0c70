"""The hosted login and the single sign-on session: prompt, max_age, cookies, failures,
languages and authentication levels."""

from datetime import timedelta

import pytest

from idp.clock import travel
from idp.extensions import db
from idp.models import Account, AuditEvent, LoginSession, RateLimitHit
from tests.helpers import PASSWORD, form_field, page_text, pkce_pair, query_of


@pytest.fixture
def rp(actors):
    return actors.client()


def test_prompt_login_and_max_age_force_a_new_login_with_a_new_auth_time(actors, rp):
    identifier = actors.account()
    client_id, secret = rp
    first = actors.id_token_claims(actors.tokens_for(client_id, secret, identifier)["id_token"])

    with travel(timedelta(seconds=120)):
        _, challenge = pkce_pair()
        # A recent enough session satisfies max_age without a login page ...
        assert "code=" in actors.at(actors.authorize(client_id, challenge, max_age="3600"))
        # ... an older one does not, and neither does prompt=login.
        for params in ({"prompt": "login"}, {"max_age": "60"}):
            response = actors.authorize(client_id, challenge, **params)
            assert actors.at(response).startswith("/login?flow=")
        claims = actors.id_token_claims(
            actors.tokens_for(client_id, secret, identifier, prompt="login")["id_token"])
    assert claims["auth_time"] >= first["auth_time"] + 120
    assert claims["sid"] != first["sid"]


def test_prompt_none_with_max_age_exceeded_gives_login_required(actors, rp):
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    with travel(timedelta(seconds=600)):
        _, challenge = pkce_pair()
        response = actors.authorize(rp[0], challenge, prompt="none", max_age="60")
    assert query_of(response.headers["Location"])["error"] == "login_required"


def test_session_cookie_is_host_prefixed_secure_httponly_lax_and_rotated(actors, app, rp):
    identifier = actors.account()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    actors.finish_login(actors.submit_login(login_url, identifier))
    cookie = actors.browser.get_cookie("__Host-idp-session")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    assert cookie.path == "/" and cookie.domain == "localhost" and cookie.origin_only is not False
    first_value = cookie.value

    # The second login skips the code (trusted device) and still rotates the session id.
    login_url = actors.at(actors.authorize(rp[0], challenge, prompt="login"))
    submitted = actors.submit_login(login_url, identifier)
    assert submitted.headers["Location"].startswith("/authorize/resume")  # no step left: the session opens there
    second = actors.browser.get(submitted.headers["Location"])
    header = [h for h in second.headers.getlist("Set-Cookie") if h.startswith("__Host-idp-session=")][0]
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in header
    assert "Domain" not in header
    second_value = actors.browser.get_cookie("__Host-idp-session").value
    assert second_value != first_value
    with app.app_context():
        sessions = db.session.execute(db.select(LoginSession).order_by(LoginSession.id)).scalars().all()
        assert len(sessions) == 2
        assert sessions[0].ended_at is not None and sessions[1].ended_at is None
        # Only digests are stored, never the cookie value.
        assert all(s.digest not in (first_value, second_value) for s in sessions)


def test_failed_logins_get_one_generic_message_and_are_counted(actors, app, rp):
    identifier = actors.account()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))

    wrong_password = actors.submit_login(login_url, identifier, "wrong password!")
    unknown = actors.submit_login(login_url, "ZZZ999999", PASSWORD)
    assert wrong_password.status_code == unknown.status_code == 401
    message = "Identifiant ou mot de passe incorrect."
    assert message in page_text(wrong_password) and message in page_text(unknown)
    assert "Set-Cookie" not in {k for k, v in wrong_password.headers if v.startswith("__Host-idp-session")}

    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        assert account.failed_logins == 1
        events = db.session.execute(
            db.select(AuditEvent.event).where(AuditEvent.event == "login.failure")
        ).scalars().all()
        assert len(events) == 2

    ok = actors.finish_login(actors.submit_login(login_url, identifier.lower()))
    assert "code=" in ok.headers["Location"]
    with app.app_context():
        assert db.session.execute(db.select(Account.failed_logins)).scalar_one() == 0


def test_an_expired_account_gets_the_generic_message(actors, app, rp):
    identifier = actors.account()
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        account.status = "expired"
        db.session.commit()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    response = actors.submit_login(login_url, identifier)
    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in page_text(response)


def test_login_form_needs_its_csrf_token(actors, rp):
    identifier = actors.account()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    html = actors.browser.get(login_url).get_data(as_text=True)
    response = actors.browser.post("/login", data={
        "flow": form_field(html, "flow"), "identifier": identifier, "password": PASSWORD,
        "csrf_token": "forged",
    })
    assert response.status_code == 400
    assert "__Host-idp-session" not in str(response.headers)


def test_a_flow_cannot_be_finished_by_another_browser(actors, app, rp):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    other = app.test_client()
    assert other.get(login_url).status_code == 400


def test_login_hint_prefills_the_identifier(actors, rp):
    _, challenge = pkce_pair()
    start = actors.authorize(rp[0], challenge, login_hint="JDA000001")
    assert 'value="JDA000001"' in start.get_data(as_text=True)  # /authorize's own page
    html = actors.browser.get(actors.at(start)).get_data(as_text=True)  # and /login's, for the flow
    assert 'value="JDA000001"' in html


@pytest.mark.parametrize(
    "params, headers",
    [({"ui_locales": "en-GB fr"}, {}), ({}, {"Accept-Language": "en-US,en;q=0.9"})],
)
def test_pages_speak_english_on_request(actors, rp, params, headers):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge, **params))
    page = actors.browser.get(login_url, headers=headers)
    text = page_text(page)
    assert 'lang="en"' in text and "Log in" in text and "Identifier" in text


def test_security_headers_on_pages(actors, rp):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    page = actors.browser.get(login_url)
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "form-action 'self' https://rp.example.test" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"


def _single_factor_session(actors, identifier):
    """First login (code), then a login on the now trusted browser: single-factor."""
    plain_id, plain_secret = actors.client()
    actors.tokens_for(plain_id, plain_secret, identifier)
    tokens = actors.tokens_for(plain_id, plain_secret, identifier, prompt="login")
    assert actors.id_token_claims(tokens["id_token"])["amr"] == ["pwd"]


def test_client_registered_minimum_acr_steps_up_with_a_code(actors):
    identifier = actors.account()
    _single_factor_session(actors, identifier)
    client_id, secret = actors.client(default_acr="urn:peps:acr:mfa")
    _, challenge = pkce_pair()
    # A single-factor session never reaches this client silently ...
    quiet = query_of(actors.at(actors.authorize(client_id, challenge, prompt="none")))
    assert quiet["error"] == "interaction_required"
    # ... it gets the code page, then the higher level.
    sent_before = len(actors.outbox())
    tokens = actors.tokens_for(client_id, secret, identifier)
    assert len(actors.outbox()) == sent_before + 1
    claims = actors.id_token_claims(tokens["id_token"])
    assert claims["acr"] == "urn:peps:acr:mfa"
    assert claims["amr"] == ["pwd", "otp", "sms", "mfa"]
    # The code then holds for the rest of the session.
    again = actors.tokens_for(client_id, secret, identifier, prompt="none")
    assert actors.id_token_claims(again["id_token"])["acr"] == "urn:peps:acr:mfa"
    assert len(actors.outbox()) == sent_before + 1


def test_acr_values_and_essential_acr_claims(actors):
    identifier = actors.account()
    _single_factor_session(actors, identifier)
    client_id, secret = actors.client()
    tokens = actors.tokens_for(client_id, secret, identifier, acr_values="urn:peps:acr:pwd")
    assert actors.id_token_claims(tokens["id_token"])["acr"] == "urn:peps:acr:pwd"
    _, challenge = pkce_pair()
    essential = '{"id_token": {"acr": {"essential": true, "values": ["urn:peps:acr:mfa"]}}}'
    query = query_of(actors.at(actors.authorize(client_id, challenge, claims=essential, prompt="none")))
    assert query["error"] == "interaction_required"
    unknown = '{"id_token": {"acr": {"essential": true, "value": "urn:other:loa:4"}}}'
    query = query_of(actors.at(actors.authorize(client_id, challenge, claims=unknown)))
    assert query["error"] == "unmet_authentication_requirements"
    stepped = actors.tokens_for(client_id, secret, identifier, acr_values="urn:peps:acr:mfa")
    assert actors.id_token_claims(stepped["id_token"])["acr"] == "urn:peps:acr:mfa"


def test_replaying_a_finished_login_opens_no_second_session(actors, app, rp):
    identifier = actors.account()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    done = actors.submit_login(login_url, identifier)
    while not done.headers["Location"].startswith("/authorize/resume"):
        done = _one_step(actors, done)
    again = actors.browser.get(login_url)
    assert again.headers["Location"] == done.headers["Location"]
    final = actors.follow(again)
    assert "code=" in final.headers["Location"]
    # The flow is spent once the code is issued.
    assert actors.browser.get(login_url).status_code == 400
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(LoginSession.id))).scalar_one() == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # two writers at once
def test_two_requests_finishing_one_login_at_once_open_one_session(actors, app, rp):
    """A reload of /authorize/resume while it answers: both requests reach the end; one
    opens the session and answers with a code, the other finds the flow finished."""
    import threading
    import time

    from sqlalchemy import text

    identifier = actors.account()
    _, challenge = pkce_pair()
    done = actors.submit_login(actors.at(actors.authorize(rp[0], challenge)), identifier)
    while not done.headers["Location"].startswith("/authorize/resume"):
        done = _one_step(actors, done)
    resume_url = done.headers["Location"]
    cookies = "; ".join(f"{cookie.key}={cookie.value}" for cookie in actors.browser._cookies.values())
    answers = []

    def reload():
        answers.append(app.test_client(use_cookies=False).get(resume_url, headers={"Cookie": cookies}))

    with app.app_context(), db.engine.connect() as holder:  # another connection holds the flow's row
        holder.execute(text("SELECT id FROM login_flows WHERE flow_id = :f FOR UPDATE"),
                       {"f": query_of(resume_url)["flow"]})
        threads = [threading.Thread(target=reload) for _ in range(2)]
        for thread in threads:
            thread.start()
        waiting = 0
        for _ in range(200):  # until both wait, on that row or behind each other (bounded: 20 s)
            holder.execute(text("SELECT pg_stat_clear_snapshot()"))  # else the transaction's first view stays
            waiting = holder.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar_one()
            if waiting == 2 or len(answers) == 2:
                break
            time.sleep(0.1)
        holder.rollback()
        for thread in threads:
            thread.join()
    assert waiting == 2
    assert sorted(answer.status_code for answer in answers) == [302, 400]
    assert "code=" in next(a for a in answers if a.status_code == 302).headers["Location"]
    with app.app_context():
        assert db.session.execute(db.select(db.func.count(LoginSession.id))).scalar_one() == 1


def _one_step(actors, response):
    location = response.headers["Location"]
    if location.startswith("/login/code"):
        page = actors.browser.get(location)
        return actors.post_form(location, {"code": actors.last_code()}, page=page)
    return actors.post_form(location, {})


def test_too_many_failures_from_one_address_are_refused_for_a_while(actors, app, rp):
    actors.edit_policy("    count: 300\n", "    count: 3\n")
    identifier = actors.account()
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    for name in ("AAA000001", "BBB000002", "CCC000003"):  # spraying over unknown identifiers
        assert actors.submit_login(login_url, name, "some password").status_code == 401
    blocked = actors.submit_login(login_url, identifier, PASSWORD)
    assert blocked.status_code == 429 and "Trop de tentatives" in page_text(blocked)
    assert 14 * 60 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        assert account.failed_logins == 0 and account.status == "active"  # the account is untouched
        for hit in db.session.execute(db.select(RateLimitHit)).scalars():  # the window passes
            hit.at -= timedelta(minutes=16)
        db.session.commit()
    assert actors.submit_login(login_url, identifier, PASSWORD).status_code == 302


def test_a_password_hashed_at_an_earlier_cost_is_rehashed_at_the_next_login(actors, app, rp):
    from argon2 import PasswordHasher

    from idp.passwords import verify_password

    identifier = actors.account()
    with app.app_context():
        account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
        account.password_hash = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(PASSWORD)
        db.session.commit()

    actors.tokens_for(rp[0], rp[1], identifier)

    with app.app_context():
        stored = db.session.execute(db.select(Account.password_hash).filter_by(identifier=identifier)).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert verify_password(stored, PASSWORD)


def test_the_login_page_names_the_application_even_after_a_failed_attempt(actors, rp):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    assert "Connexion à Test RP" in page_text(actors.browser.get(login_url))
    failed = actors.submit_login(login_url, "ZZZ999999", "not the password")
    assert failed.status_code == 401 and "Connexion à Test RP" in page_text(failed)
    english = actors.authorize(rp[0], challenge, ui_locales="en")
    assert "Log in to Test RP" in page_text(english)
    assert "Log in to Test RP" in page_text(actors.browser.get(actors.at(english)))


def test_the_code_issued_after_a_new_login_is_audited_under_its_account(actors, app, rp):
    identifier = actors.account()
    actors.tokens_for(rp[0], rp[1], identifier)
    with app.app_context():
        account_id = db.session.execute(db.select(Account.id).filter_by(identifier=identifier)).scalar_one()
        issued = db.session.execute(db.select(AuditEvent).filter_by(event="authorize.code_issued")).scalar_one()
    assert issued.account_id == account_id
