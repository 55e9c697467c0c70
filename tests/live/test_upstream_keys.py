"""The upstream's keys, seen from a federated login: the JWKS is fetched once and kept, a
key rotation at the upstream is followed by fetching it again on the unknown ``kid``, and
a ``kid`` that even a fresh JWKS does not hold is refused. Threads of one process share
one reading of the discovery document.

The IdP runs one gunicorn worker here, so that every login meets the same cache; the
upstream is a provider stub on loopback that counts the requests it answers."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors.upstream import UpstreamRequest
from connectors.upstream.oidc import OIDCUpstream

from .conftest import Browser, LiveIdP, hidden_fields
from .stubs import KeyRotatingProvider

SIRET = "21330063500017"
EMAIL = "rotation@mairie.example"
RP_REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upstream-keys")
    claims = {"sub": "rotation-user", "siret": SIRET, "email": EMAIL, "given_name": "Rémi", "family_name": "Rotation"}
    with KeyRotatingProvider("pep-idp", "stub-secret", claims) as provider:
        down = LiveIdP(folder / "down", f"sqlite:///{folder / 'down.sqlite3'}", workers=1, config={
            "upstreams": [{"id": "keys", "label": "Keys", "issuer": provider.issuer, "client_id": "pep-idp",
                           "timeout": "2s"}],
        }, env={"IDP_UPSTREAM_KEYS_SECRET": "stub-secret"})
        down.start()
        try:
            down.idp("establishments", "create", "--siret", SIRET, "--name", "Mairie")
            down.idp("services", "create", "--code", "pensions", "--name", "Retraites")
            down.idp("accounts", "create", "--establishment", SIRET, "--last-name", "Rotation",
                     "--first-name", "Rémi", "--email", EMAIL, "--service", "pensions", "--phone", "06 80 00 00 09")
            rp = down.idp("clients", "create", "--name", "Retraites", "--service", "pensions",
                          "--redirect-uri", RP_REDIRECT)
            yield {"down": down, "provider": provider, "rp": rp, "database": folder / "down.sqlite3"}
        finally:
            down.stop()


def _federated_login(world):
    """From the RP through the upstream stub back to our callback; returns the callback's answer."""
    down, browser = world["down"], Browser()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = browser.get(down.issuer + "/authorize", params={
        "response_type": "code", "client_id": world["rp"]["client_id"], "redirect_uri": RP_REDIRECT,
        "scope": "openid profile", "code_challenge": challenge, "code_challenge_method": "S256",
        "state": "rp-state"})
    flow = hidden_fields(response.text)[1]["flow"]  # from /authorize's login page
    to_upstream = browser.get(down.issuer + "/login/upstream/keys", params={"flow": flow})
    assert to_upstream.headers["Location"].startswith(world["provider"].issuer + "/authorize")
    back = browser.get(to_upstream.headers["Location"])  # the stub sends the browser straight back
    return browser.get(back.headers["Location"])


def _accepted(callback) -> bool:
    """The upstream login was accepted: the login goes on to the code sent to the phone."""
    return callback.status_code == 302 and callback.headers["Location"].startswith("/login/code")


def _last_failure_reason(world) -> str:
    with sqlite3.connect(world["database"]) as conn:
        row = conn.execute("SELECT detail FROM audit_events WHERE event = 'login.upstream_failure' "
                           "ORDER BY id DESC LIMIT 1").fetchone()
    return json.loads(row[0])["reason"]


def test_two_logins_fetch_the_upstream_jwks_once(world):
    hits = world["provider"].hits
    assert _accepted(_federated_login(world))
    assert _accepted(_federated_login(world))
    assert hits["/jwks"] == 1
    assert hits["/.well-known/openid-configuration"] == 1
    assert hits["/token"] == 2 and hits["/userinfo"] == 2


def test_after_an_upstream_key_rotation_the_jwks_is_fetched_again_on_the_new_kid(world):
    provider = world["provider"]
    assert _accepted(_federated_login(world))  # the JWKS is kept, with the current key only
    before = provider.hits["/jwks"]
    provider.rotate()
    assert _accepted(_federated_login(world))
    assert provider.hits["/jwks"] == before + 1
    assert _accepted(_federated_login(world))  # the fresh JWKS is kept in turn
    assert provider.hits["/jwks"] == before + 1


def test_a_kid_that_a_fresh_jwks_does_not_hold_either_is_refused(world):
    provider = world["provider"]
    assert _accepted(_federated_login(world))
    before = provider.hits["/jwks"]
    provider.rogue = True
    try:
        callback = _federated_login(world)
    finally:
        provider.rogue = False
    assert callback.status_code == 502 and "a échoué" in callback.text
    assert _last_failure_reason(world) == "bad ID token signature: No key for kid: 'rogue', even in a fresh JWKS"
    assert provider.hits["/jwks"] == before + 1  # fetched again once, not given up on at once


def test_threads_starting_logins_together_read_the_discovery_document_once(world):
    provider = world["provider"]
    upstream = OIDCUpstream(id="keys", label="Keys", issuer=provider.issuer, client_id="pep-idp",
                            client_secret="stub-secret", timeout=2)  # in this process: a cold cache
    request = UpstreamRequest(state="s", nonce="n", code_verifier=secrets.token_urlsafe(48),
                              redirect_uri=RP_REDIRECT)
    before = provider.hits["/.well-known/openid-configuration"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        urls = list(pool.map(lambda _: upstream.start(request), range(8)))
    assert all(url.startswith(provider.issuer + "/authorize?") for url in urls)
    assert provider.hits["/.well-known/openid-configuration"] == before + 1
