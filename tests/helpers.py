"""Test actors: an administrator who registers things, a browser that logs in,
a relying party that exchanges codes. They drive the app only through its interfaces."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from idp.accounts import create_account, create_establishment, create_service
from idp.clients import create_client
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


def page_text(response) -> str:
    """The page's HTML with entities decoded, as a reader sees the words."""
    return html.unescape(response.get_data(as_text=True))


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


class Actors:
    def __init__(self, app, browser):
        self.app = app
        self.browser = browser
        self._sirets = iter(["21330063500017", "21330063500025", "21330063500033"])

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

    def submit_login(self, login_page_location, identifier, password=PASSWORD, headers=None):
        page = self.browser.get(login_page_location, headers=headers)
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
        if response.headers.get("Location", "").startswith("/login"):
            response = self.follow(self.submit_login(response.headers["Location"], identifier, password))
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
