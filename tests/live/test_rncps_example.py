"""The RNCPS example beside the IdP: its login demands the multi-factor level, and its
API answers a single-factor token with RFC 9470's insufficient_user_authentication."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import postgres_database

from .conftest import BIN, ROOT, Browser, LiveIdP, free_port, hidden_fields, login_page, wait_for, walk_login

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with postgres_database() as url:
        idp = LiveIdP(tmp_path_factory.mktemp("rncps"), url)
        idp.start()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        idp.idp("establishments", "create", "--siret", "21330063500017", "--name", "Mairie RNCPS")
        for code in ("pensions", "rncps"):
            idp.idp("services", "create", "--code", code, "--name", code.upper())
        rncps = idp.idp("clients", "create", "--name", "RNCPS", "--service", "rncps", "--client-id", "rncps",
                        "--redirect-uri", base + "/callback", "--default-acr", "urn:peps:acr:mfa")
        pensions = idp.idp("clients", "create", "--name", "Retraites", "--service", "pensions",
                           "--redirect-uri", "http://127.0.0.1:9/callback")
        account = idp.idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Registre",
                          "--first-name", "Rita", "--email", "rita@mairie.example", "--service", "pensions",
                          "--service", "rncps", "--phone", "06 44 55 66 77")
        env = {**os.environ, "RNCPS_ISSUER": idp.issuer, "RNCPS_CLIENT_ID": "rncps",
               "RNCPS_CLIENT_SECRET": rncps["client_secret"], "RNCPS_BASE_URL": base}
        # The same application once more, demanding an authentication of the last 0 s:
        # what any token's authentication looks like once it is older than the API allows.
        strict_port = free_port()
        apps = [
            subprocess.Popen(
                [str(BIN / "gunicorn"), "--no-control-socket", "--workers", "1", "--bind", f"127.0.0.1:{p}",
                 "examples.rncps.app:create_app()"], cwd=ROOT, env={**env, **extra},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for p, extra in ((port, {}), (strict_port, {"RNCPS_MAX_AGE": "0"}))
        ]
        try:
            wait_for(base + "/")
            wait_for(f"http://127.0.0.1:{strict_port}/")
            yield idp, base, pensions, account, f"http://127.0.0.1:{strict_port}"
        finally:
            for app in apps:
                app.terminate()
                app.wait(timeout=20)
            idp.stop()


def _password_page(browser, idp, response):
    return hidden_fields(login_page(browser, idp.issuer, response).text)


def test_rncps_login_is_multi_factor_and_its_api_refuses_other_and_older_tokens(demo):
    idp, base, pensions, account, strict = demo
    browser = Browser()
    to_idp = browser.get(base + "/login")
    assert to_idp.headers["Location"].startswith(idp.issuer + "/authorize")
    assert "acr_values=urn%3Apeps%3Aacr%3Amfa" in to_idp.headers["Location"]
    response = browser.get(to_idp.headers["Location"])
    action, fields = _password_page(browser, idp, response)
    response = browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                       "password": account["password"]})
    response = walk_login(browser, idp.issuer, response, idp.outbox, base)
    back = browser.get(response.headers["Location"])  # the example's callback
    assert back.status_code == 302, back.text
    home = browser.get(base + back.headers["Location"])
    assert "acr urn:peps:acr:mfa" in home.text
    token = re.search(r'<code id="token">([^<]+)</code>', home.text).group(1)
    api = requests.get(base + "/api/records", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert api.status_code == 200 and api.json()["records"]

    # The same person on the pensions client, on a now trusted browser: one factor.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = browser.get(idp.issuer + "/authorize", params={
        "response_type": "code", "client_id": pensions["client_id"], "redirect_uri": "http://127.0.0.1:9/callback",
        "scope": "openid peps", "code_challenge": challenge, "code_challenge_method": "S256", "prompt": "login"})
    action, fields = _password_page(browser, idp, response)
    response = browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                       "password": account["password"]})
    response = walk_login(browser, idp.issuer, response, idp.outbox, "http://127.0.0.1:9/callback")
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    weak = requests.post(idp.issuer + "/token", auth=(pensions["client_id"], pensions["client_secret"]), data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": "http://127.0.0.1:9/callback"}, timeout=10).json()
    # A token of the pensions application is active, but not RNCPS's to honour.
    refused = requests.get(base + "/api/records", headers={"Authorization": f"Bearer {weak['access_token']}"},
                           timeout=10)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert "records" not in refused.text
    assert requests.get(base + "/api/records", timeout=10).status_code == 401

    # RFC 9470: RNCPS's own token, once its authentication is older than the API allows.
    older = requests.get(strict + "/api/records", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert older.status_code == 401
    challenge_header = older.headers["WWW-Authenticate"]
    assert 'error="insufficient_user_authentication"' in challenge_header
    assert 'acr_values="urn:peps:acr:mfa"' in challenge_header and 'max_age="0"' in challenge_header
