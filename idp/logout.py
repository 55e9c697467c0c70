"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

A valid ``id_token_hint`` for the session's user logs out at once; otherwise the user
confirms. ``post_logout_redirect_uri`` must exactly match one registered by the client,
or the user gets an error page, never a redirect.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import Blueprint, abort, current_app, redirect, render_template, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from . import keys, sessions
from .extensions import db
from .models import Client
from .web import allow_form_target, check_csrf

bp = Blueprint("logout", __name__)


def _verify_hint(hint: str) -> dict | None:
    """Claims of an ID token this IdP signed (expired ones accepted, as the spec allows)."""
    published = KeySet([keys.load(k.kid, k.private_jwk) for k in keys.published_keys()])
    try:
        token = jwt.decode(hint, published, algorithms=["RS256", "ES256"])
    except (JoseError, ValueError):
        return None
    claims = token.claims
    if token.header.get("typ") == "at+jwt" or "client_id" in claims:
        return None  # a JWT access token (RFC 9068) is signed by the same key: not an ID token
    if claims.get("iss") != current_app.config["IDP"].issuer or not claims.get("sub"):
        return None
    return claims


def _client(client_id: str | None) -> Client | None:
    if not client_id:
        return None
    return db.session.execute(db.select(Client).filter_by(client_id=client_id)).scalar_one_or_none()


@bp.route("/logout", methods=["GET", "POST"])
def end_session():
    values = request.values
    hint_claims = None
    if values.get("id_token_hint"):
        hint_claims = _verify_hint(values["id_token_hint"])
        if hint_claims is None:
            abort(400, description="logout.bad_hint")
    audience = hint_claims.get("aud") if hint_claims else None
    if isinstance(audience, list):
        audience = audience[0] if len(audience) == 1 else None
    client_id = values.get("client_id") or audience
    if hint_claims and values.get("client_id") and values["client_id"] != audience:
        abort(400, description="logout.bad_hint")
    client = _client(client_id)

    target = values.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        abort(400, description="logout.bad_redirect")
    if target and values.get("state"):
        target = add_params_to_uri(target, [("state", values["state"])])

    session = sessions.current_session()
    confirmed = request.method == "POST"
    if confirmed:
        check_csrf()
    elif hint_claims and (session is None or session.account.subject == hint_claims["sub"]):
        confirmed = True
    if not confirmed:
        if target:
            allow_form_target(target)
        return render_template(
            "logout.html",
            client=client,
            post_logout_redirect_uri=values.get("post_logout_redirect_uri"),
            state=values.get("state"),
            client_id=client_id,
        )
    sessions.end_session(session)
    db.session.commit()
    if target:
        return redirect(target)
    return render_template("logged_out.html", client=client)

