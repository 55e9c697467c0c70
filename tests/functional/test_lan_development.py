"""Development over plain http on a LAN address: browsers drop Secure cookies there, so
the provider sends them without Secure and without the ``__Host-`` prefix; everywhere
else (loopback, https, production) the cookies stay ``__Host-``, Secure."""

import pytest

from idp.web import plain_http_development


@pytest.fixture
def settings_overrides(settings_overrides):
    return {**settings_overrides, "issuer": "http://192.168.1.20:5000"}


def test_a_login_over_plain_http_on_a_lan_address_keeps_its_cookies(actors, app):
    client_id, secret = actors.client()
    tokens = actors.tokens_for(client_id, secret, actors.account())  # forms pass their CSRF check
    assert tokens["id_token"]
    assert actors.browser.get_cookie("idp-session") is not None
    assert actors.browser.get_cookie("__Host-idp-session") is None
    form = app.test_client().get("/password/forgot")
    cookies = form.headers.getlist("Set-Cookie")
    assert cookies and all(c.startswith("idp-") and "Secure" not in c and "HttpOnly" in c for c in cookies)


@pytest.mark.parametrize(("issuer", "environment", "plain"), [
    ("http://192.168.1.20:5000", "development", True),
    ("http://idp.lan:5000", "development", True),
    ("http://127.0.0.1:5000", "development", False),   # loopback is a secure context
    ("http://localhost:5000", "development", False),
    ("http://[::1]:5000", "development", False),
    ("https://idp.example", "development", False),
    ("http://192.168.1.20:5000", "production", False),  # refused at start-up anyway
])
def test_only_development_over_http_off_loopback_relaxes_the_cookies(issuer, environment, plain):
    assert plain_http_development(issuer, environment) is plain
