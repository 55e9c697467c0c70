"""The provider keeps nothing in Flask's cookie session (idp.web._NoCookieSession)."""

import pytest
from flask import session


def test_no_page_sets_a_flask_session_cookie_and_writing_one_fails(app, browser):
    page = browser.get("/password/forgot")
    assert page.status_code == 200
    assert not any(c.startswith("session=") for c in page.headers.getlist("Set-Cookie"))
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError):
            session["anything"] = 1
