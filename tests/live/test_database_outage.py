"""A database outage: PostgreSQL stops under a running IdP, then comes back.

Protocol endpoints answer 503 ``temporarily_unavailable`` in JSON with ``Retry-After``;
hosted pages a 503 page; discovery and JWKS are served from what the process holds; a
login started before the outage finishes once the database is back, without a restart.
The cluster is this test's own (initdb in a temporary folder), so stopping it touches
nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import Browser, LiveIdP, free_port, hidden_fields, walk_login

pytestmark = pytest.mark.live

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
REDIRECT_URI = "http://127.0.0.1:9/callback"


class Cluster:
    """A throwaway PostgreSQL cluster. Run as root, its folder belongs to the postgres
    user (initdb refuses root), outside pytest's private temporary folders."""

    def __init__(self):
        self.base, self.port = Path(tempfile.mkdtemp(prefix="idp-outage-")), free_port()
        self.data, self.sockets = self.base / "data", self.base / "sockets"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.base, self.sockets):
                shutil.chown(path, "postgres")
        self._run("initdb", "-A", "trust", "-U", "postgres", "-D", str(self.data))

    def _run(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.base / "pg.log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture(scope="module")
def outage(tmp_path_factory):
    if PG_BIN is None:
        pytest.fail("PostgreSQL's server binaries are not installed")
    cluster = Cluster()
    cluster.start()
    idp = LiveIdP(tmp_path_factory.mktemp("outage"), cluster.url, workers=1)
    try:
        idp.start()
        yield idp, cluster
    finally:
        idp.stop()
        cluster.stop()
        cluster.remove()


def test_an_outage_answers_503_and_a_login_resumes_afterwards(outage):
    idp, cluster = outage
    account, client = idp.register(REDIRECT_URI, "Panne", "panne@mairie.example", "06 11 22 33 44")
    browser = Browser()
    discovery = browser.get(idp.issuer + "/.well-known/openid-configuration").json()
    jwks = browser.get(idp.issuer + "/jwks.json").json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    started = browser.get(idp.issuer + "/authorize", params={
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
        "scope": "openid", "code_challenge": challenge, "code_challenge_method": "S256"})
    login_page = started  # /authorize answers with the login page
    action, fields = hidden_fields(login_page.text)

    cluster.stop()
    try:
        # What the process already holds keeps being served.
        assert browser.get(idp.issuer + "/.well-known/openid-configuration").json() == discovery
        assert browser.get(idp.issuer + "/jwks.json").json() == jwks
        # Protocol endpoints: JSON, 503, temporarily_unavailable, Retry-After.
        token = browser.post(idp.issuer + "/token", data={
            "grant_type": "client_credentials"}, auth=(client["client_id"], client["client_secret"]))
        userinfo = browser.get(idp.issuer + "/userinfo", headers={"Authorization": "Bearer abc"})
        for answer in (token, userinfo):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "temporarily_unavailable"
            assert int(answer.headers["Retry-After"]) > 0
        # Hosted pages: a page saying so, in the user's language.
        for page in (browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                              "password": account["password"]}),
                     browser.get(idp.issuer + "/authorize", params={"client_id": client["client_id"]})):
            assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
            assert "momentanément indisponible" in page.text
    finally:
        cluster.start()

    # The same login, in the same browser, finishes once the database is back.
    response = browser.post(idp.issuer + action, data={**fields, "identifier": account["identifier"],
                                                        "password": account["password"]})
    response = walk_login(browser, idp.issuer, response, idp.outbox, REDIRECT_URI)
    assert "code=" in response.headers["Location"]
