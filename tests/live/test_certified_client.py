"""A certified relying party (npm openid-client 6) logs in to the IdP under gunicorn.

openid-client validates discovery, the state, PKCE, the ID token's signature through the
JWKS, iss, aud, nonce, and the UserInfo subject; then it refreshes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Browser, walk_login

NODE_DIR = Path(__file__).resolve().parent / "node"
REDIRECT_URI = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.live


def _field(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)


def test_openid_client_completes_code_flow_userinfo_and_refresh(live_idp):
    assert shutil.which("node"), "node is installed by .ci/run"
    account, client = live_idp.register(REDIRECT_URI, "Live", "lucie.live@mairie.example", "06 11 22 33 44")

    rp = subprocess.Popen(
        ["node", "rp.mjs", live_idp.issuer, client["client_id"], client["client_secret"], REDIRECT_URI],
        cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        first = json.loads(rp.stdout.readline())
        assert "authorization_url" in first, first
        browser = Browser()
        response = browser.get(first["authorization_url"])
        assert response.status_code == 200 and 'name="password"' in response.text  # the login page
        response = browser.post(
            live_idp.issuer + "/login",
            data={
                "csrf_token": _field(response.text, "csrf_token"),
                "flow": _field(response.text, "flow"),
                "identifier": account["identifier"],
                "password": account["password"],
            },
        )
        response = walk_login(browser, live_idp.issuer, response, live_idp.outbox, REDIRECT_URI)
        out, _ = rp.communicate(response.headers["Location"] + "\n", timeout=60)
    finally:
        if rp.poll() is None:
            rp.kill()
    result = json.loads(out.strip().splitlines()[-1])
    assert "error" not in result, result
    claims = result["claims"]
    assert claims["iss"] == live_idp.issuer
    assert claims["aud"] == client["client_id"]
    assert claims["sub"] == account["sub"]
    assert claims["acr"] == "urn:peps:acr:mfa"
    assert claims["amr"] == ["pwd", "otp", "sms", "mfa"]
    assert result["userinfo"]["sub"] == account["sub"]
    assert result["userinfo"]["peps_services"] == ["pensions"]
    assert result["rotated"] is True
    assert result["refreshed_claims"]["auth_time"] == claims["auth_time"]
