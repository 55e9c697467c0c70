"""The console reached without a session: the provider logs it in as its own relying party
(code flow, PKCE, state) and comes back to the page asked (issue 7)."""

from urllib.parse import parse_qs, urlsplit

from idp.extensions import db
from idp.models import AuthorizationCode
from tests.helpers import page_text


def _to_console_login(actors, path):
    start = actors.browser.get(path)
    location = start.headers["Location"]
    assert start.status_code == 302 and location.startswith("/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == ["idp-console"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["http://localhost/account/callback"]
    return actors.browser.get(location)


def test_a_console_page_without_a_session_logs_in_and_comes_back(actors, app):
    identifier = actors.account()
    to_login = _to_console_login(actors, "/account?ui_locales=fr")
    response = actors.finish_login(actors.submit_login(to_login, identifier))
    assert response.headers["Location"].startswith("http://localhost/account/callback?code=")
    back = actors.browser.get(response.headers["Location"])
    assert back.status_code == 302 and back.headers["Location"] == "/account?ui_locales=fr"
    page = actors.browser.get(back.headers["Location"])
    assert page.status_code == 200 and identifier in page_text(page)
    with app.app_context():
        code = db.session.execute(db.select(AuthorizationCode)).scalar_one()
        assert code.used_at is not None and code.client_id == "idp-console"
    # The code was redeemed: replaying the callback gets nothing.
    assert actors.browser.get(response.headers["Location"]).status_code == 400


def test_a_forged_state_or_a_code_of_another_browser_is_refused(actors, app):
    identifier = actors.account()
    to_login = _to_console_login(actors, "/account")
    response = actors.finish_login(actors.submit_login(to_login, identifier))
    callback = response.headers["Location"]
    forged = callback.replace("state=", "state=x")
    assert actors.browser.get(forged).status_code == 400
    other = app.test_client()  # another browser, without the login cookie nor the session
    assert other.get(callback).status_code == 400
    assert actors.browser.get(callback).status_code == 302  # the real one still works once


def test_the_next_page_is_always_on_this_site(actors):
    response = actors.browser.get("/account", query_string={"next": "//evil.example"})
    assert response.headers["Location"].startswith("/authorize?")
    # Posting to a console page without a session is refused, never redirected.
    assert actors.browser.post("/account/devices/1/revoke").status_code == 401
