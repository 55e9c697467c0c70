"""Malformed and hostile input never gives a 5xx (issue 8.1): properties checked with
hypothesis on the authorization request, the token request and the hosted forms, and a
bounded fuzz run (fixed seed) over every route."""

from __future__ import annotations

import base64
import random
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import REDIRECT_URI, form_field, pkce_pair

CHARS = st.characters(blacklist_categories=("Cs",))  # anything a URL or form can carry
ODD = st.text(CHARS, max_size=40) | st.sampled_from(['"', "\\", "\t", "\r\n", "\x00", "\x7f", "é", "😀",
                                                       "\u202e", "%", "%00", "a" * 300, " ", ""])
PROPERTY = settings(max_examples=60, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def rp(actors):
    return actors.client()


def _no_server_error(response) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])


@PROPERTY
@given(data=st.data())
def test_authorization_requests_never_fail_nor_redirect_elsewhere(actors, rp, data):
    _, challenge = pkce_pair()
    params = {
        "client_id": data.draw(st.sampled_from([rp[0]]) | ODD),
        "redirect_uri": data.draw(st.sampled_from([REDIRECT_URI]) | ODD),
        "response_type": data.draw(st.sampled_from(["code"]) | ODD),
        "code_challenge": challenge, "code_challenge_method": "S256",
    }
    for name in ("scope", "state", "nonce", "prompt", "max_age", "acr_values", "claims", "ui_locales",
                 "login_hint", "request", "request_uri", "code_challenge_method"):
        if data.draw(st.booleans()):
            params[name] = data.draw(ODD)
    response = actors.browser.get("/authorize", query_string=params)
    _no_server_error(response)
    if response.status_code in (302, 303):
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?") or location.startswith("/login"), location


@PROPERTY
@given(form=st.dictionaries(st.sampled_from(["grant_type", "code", "code_verifier", "redirect_uri",
                                             "refresh_token", "client_id", "client_secret", "scope", "token",
                                             "token_type_hint", "client_assertion", "client_assertion_type"]),
                            ODD, max_size=6),
       authorization=st.none() | ODD | ODD.map(lambda s: "Basic " + s) | ODD.map(lambda s: "Bearer " + s)
       | st.binary(max_size=30).map(lambda b: "Basic " + base64.b64encode(b).decode()))
def test_token_introspection_and_revocation_requests_never_fail(actors, form, authorization):
    headers = {}
    if authorization is not None:
        try:
            authorization.encode("latin-1")
        except UnicodeEncodeError:
            authorization = authorization.encode("utf-8").decode("latin-1")  # what a raw client sends
        headers["Authorization"] = authorization.replace("\r", "").replace("\n", "")
    for path in ("/token", "/introspect", "/revoke", "/userinfo"):
        response = actors.browser.post(path, data=form, headers=headers)
        _no_server_error(response)
        assert response.mimetype == "application/json" or response.status_code in (200, 413), path


@PROPERTY
@given(values=st.dictionaries(st.sampled_from(["identifier", "password", "phone", "code", "action", "email",
                                               "password_again", "flow", "csrf_token", "token", "ui_locales"]),
                              ODD, max_size=5),
       keep_flow=st.booleans(), keep_csrf=st.booleans())
def test_hosted_forms_never_fail(actors, rp, values, keep_flow, keep_csrf):
    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    page = actors.browser.get(login_url).get_data(as_text=True)
    real = {"flow": form_field(page, "flow"), "csrf_token": form_field(page, "csrf_token")}
    form = dict(values)
    if keep_flow:
        form["flow"] = real["flow"]
    if keep_csrf:
        form["csrf_token"] = real["csrf_token"]
    for path in ("/login", "/login/phone", "/login/code", "/login/confirm", "/password/forgot",
                 "/identifier/forgot", "/password/reset", "/logout", "/account/devices/1/revoke"):
        _no_server_error(actors.browser.post(path, data=form))
        _no_server_error(actors.browser.get(path, query_string=form))


ROUTES = ["/", "/.well-known/openid-configuration", "/jwks.json", "/authorize", "/authorize/resume", "/token",
          "/revoke", "/introspect", "/userinfo", "/login", "/login/phone", "/login/code", "/login/confirm",
          "/login/upstream/callback", "/login/upstream/x", "/password/forgot", "/identifier/forgot",
          "/password/reset", "/password/reset/finish", "/logout", "/account", "/account/devices/1/revoke",
          "/healthz", "/readyz", "/static/idp.css", "/nowhere", "/%ff", "/login/%00"]
NAMES = ["client_id", "redirect_uri", "response_type", "scope", "state", "code", "flow", "csrf_token",
         "identifier", "password", "phone", "email", "token", "grant_type", "prompt", "claims", "max_age",
         "post_logout_redirect_uri", "id_token_hint", "ui_locales", "action", "code_verifier"]
NASTY = ['"', "\\", "\t", "\r\n", "\x00", "\x7f", "é", "😀", "\u202e", "%", "'; DROP TABLE accounts;--",
         "<script>", "{}", "[]", "null", "-1", "99999999999999999999", "a" * 2000, "../../etc/passwd", ""]


def _nasty(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(NASTY)
    return "".join(rng.choice(string.printable + "éàü€😀\u202e\x00") for _ in range(rng.randint(0, 60)))


def test_bounded_fuzz_over_every_route_gives_no_server_error(actors, rp):
    """600 requests, fixed seed: random methods, parameters, bodies, headers and cookies."""
    rng = random.Random(20261127)
    server_errors = []
    for _ in range(600):
        path = rng.choice(ROUTES)
        method = rng.choice(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
        fields = {rng.choice(NAMES): _nasty(rng) for _ in range(rng.randint(0, 5))}
        headers = {}
        if rng.random() < 0.3:
            headers["Authorization"] = rng.choice(["Basic ", "Bearer ", ""]) + _nasty(rng)
        if rng.random() < 0.2:
            headers["Content-Type"] = rng.choice(["application/json", "text/plain", "multipart/form-data",
                                                  "application/x-www-form-urlencoded; charset=latin-1"])
        if rng.random() < 0.3:
            actors.browser.set_cookie(rng.choice(["__Host-idp-browser", "__Host-idp-session",
                                                  "__Host-idp-device"]), _nasty(rng).encode("utf-8", "replace")
                                      .decode("latin-1").replace(";", "").replace("\r", "").replace("\n", ""))
        # What HTTP can carry in a header: bytes as latin-1, no line breaks.
        headers = {k: v.encode("utf-8").decode("latin-1").replace("\r", "").replace("\n", "")
                   for k, v in headers.items()}
        if method == "GET":
            response = actors.browser.open(path, method=method, query_string=fields, headers=headers)
        else:
            response = actors.browser.open(path, method=method, data=fields, headers=headers)
        if response.status_code >= 500:
            server_errors.append((method, path, fields, response.status_code))
        response.close()  # static files are streamed
    assert server_errors == []
