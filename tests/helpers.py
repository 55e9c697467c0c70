"""Test actors: an administrator who registers things, a browser that logs in,
a relying party that exchanges codes. They drive the app only through its interfaces."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from idp.clients import create_client
from idp.directory import create_account, create_establishment, create_service
from idp.extensions import db

REDIRECT_URI = "https://rp.example.test/callback"
PASSWORD = "correct horse battery"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def form_field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no field {name} in page"
    return match.group(1)


def html_unescape(text: str) -> str:
    return html.unescape(text)


def page_text(response) -> str:
    """The page's HTML with entities decoded, as a reader sees the words."""
    return html.unescape(response.get_data(as_text=True))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def read_outbox(path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def code_in(message: dict) -> str:
    """The code as a person reads or hears it: the message's digits."""
    digits = "".join(re.findall(r"\d", message["body"]))
    if message["channel"] == "voice":
        return digits
    return re.search(r"\b(\d{6,10})\b", message["body"]).group(1)


def last_code_message(path) -> dict:
    """The last SMS or voice call of the outbox: an email that ``idp worker`` sends (a
    security notice) may have come after it."""
    messages = [m for m in read_outbox(path) if m["channel"] in ("sms", "voice")]
    assert messages, "no code in the outbox"
    return messages[-1]


class Actors:
    def __init__(self, app, browser):
        self.app = app
        self.browser = browser
        self._sirets = iter(["21330063500017", "21330063500025", "21330063500033"])
        self._phones = iter(f"+3361234{n:04d}" for n in range(1, 10000))
        self.outbox_path = app.config["IDP"].path(app.config["IDP"].messages.outbox_file)

    # --- the security team -------------------------------------------------
    def edit_policy(self, old: str, new: str):
        """Edit a copy of the policy in force and point the running app at it."""
        store = self.app.extensions["idp.policy"]
        text = store.path.read_text(encoding="utf-8")
        assert old in text, old
        edited = self.outbox_path.parent / "policy.yaml"
        edited.write_text(text.replace(old, new), encoding="utf-8")
        store.path = edited
        return edited

    # --- the worker beside the app -------------------------------------------
    def run_jobs(self) -> int:
        """What ``idp worker`` does in the background: the jobs that are due."""
        from idp import jobs

        with self.app.app_context():
            return jobs.work_once()

    # --- the user's phone and mailbox ---------------------------------------
    def outbox(self) -> list[dict]:
        return read_outbox(self.outbox_path)

    def last_code(self, to: str | None = None) -> str:  # noqa: D401
        messages = [m for m in self.outbox() if m["channel"] in ("sms", "voice") and (to is None or m["to"] == to)]
        assert messages, "no code in the outbox"
        return code_in(messages[-1])

    def last_code_digits(self) -> str:
        message = [m for m in self.outbox() if m["channel"] in ("sms", "voice")][-1]
        return re.search(r"\b(\d{6,10})\b", message["body"]).group(1)

    def post_form(self, page_url, data, form_index=0, page=None):
        """Fill the page's form like a person: hidden fields come from the page itself."""
        page = page if page is not None else self.browser.get(page_url)
        html = page.get_data(as_text=True)
        forms = re.findall(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', html, re.S)
        action, body = forms[form_index]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body))
        fields.update(data)
        return self.browser.post(html_unescape(action), data=fields)

    def finish_login(self, response, phone=None, code=None):
        """Walk the steps after the password (phone, code, confirmation) as a user would."""
        while response.status_code in (302, 303) and response.headers["Location"].startswith("/"):
            location = response.headers["Location"]
            if location.startswith("/login/phone"):
                response = self.post_form(location, {"phone": phone or next(self._phones)})
            elif location.startswith("/login/code"):
                page = self.browser.get(location)
                assert page.status_code == 200, page.get_data(as_text=True)
                response = self.post_form(location, {"code": code or self.last_code()}, page=page)
            elif location.startswith("/login/confirm"):
                response = self.post_form(location, {})
            else:
                response = self.browser.get(location)
        return response

    # --- the administrator -------------------------------------------------
    def establishment(self):
        with self.app.app_context():
            est = create_establishment(next(self._sirets), "Mairie de Test")
            db.session.commit()
            return est.siret

    def service(self, code="pensions"):
        with self.app.app_context():
            create_service(code, code.title())
            db.session.commit()
        return code

    def account(self, siret=None, services=("pensions",), profile="user", password=PASSWORD, **fields):
        fields.setdefault("phone", next(self._phones))
        from idp.models import Establishment, Service

        with self.app.app_context():
            siret = siret or self.establishment()
            est = db.session.execute(db.select(Establishment).filter_by(siret=siret)).scalar_one()
            wanted = []
            for code in services:
                found = db.session.execute(db.select(Service).filter_by(code=code)).scalar_one_or_none()
                wanted.append(found or create_service(code, code.title()))
            account = create_account(
                est, profile=profile, last_name=fields.pop("last_name", "Durand"),
                first_name=fields.pop("first_name", "Alice"),
                email=fields.pop("email", "alice.durand@mairie.example"),
                password=password, services=wanted, **fields,
            )
            db.session.commit()
            return account.identifier

    def client(self, service="pensions", auth_method="client_secret_basic", **kwargs):
        from idp.models import Service

        kwargs.setdefault("redirect_uris", [REDIRECT_URI])
        with self.app.app_context():
            svc = None
            if service:
                svc = db.session.execute(db.select(Service).filter_by(code=service)).scalar_one_or_none()
                svc = svc or create_service(service, service.title())
            client, secret = create_client("Test RP", service=svc, auth_method=auth_method, **kwargs)
            db.session.commit()
            return client.client_id, secret

    # --- the browser ---------------------------------------------------------
    def authorize(self, client_id, challenge=None, **params):
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email peps",
            "state": "st-" + secrets.token_hex(4),
            "nonce": "n-" + secrets.token_hex(4),
        }
        if challenge:
            query.update(code_challenge=challenge, code_challenge_method="S256")
        query.update({k: v for k, v in params.items() if v is not None})
        for key in [k for k, v in params.items() if v is None]:
            query.pop(key, None)
        return self.browser.get("/authorize", query_string=query)

    @staticmethod
    def at(response) -> str:
        """Where the browser stands after ``response``: a redirect's target, or, for the
        login page that ``/authorize`` answers itself, the address that shows it again
        (``/login?flow=…``)."""
        if response.status_code in (302, 303):
            return response.headers["Location"]
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'name="password"' in html, (response.status_code, html[:200])
        return "/login?flow=" + form_field(html, "flow")

    def submit_login(self, login_page, identifier, password=PASSWORD, headers=None):
        """On the login page (an address, or the answer that led there: /authorize's page,
        a redirect to /login), submit the identifier and the password."""
        if isinstance(login_page, str):
            page = self.browser.get(login_page, headers=headers)
        elif login_page.status_code == 200:
            page = login_page  # the page itself, as a browser has it
        else:
            page = self.browser.get(self.at(login_page), headers=headers)
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        return self.browser.post(
            "/login",
            data={
                "csrf_token": form_field(html, "csrf_token"),
                "flow": form_field(html, "flow"),
                "identifier": identifier,
                "password": password,
            },
        )

    def follow(self, response):
        """Follow redirects inside the IdP; stop at the first one leaving it."""
        while response.status_code in (302, 303) and response.headers["Location"].startswith("/"):
            response = self.browser.get(response.headers["Location"])
        return response

    def login_and_get_code(self, client_id, identifier, password=PASSWORD, **params):
        verifier, challenge = pkce_pair()
        response = self.authorize(client_id, challenge, **params)
        if response.status_code == 200:  # the login page
            response = self.finish_login(self.submit_login(response, identifier, password))
        elif response.headers.get("Location", "").startswith("/login/code"):
            response = self.finish_login(response)
        assert response.status_code == 302, response.get_data(as_text=True)
        query = query_of(response.headers["Location"])
        assert "code" in query, query
        return query["code"], verifier

    # --- the relying party -------------------------------------------------
    def token(self, client_id, secret, **form):
        auth = (client_id, secret) if secret else None
        if not secret:
            form.setdefault("client_id", client_id)
        headers = {}
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return self.browser.post("/token", data=form, headers=headers)

    def exchange(self, client_id, secret, code, verifier, redirect_uri=REDIRECT_URI):
        return self.token(
            client_id, secret, grant_type="authorization_code", code=code,
            code_verifier=verifier, redirect_uri=redirect_uri,
        )

    def tokens_for(self, client_id, secret, identifier, **params):
        code, verifier = self.login_and_get_code(client_id, identifier, **params)
        response = self.exchange(client_id, secret, code, verifier)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def id_token_claims(self, id_token: str) -> dict:
        jwks = self.browser.get("/jwks.json").get_json()
        return jwt.decode(id_token, KeySet.import_key_set(jwks)).claims
