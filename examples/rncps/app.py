"""A small relying application standing for the RNCPS register.

It logs users in through the IdP asking for the multi-factor level. Its API introspects
each bearer token and honours it only if it was issued to this application
(``client_id``/``aud``), for a user with the right to the RNCPS service
(``peps_services``), at the multi-factor level (else RFC 9470's
``insufficient_user_authentication`` challenge).

Run beside the IdP with ``make demo``; configuration from the environment:
``RNCPS_ISSUER``, ``RNCPS_CLIENT_ID``, ``RNCPS_CLIENT_SECRET``, ``RNCPS_BASE_URL``,
``RNCPS_SECRET_KEY``, ``RNCPS_MAX_AGE`` (seconds; an older authentication is refused).

``make run`` starts the same application as the plain demo application of the ``demo``
client (``RNCPS_TITLE``, and ``RNCPS_ACR=""``: it takes whatever level the policy gives).
"""

from __future__ import annotations

import os
import secrets
import time

import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask, abort, jsonify, redirect, render_template_string, request, session, url_for

MFA = "urn:peps:acr:mfa"
SERVICE = "rncps"  # the IdP's service code whose right this API demands
MAX_AGE = 3600  # by default, the API wants an authentication of the last hour

PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
{% if user %}<p id="who">Connecté : {{ user.get("name") or user["sub"] }} — acr {{ user["acr"] }}
(amr {{ user["amr"]|join(", ") }})</p>
<p>Jeton d'accès pour l'API : <code id="token">{{ token }}</code></p>
<p><a href="{{ url_for('logout') }}">Se déconnecter</a></p>
{% else %}<p><a id="login" href="{{ url_for('login') }}">Se connecter avec PEP's</a></p>{% endif %}
</body></html>"""


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    settings = {
        "ISSUER": os.environ.get("RNCPS_ISSUER", "http://127.0.0.1:5000"),
        "CLIENT_ID": os.environ.get("RNCPS_CLIENT_ID", "rncps"),
        "CLIENT_SECRET": os.environ.get("RNCPS_CLIENT_SECRET", ""),
        "BASE_URL": os.environ.get("RNCPS_BASE_URL", "http://127.0.0.1:5001"),
        "SECRET_KEY": os.environ.get("RNCPS_SECRET_KEY") or secrets.token_urlsafe(32),
        "MAX_AGE": int(os.environ.get("RNCPS_MAX_AGE", MAX_AGE)),
        "TITLE": os.environ.get("RNCPS_TITLE", "RNCPS — démonstration"),
        "ACR": os.environ.get("RNCPS_ACR", MFA),  # "": no level demanded
    }
    settings.update(config or {})
    app.config.update(settings)
    # Cookies ignore ports: each example application on 127.0.0.1 keeps its own session cookie.
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_NAME=f"{app.config['CLIENT_ID']}-session")
    if app.config["ISSUER"].startswith("http://"):
        os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # loopback demo only
    oauth = OAuth(app)
    oauth.register(
        "peps",
        client_id=app.config["CLIENT_ID"],
        client_secret=app.config["CLIENT_SECRET"],
        server_metadata_url=app.config["ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile peps", "code_challenge_method": "S256"},
    )

    @app.get("/")
    def home():
        return render_template_string(PAGE, user=session.get("user"), token=session.get("access_token"),
                                      title=app.config["TITLE"])

    @app.get("/login")
    def login():
        extra = {"acr_values": app.config["ACR"]} if app.config["ACR"] else {}
        return oauth.peps.authorize_redirect(app.config["BASE_URL"] + url_for("callback"), **extra)

    @app.get("/callback")
    def callback():
        token = oauth.peps.authorize_access_token()  # checks state, PKCE, ID token signature, nonce
        claims = token["userinfo"]
        if app.config["ACR"] and claims.get("acr") != app.config["ACR"]:
            abort(403, description="the IdP returned a lower authentication level")
        session["user"] = dict(claims)
        session["access_token"] = token["access_token"]
        return redirect(url_for("home"))

    @app.get("/logout")
    def logout():
        session.clear()
        return redirect(url_for("home"))

    @app.get("/api/records")
    def records():
        """A protected API: introspects the bearer token and demands the MFA level."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _challenge(None)
        info = requests.post(
            oauth.peps.load_server_metadata()["introspection_endpoint"],
            data={"token": header[7:]},
            auth=(app.config["CLIENT_ID"], app.config["CLIENT_SECRET"]),
            timeout=10,
        ).json()
        if not info.get("active"):
            return _challenge("invalid_token")
        # A token issued to another application (the pensions service…) is not ours to
        # honour, even if it is active: its user may have no right to RNCPS at all.
        audience = info.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if info.get("client_id") != app.config["CLIENT_ID"] or app.config["CLIENT_ID"] not in audiences:
            return _challenge("invalid_token", "The token was not issued to this service")
        if SERVICE not in info.get("peps_services", []):
            return jsonify(error="forbidden"), 403
        too_old = time.time() - info.get("auth_time", 0) > app.config["MAX_AGE"]
        if info.get("acr") != MFA or too_old:
            return _challenge(
                "insufficient_user_authentication",
                "A stronger authentication is required" if not too_old else "A more recent authentication is required",
            )
        return jsonify(records=[{"nir": "1 85 05 33 063 123 45", "benefits": ["RSA", "APL"]}], sub=info["sub"])

    def _challenge(error: str | None, description: str | None = None):
        parts = ['Bearer realm="rncps"']
        if error:
            parts.append(f'error="{error}"')
        if description:
            parts.append(f'error_description="{description}"')
        if error == "insufficient_user_authentication":
            parts += [f'acr_values="{MFA}"', f'max_age="{app.config["MAX_AGE"]}"']
        return jsonify(error=error), 401, {"WWW-Authenticate": ", ".join(parts)}

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=5001)
