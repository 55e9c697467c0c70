"""Wrong passwords fired in parallel at a multi-worker gunicorn on PostgreSQL: every
failure is counted and the account locks at exactly the policy's limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.conftest import postgres_database

from .conftest import Browser, LiveIdP, hidden_fields, policy_allowing_many_attempts

REDIRECT_URI = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lockout")
    # 20 attempts on one identifier from one address: above the per (address, identifier)
    # limit, which would answer 429 before the account's own count is reached.
    policy = policy_allowing_many_attempts(folder)
    with postgres_database() as url:
        server = LiveIdP(folder, url, workers=4, config={"policy_file": str(policy)})
        server.start()
        server.database_url = url.replace("+psycopg", "")
        try:
            yield server
        finally:
            server.stop()


def _login_forms(idp, client_id, count):
    """``count`` browsers, each on the login page of its own flow."""
    forms = []
    for _ in range(count):
        browser = Browser()
        response = browser.get(idp.issuer + "/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
        forms.append((browser, *hidden_fields(response.text)))  # /authorize's login page
    return forms


def _fire(idp, forms, identifier, password):
    barrier = threading.Barrier(len(forms))

    def attempt(form):
        browser, action, fields = form
        barrier.wait()
        return browser.post(idp.issuer + action, data={**fields, "identifier": identifier, "password": password})

    with ThreadPoolExecutor(len(forms)) as pool:
        return [r.status_code for r in pool.map(attempt, forms)]


def _state(idp, identifier):
    with psycopg.connect(idp.database_url) as conn:
        status, failures = conn.execute(
            "SELECT status, failed_logins FROM accounts WHERE identifier = %s", (identifier,)).fetchone()
        locks = conn.execute(
            "SELECT detail FROM audit_events WHERE event = 'account.locked'").fetchall()
    return status, failures, [row[0] for row in locks]


def test_parallel_failures_lock_at_exactly_the_limit(idp):
    account, client = idp.register(REDIRECT_URI, "Cible", "carla@mairie.example", "06 01 02 03 04")
    identifier = account["identifier"]

    statuses = _fire(idp, _login_forms(idp, client["client_id"], 4), identifier, "wrong password 1")
    assert statuses == [401] * 4
    assert _state(idp, identifier) == ("active", 4, [])

    statuses = _fire(idp, _login_forms(idp, client["client_id"], 16), identifier, "wrong password 2")
    assert statuses == [401] * 16
    status, failures, locks = _state(idp, identifier)
    assert status == "locked"
    assert failures == 20  # not one lost update
    assert len(locks) == 1 and locks[0]["failures"] == 5  # locked by the fifth, once

    # The right password is now refused, with the way out.
    browser, action, fields = _login_forms(idp, client["client_id"], 1)[0]
    response = browser.post(idp.issuer + action, data={**fields, "identifier": identifier,
                                                       "password": account["password"]})
    assert response.status_code == 403 and "/password/forgot" in response.text
