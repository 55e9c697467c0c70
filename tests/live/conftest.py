"""Live servers: the IdP under gunicorn on a free port, set up through the `idp` command."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
import requests

from tests.conftest import postgres_database
from tests.helpers import code_in, last_code_message

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class LiveIdP:
    def __init__(self, base: Path, database_url: str, workers: int = 2, config: dict | None = None,
                 env: dict | None = None, port: int | None = None, gunicorn_args: list[str] | None = None):
        base.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.outbox = base / "outbox.jsonl"
        self.config = base / "live.yaml"
        settings = {
            "issuer": self.issuer,
            "instance_path": str(base / "instance"),
            "database_url": database_url,
            "messages": {"outbox_file": str(self.outbox)},
        }
        for key, value in (config or {}).items():
            settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
        self.config.write_text(json.dumps(settings), encoding="utf-8")
        self.env = {**os.environ, "IDP_CONFIG": str(self.config), **(env or {})}
        self.workers = workers
        # Production's settings (config/gunicorn.conf.py: its worker, hooks and preloading)
        # unless the test names others; --workers and --bind always come from here.
        self.gunicorn_args = ["-c", str(GUNICORN_CONF)] if gunicorn_args is None else gunicorn_args
        self.process: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None  # `idp worker`: the queued emails
        self.log_path = base / "gunicorn.log"
        self.log = self.log_path.open("w")

    def idp(self, *args: str) -> dict | list:
        done = subprocess.run(
            [str(BIN / "idp"), *args, "--json"], env=self.env, cwd=ROOT,
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def register(self, redirect_uri: str, last_name: str, email: str, phone: str | None = None,
                 siret: str = "21330063500017", service: str = "pensions") -> tuple[dict, dict]:
        """An establishment, a service, a user with the right to it, and a client of it."""
        self.idp("establishments", "create", "--siret", siret, "--name", f"Mairie {last_name}")
        self.idp("services", "create", "--code", service, "--name", service.title())
        account = self.idp("accounts", "create", "--establishment", siret, "--last-name", last_name,
                           "--first-name", "Agent", "--email", email, "--service", service,
                           *(["--phone", phone] if phone else []))
        client = self.idp("clients", "create", "--name", f"Appli {last_name}", "--service", service,
                          "--redirect-uri", redirect_uri)
        return account, client

    def start(self) -> None:
        self.idp("init")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--no-control-socket", "--workers", str(self.workers),
             "--bind", f"127.0.0.1:{self.port}", *self.gunicorn_args, "wsgi:app"],
            env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.worker = subprocess.Popen([str(BIN / "idp"), "worker"], env=self.env, cwd=ROOT,
                                       stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for(self.issuer + "/.well-known/openid-configuration")
        except RuntimeError:
            self.stop()  # never leave a half-started server behind
            raise

    def stop(self) -> None:
        for process in (self.process, self.worker):
            if process:
                process.terminate()
                process.wait(timeout=20)
        self.log.close()


def wait_until(condition, timeout: float = 15, what: str = "the condition") -> None:
    """Wait for what a background process (``idp worker``) does, within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


def hidden_fields(html: str, form_index: int = 0) -> tuple[str, dict[str, str]]:
    forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
    action, body = forms[form_index]
    return action, dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))


def walk_login(browser: Browser, issuer: str, response, outbox: Path, stop_at: str):
    """After the password, do the steps a person does (code from the outbox, confirmation)
    until the IdP redirects to ``stop_at``."""
    while not response.headers["Location"].startswith(stop_at):
        location = response.headers["Location"]
        page = browser.get(issuer + location)
        if location.startswith("/login/code"):
            action, fields = hidden_fields(page.text)
            response = browser.post(issuer + action, data={**fields, "code": code_in(last_code_message(outbox))})
        elif location.startswith("/login/confirm"):
            action, fields = hidden_fields(page.text)
            response = browser.post(issuer + action, data=fields)
        else:
            response = page
    return response


def login_page(browser: Browser, issuer: str, response):
    """The login page an answer leads to: ``/authorize``'s answer is the page itself; a
    redirect (to ``/login?flow=…``) is followed."""
    if response.status_code in (302, 303):
        return browser.get(issuer + response.headers["Location"])
    assert response.status_code == 200 and 'name="password"' in response.text, response.status_code
    return response


def password_login(browser: Browser, issuer: str, page, identifier: str, password: str):
    """On the login page (its address, or the answer that shows or leads to it), submit
    the identifier and the password."""
    page = browser.get(issuer + page) if isinstance(page, str) else login_page(browser, issuer, page)
    action, fields = hidden_fields(page.text)
    return browser.post(issuer + action, data={**fields, "identifier": identifier, "password": password})


def remember_cookies(cookies: dict[str, str], set_cookie: Iterable[str]) -> None:
    """Keep or forget cookies as a browser does on the ``Set-Cookie`` headers of an answer."""
    for header in set_cookie:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if "expires=thu, 01 jan 1970" in header.lower() or "max-age=0" in header.lower():
            cookies.pop(name, None)
        else:
            cookies[name] = value


class Browser:
    """Cookies kept as a browser keeps them on loopback, where Chromium and Firefox accept
    ``Secure`` cookies over http (Python's cookie jar does not, so it is not used here)."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.http = requests.Session()

    def __del__(self):
        # The server keeps connections alive: close them with the browser, not at some
        # later collection (an unclosed socket's ResourceWarning fails the test then).
        if hasattr(self, "http"):
            self.http.close()

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, url, headers=headers, allow_redirects=False, **kwargs)
        remember_cookies(self.cookies, response.raw.headers.getlist("Set-Cookie"))
        self.http.cookies.clear()
        return response

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> requests.Response:
        return self.request("POST", url, **kwargs)


@pytest.fixture(scope="module")
def relying_party():
    """A real callback endpoint on a free loopback port, recording what it receives."""
    from .browser import relying_party_callback

    with relying_party_callback(free_port()) as server:
        yield server


def policy_allowing_many_attempts(folder: Path) -> Path:
    """The default policy with the per (address, identifier) ceiling of failed logins raised
    to 100: many attempts on one identifier from one address then reach the account's own
    lockout count instead of a 429."""
    policy = folder / "policy.yaml"
    policy.write_text((ROOT / "policies" / "default.yaml").read_text(encoding="utf-8").replace(
        "per_ip_and_identifier: # failed logins for one identifier from one address\n    count: 10",
        "per_ip_and_identifier:\n    count: 100"), encoding="utf-8")
    assert "count: 100" in policy.read_text(encoding="utf-8")
    return policy


@pytest.fixture(scope="module")
def live_idp(tmp_path_factory):
    with postgres_database() as url:
        server = LiveIdP(tmp_path_factory.mktemp("live"), url)
        server.start()
        yield server
        server.stop()
