"""Federated login against a real OpenID provider on loopback: a second instance of this
IdP plays Net-entreprises. Misbehaving tokens come from a small provider that gets them
wrong on purpose, and an unreachable upstream is a closed port."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from .conftest import Browser, LiveIdP, free_port, hidden_fields, password_login, walk_login
from .stubs import MisbehavingProvider

SIRET = "21330063500017"
RP_REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def world(tmp_path_factory, project_root_path):
    folder = tmp_path_factory.mktemp("federation")
    upstream = LiveIdP(folder / "up", f"sqlite:///{folder / 'up.sqlite3'}")
    upstream.start()
    down_port = free_port()
    down_issuer = f"http://127.0.0.1:{down_port}"
    upstream.idp("establishments", "create", "--siret", SIRET, "--name", "Mairie (Net-entreprises)")
    upstream.idp("services", "create", "--code", "peps", "--name", "PEP's")
    ne_client = upstream.idp("clients", "create", "--name", "PEP's IdP", "--service", "peps",
                             "--redirect-uri", down_issuer + "/login/upstream/callback")
    lea_up = upstream.idp("accounts", "create", "--establishment", SIRET, "--last-name", "Fédérée",
                          "--first-name", "Léa", "--email", "Lea@Mairie.example", "--service", "peps",
                          "--phone", "06 70 00 00 01")
    stranger_up = upstream.idp("accounts", "create", "--establishment", SIRET, "--last-name", "Inconnu",
                               "--first-name", "Ivan", "--email", "ivan@mairie.example", "--service", "peps",
                               "--phone", "06 70 00 00 02")

    policy = folder / "policy.yaml"
    text = (project_root_path / "policies" / "default.yaml").read_text(encoding="utf-8")
    policy.write_text(text.replace("    max_failures: 5      # never locks", "    max_failures: 2      # never locks"),
                      encoding="utf-8")
    with MisbehavingProvider("pep-idp") as stub:
        down = LiveIdP(folder / "down", f"sqlite:///{folder / 'down.sqlite3'}", port=down_port, config={
            "policy_file": str(policy),
            "upstreams": [
                {"id": "net-entreprises", "kind": "net-entreprises", "issuer": upstream.issuer,
                 "client_id": ne_client["client_id"], "scopes": ["openid", "profile", "email", "peps"],
                 "claims": {"siret": "peps_siret"}, "timeout": "5s"},
                {"id": "stub", "label": "Stub", "issuer": stub.issuer, "client_id": "pep-idp",
                 "use_userinfo": False, "timeout": "2s"},
                {"id": "down", "label": "Down", "issuer": f"http://127.0.0.1:{free_port()}", "client_id": "x",
                 "timeout": "2s"},
            ],
        }, env={"IDP_UPSTREAM_NET_ENTREPRISES_SECRET": ne_client["client_secret"],
                "IDP_UPSTREAM_STUB_SECRET": "stub-secret", "IDP_UPSTREAM_DOWN_SECRET": "x"})
        down.start()
        down.idp("establishments", "create", "--siret", SIRET, "--name", "Mairie")
        down.idp("services", "create", "--code", "pensions", "--name", "Retraites")
        lea = down.idp("accounts", "create", "--establishment", SIRET, "--last-name", "Fédérée",
                       "--first-name", "Léa", "--email", "lea@mairie.example", "--service", "pensions",
                       "--phone", "06 80 00 00 01")
        rp = down.idp("clients", "create", "--name", "Retraites", "--service", "pensions",
                      "--redirect-uri", RP_REDIRECT)
        try:
            down.database_file = folder / "down.sqlite3"
            yield {"up": upstream, "down": down, "stub": stub, "rp": rp, "lea": lea, "lea_up": lea_up,
                   "stranger_up": stranger_up}
        finally:
            down.stop()
            upstream.stop()


@pytest.fixture(scope="module")
def project_root_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


def _authorize(world, browser, **extra):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = browser.get(world["down"].issuer + "/authorize", params={
        "response_type": "code", "client_id": world["rp"]["client_id"], "redirect_uri": RP_REDIRECT,
        "scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "rp-state", **extra})
    return response, verifier


def _to_upstream(world, browser, upstream_id="net-entreprises", **extra):
    """From the RP to the upstream: the login page's button, then the upstream's redirect."""
    page, verifier = _authorize(world, browser, **extra)  # the login page
    flow = hidden_fields(page.text)[1]["flow"]
    assert f"/login/upstream/{upstream_id}?flow={flow}" in page.text.replace("&amp;", "&")
    return browser.get(world["down"].issuer + f"/login/upstream/{upstream_id}", params={"flow": flow}), verifier


def _upstream_login(world, browser, response, account):
    """At the upstream: its password page and its own steps, back to our callback."""
    up = world["up"]
    assert response.headers["Location"].startswith(up.issuer + "/authorize")
    to_login = browser.get(response.headers["Location"])
    if to_login.status_code == 200:  # the upstream's login page (else it has a session)
        to_login = password_login(browser, up.issuer, to_login, account["identifier"], account["password"])
    back = walk_login(browser, up.issuer, to_login, up.outbox, world["down"].issuer)
    return browser.get(back.headers["Location"])  # our callback


def _session_exists(world, browser) -> bool:
    response, _ = _authorize(world, browser, prompt="none")
    return "code=" in response.headers["Location"]


def test_first_federated_login_links_by_siret_and_email_then_asks_the_code(world):
    browser = Browser()
    response, verifier = _to_upstream(world, browser)
    callback = _upstream_login(world, browser, response, world["lea_up"])
    assert callback.headers["Location"].startswith("/login/code")
    final = walk_login(browser, world["down"].issuer, callback, world["down"].outbox, RP_REDIRECT)
    code = parse_qs(urlsplit(final.headers["Location"]).query)["code"][0]
    client = (world["rp"]["client_id"], world["rp"]["client_secret"])
    tokens = requests.post(world["down"].issuer + "/token", auth=client, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": RP_REDIRECT,
    }).json()
    info = requests.post(world["down"].issuer + "/introspect", data={"token": tokens["access_token"]},
                         auth=client, timeout=10).json()
    assert info["acr"] == "urn:peps:acr:mfa"
    # Our amr says what we verified: a federated login, then our code; never the upstream's.
    assert info["amr"] == ["fed", "otp", "sms", "mfa"]
    assert info["username"] == world["lea"]["identifier"]
    links = world["down"].idp("accounts", "links", world["lea"]["identifier"])
    assert [link["issuer"] for link in links] == [world["up"].issuer]



def _stub_login(world, browser, **extra):
    response, verifier = _to_upstream(world, browser, "stub", **extra)
    back = browser.get(response.headers["Location"])  # the stub sends us straight back
    callback = browser.get(back.headers["Location"])
    final = walk_login(browser, world["down"].issuer, callback, world["down"].outbox, RP_REDIRECT)
    code = parse_qs(urlsplit(final.headers["Location"]).query)["code"][0]
    client = (world["rp"]["client_id"], world["rp"]["client_secret"])
    tokens = requests.post(world["down"].issuer + "/token", auth=client, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": RP_REDIRECT,
    }).json()
    return requests.post(world["down"].issuer + "/introspect", data={"token": tokens["access_token"]},
                         auth=client, timeout=10).json()


def test_an_upstream_that_claims_mfa_does_not_lend_it(world):
    """The upstream's amr says mfa; our amr says only what we verified, and mfa exactly when
    our acr is the multi-factor level."""
    world["down"].idp("accounts", "create", "--establishment", SIRET, "--last-name", "Vantarde",
                      "--first-name", "Stub", "--email", "nobody@stub.example", "--service", "pensions",
                      "--phone", "06 80 00 00 09")
    world["stub"].mode = "boasting"
    browser = Browser()
    first = _stub_login(world, browser)  # first login here: our code is asked
    assert first["acr"] == "urn:peps:acr:mfa" and first["amr"] == ["fed", "otp", "sms", "mfa"]
    again = _stub_login(world, browser, prompt="login")  # a trusted workstation: no code
    assert again["acr"] == "urn:peps:acr:pwd" and again["amr"] == ["fed"]
    with sqlite3.connect(world["down"].database_file) as database:
        detail = database.execute("SELECT detail FROM audit_events WHERE event = 'login.upstream_ok' "
                                  "ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert json.loads(detail)["upstream_amr"] == ["mfa", "hwk", "otp"]  # kept for the audit only


def test_a_locked_linked_account_is_told_it_is_locked(world):
    with sqlite3.connect(world["down"].database_file) as database:
        database.execute("UPDATE accounts SET status = 'locked' WHERE identifier = ?", (world["lea"]["identifier"],))
    try:
        browser = Browser()
        response, _ = _to_upstream(world, browser)
        callback = _upstream_login(world, browser, response, world["lea_up"])
        assert callback.status_code == 403
        text = callback.text.replace("&#39;", "'")
        assert "Compte bloqué" in text and "/password/forgot" in text
        assert "Aucun compte PEP's ne correspond" not in text
        assert not _session_exists(world, browser)
    finally:
        world["down"].idp("accounts", "unlock", world["lea"]["identifier"])


def test_no_matching_account_gets_a_clear_page(world):
    browser = Browser()
    response, _ = _to_upstream(world, browser)
    callback = _upstream_login(world, browser, response, world["stranger_up"])
    assert callback.status_code == 403
    assert "Aucun compte PEP's ne correspond" in callback.text.replace("&#39;", "'")
    assert not _session_exists(world, browser)


def test_failures_on_the_federated_path_throttle_and_never_lock(world):
    browser = Browser()
    response, _ = _to_upstream(world, browser)
    callback = _upstream_login(world, browser, response, world["lea_up"])
    code_url = callback.headers["Location"]
    assert code_url.startswith("/login/code")
    down = world["down"]
    page = browser.get(down.issuer + code_url)
    from .conftest import hidden_fields

    action, fields = hidden_fields(page.text)
    first = browser.post(down.issuer + action, data={**fields, "code": "000000"})
    assert first.status_code == 401
    waited = browser.post(down.issuer + action, data={**fields, "code": "999999"})
    assert waited.status_code == 429
    assert "n'est pas bloqué" in waited.text.replace("&#39;", "'") and "à partir de" in waited.text
    account = next(a for a in down.idp("accounts", "list") if a["identifier"] == world["lea"]["identifier"])
    assert account["status"] == "active"

    # A new federated attempt is told to wait too, before any code is sent.
    again = Browser()
    response, _ = _to_upstream(world, again)
    callback = _upstream_login(world, again, response, world["lea_up"])
    assert callback.status_code == 429
    down.idp("accounts", "unlock", world["lea"]["identifier"])  # leaves the throttle to expire


def test_an_error_answer_and_a_wrong_state_log_nobody_in(world):
    browser = Browser()
    response, _ = _to_upstream(world, browser)
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    callback = world["down"].issuer + "/login/upstream/callback"
    wrong_state = browser.get(callback, params={"state": state.split(".")[0] + ".forged", "code": "x"})
    assert wrong_state.status_code == 400
    error = browser.get(callback, params={"state": state, "error": "access_denied"})
    # The wrong state did not spend the real one; the error answer gets the clear page.
    assert error.status_code == 502 and "a échoué" in error.text
    assert _last_failure_reason(world) == "upstream error: access_denied"
    replay = browser.get(callback, params={"state": state, "code": "x"})
    assert replay.status_code == 400  # the state is spent
    assert not _session_exists(world, browser)


def _last_failure_reason(world) -> str:
    with sqlite3.connect(world["down"].database_file) as conn:
        row = conn.execute("SELECT detail FROM audit_events WHERE event = 'login.upstream_failure' "
                           "ORDER BY id DESC LIMIT 1").fetchone()
    return json.loads(row[0])["reason"]


@pytest.mark.parametrize("mode, reason", [
    ("bad-signature", "bad ID token signature"),
    ("wrong-audience", "ID token rejected: invalid_claim"),
    ("expired", "ID token rejected: expired_token"),
    ("wrong-nonce", "ID token rejected: invalid_claim"),
    ("slow", "timeout at the token endpoint"),
])
def test_bad_id_tokens_and_timeouts_log_nobody_in(world, mode, reason):
    world["stub"].mode = mode
    browser = Browser()
    response, _ = _to_upstream(world, browser, "stub")
    back = browser.get(response.headers["Location"])  # the stub sends us straight back
    callback = browser.get(back.headers["Location"])
    assert callback.status_code == 502 and "a échoué" in callback.text
    assert _last_failure_reason(world).startswith(reason)
    assert not _session_exists(world, browser)


def test_an_unreachable_upstream_gets_a_clear_page(world):
    browser = Browser()
    response, _ = _to_upstream(world, browser, "down")
    assert response.status_code == 502 and "a échoué" in response.text
    assert _last_failure_reason(world).startswith("unreachable")


def test_a_signing_key_rotation_at_the_upstream_keeps_federated_login_working(world):
    """The upstream (this IdP) rotates its key: it publishes the new one before it signs
    with it, and our client, which may hold its old JWKS, keeps accepting its ID tokens
    (no account matches Ivan, which is decided only after the token was accepted).
    tests/live/test_upstream_keys.py shows the refetch on an unknown ``kid`` itself."""
    world["up"].idp("keys", "rotate")
    browser = Browser()
    response, _ = _to_upstream(world, browser)
    callback = _upstream_login(world, browser, response, world["stranger_up"])
    assert callback.status_code == 403
    assert _last_failure_reason(world) == "no matching account"
