"""Two nodes behind one address, as behind a load balancer: two gunicorn instances on one
PostgreSQL database, with the same issuer, secret key and policy file, on two ports.

Whatever a person or a relying party does may reach either node at any step, with no
sticky sessions: sessions, login flows, failure counts, limits and keys live in the
database; each process holds the JWKS and discovery for at most the JWKS refresh time
(IDP_JWKS_REFRESH_SECONDS, shortened here) and rereads the shared policy file when it
changes.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests

from tests.conftest import postgres_database
from tests.helpers import pkce_pair

from .conftest import (
    Browser,
    LiveIdP,
    hidden_fields,
    password_login,
    policy_allowing_many_attempts,
    wait_until,
    walk_login,
)

REDIRECT_URI = "http://127.0.0.1:9/callback"
JWKS_REFRESH_SECONDS = 2  # the default is 60 s: a rotation reaches every worker within it
PARALLEL_FAILURES = 50
pytestmark = pytest.mark.live


class Nodes:
    def __init__(self, a: LiveIdP, b: LiveIdP, database_url: str, policy):
        self.a, self.b = a, b
        self.issuer = a.issuer  # both nodes' issuer; b.issuer is only B's own address
        self.database_url = database_url
        self.policy = policy

    def __iter__(self):
        return iter((self.a, self.b))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nodes")
    # One policy file for both nodes. 50 attempts on one identifier from one address: above
    # the per (address, identifier) ceiling, which would answer 429 before the account locks.
    policy = policy_allowing_many_attempts(folder)
    env = {"IDP_SECRET_KEY": secrets.token_urlsafe(32), "IDP_JWKS_REFRESH_SECONDS": str(JWKS_REFRESH_SECONDS)}
    shared = {"policy_file": str(policy), "messages": {"outbox_file": str(folder / "outbox.jsonl")}}
    with postgres_database() as url:
        a = LiveIdP(folder / "a", url, config=shared, env=env)
        b = LiveIdP(folder / "b", url, config={**shared, "issuer": a.issuer}, env=env)
        a.outbox = b.outbox = folder / "outbox.jsonl"
        a.start()
        try:
            b.start()
            try:
                yield Nodes(a, b, url.replace("+psycopg", ""), policy)
            finally:
                b.stop()
        finally:
            a.stop()


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_login_started_on_one_node_finishes_on_the_other(nodes):
    account, client = nodes.a.register(REDIRECT_URI, "Voyageur", "victor@mairie.example", "06 11 22 33 44")
    verifier, challenge = pkce_pair()
    browser = Browser()

    # Node A: the authorization request and the password.
    response = browser.get(nodes.a.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s1", "nonce": "n1", "code_challenge": challenge,
        "code_challenge_method": "S256"})
    assert response.status_code == 200  # the login page
    response = password_login(browser, nodes.a.issuer, response, account["identifier"], account["password"])
    assert response.headers["Location"].startswith("/login/")

    # Node B: the same browser (its cookies) goes on with the code, the confirmation, the redirect.
    response = walk_login(browser, nodes.b.issuer, response, nodes.b.outbox, REDIRECT_URI)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["s1"]

    token = requests.post(nodes.b.issuer + "/token", auth=(client["client_id"], client["client_secret"]), data={
        "grant_type": "authorization_code", "code": query["code"][0], "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI})
    assert token.status_code == 200, token.text
    claims = _claims(token.json()["id_token"])
    assert claims["iss"] == nodes.issuer and claims["nonce"] == "n1"

    # The session made on A and finished on B is known to A: no password asked again.
    again = browser.get(nodes.a.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid", "state": "s2", "code_challenge": challenge, "code_challenge_method": "S256"})
    assert again.headers["Location"].startswith(REDIRECT_URI)


def test_parallel_wrong_passwords_on_both_nodes_lock_at_exactly_the_threshold(nodes):
    account, client = nodes.a.register(REDIRECT_URI, "Cible", "carla@mairie.example", "06 01 02 03 04",
                                       siret="21330063500025", service="retraites")
    identifier = account["identifier"]
    forms = []
    for index in range(PARALLEL_FAILURES):  # every other login page (and its post) on the other node
        node = nodes.a if index % 2 else nodes.b
        browser = Browser()
        response = browser.get(node.issuer + "/authorize", params={
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
            "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256"})
        forms.append((node, browser, *hidden_fields(response.text)))  # /authorize's login page
    barrier = threading.Barrier(len(forms))

    def attempt(form):
        node, browser, action, fields = form
        barrier.wait()
        return browser.post(node.issuer + action, data={**fields, "identifier": identifier,
                                                        "password": "not the password"}).status_code

    with ThreadPoolExecutor(len(forms)) as pool:
        statuses = list(pool.map(attempt, forms))

    assert statuses == [401] * PARALLEL_FAILURES
    with psycopg.connect(nodes.database_url) as conn:
        status, failures, account_id = conn.execute(
            "SELECT status, failed_logins, id FROM accounts WHERE identifier = %s", (identifier,)).fetchone()
        locks = [row[0] for row in conn.execute(
            "SELECT detail FROM audit_events WHERE event = 'account.locked' AND account_id = %s",
            (account_id,)).fetchall()]
    assert status == "locked"
    assert failures == PARALLEL_FAILURES  # not one lost update, whichever node counted it
    assert len(locks) == 1 and locks[0]["failures"] == 5  # locked by the fifth, once

    # The right password is refused on either node, with the way out.
    for node in nodes:
        browser = Browser()
        response = browser.get(node.issuer + "/authorize", params={
            "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
            "scope": "openid", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256"})
        response = password_login(browser, node.issuer, response, identifier, account["password"])
        assert response.status_code == 403 and "/password/forgot" in response.text


def _served_by_every_worker(node: LiveIdP, path: str, wanted) -> bool:
    """``wanted`` holds for the document on several requests in a row (each worker's copy)."""
    return all(wanted(requests.get(node.issuer + path, timeout=5).json()) for _ in range(8))


def test_a_key_rotated_on_one_node_is_served_by_the_other_within_the_refresh_time(nodes):
    def kids(document):
        return {key["kid"] for key in document["keys"]}

    before = kids(requests.get(nodes.b.issuer + "/jwks.json").json())  # B's workers hold a copy
    rotated = nodes.a.idp("keys", "rotate")
    assert rotated["kid"] not in before

    for node in (nodes.b, nodes.a):
        wait_until(lambda node=node: _served_by_every_worker(
            node, "/jwks.json", lambda doc: kids(doc) == before | {rotated["kid"]}),
            timeout=JWKS_REFRESH_SECONDS + 10, what=f"the key rotated on A served by every worker of {node.issuer}")


def test_a_policy_edit_reaches_both_nodes(nodes):
    original = nodes.policy.read_text(encoding="utf-8")
    edited = original.replace("single_factor: urn:peps:acr:pwd", "single_factor: urn:peps:acr:password")
    assert edited != original
    try:
        nodes.policy.write_text(edited, encoding="utf-8")
        for node in nodes:
            wait_until(lambda node=node: _served_by_every_worker(
                node, "/.well-known/openid-configuration",
                lambda doc: "urn:peps:acr:password" in doc["acr_values_supported"]),
                what=f"the edited policy in force on {node.issuer}")
    finally:
        nodes.policy.write_text(original, encoding="utf-8")
