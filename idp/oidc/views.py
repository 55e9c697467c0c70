"""Protocol endpoints: discovery, JWKS, authorization, token, UserInfo, revocation,
introspection (OIDC Core, OIDC Discovery, RFC 6749, 7009, 7662)."""

from __future__ import annotations

import base64
import json
from typing import Any

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers import Response as BaseResponse

from .. import keys
from ..clock import now
from ..config import Settings
from ..extensions import db
from ..login import flow as login_flow
from ..models import Token
from ..policy_store import current_policy
from .authorize import authorize
from .authorize import resume as resume_authorization
from .claims import CLAIMS_SUPPORTED, SCOPES_SUPPORTED, select
from .grants import ALL_METHODS
from .metadata import REFRESH, DocumentCache
from .server import get_protector, get_server

bp = Blueprint("oidc", __name__)


def _url(endpoint: str) -> str:
    settings: Settings = current_app.config["IDP"]
    return settings.issuer + url_for(endpoint)


def _discovery_document() -> dict[str, Any]:
    settings: Settings = current_app.config["IDP"]
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": _url("oidc.authorization"),
        "token_endpoint": _url("oidc.token"),
        "userinfo_endpoint": _url("oidc.userinfo"),
        "jwks_uri": _url("oidc.jwks"),
        "revocation_endpoint": _url("oidc.revocation"),
        "introspection_endpoint": _url("oidc.introspection"),
        "end_session_endpoint": _url("logout.end_session"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted(
            {settings.oidc.signing_alg, *(k.alg for k in keys.published_keys())}
        ),
        "token_endpoint_auth_methods_supported": ALL_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "revocation_endpoint_auth_methods_supported": ALL_METHODS,
        "introspection_endpoint_auth_methods_supported": [m for m in ALL_METHODS if m != "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS_SUPPORTED,
        "claims_parameter_supported": True,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "acr_values_supported": current_policy().acr_values,
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": list(settings.ui.locales),
        "claim_types_supported": ["normal"],
    }


@bp.record_once
def _hold_documents(state: BlueprintSetupState) -> None:
    """This app's documents, by the endpoint that serves them (idp.oidc.documents answers
    them ahead of Flask once held)."""
    state.app.extensions["idp.metadata"] = {
        "oidc.discovery": DocumentCache(_discovery_document, max_age=300),
        # Relying parties keep the key set no longer than a process does before rereading it.
        "oidc.jwks": DocumentCache(keys.public_jwks, max_age=int(REFRESH.total_seconds())),
    }


def _document(endpoint: str) -> Response:
    documents: dict[str, DocumentCache] = current_app.extensions["idp.metadata"]
    return documents[endpoint].response(current_policy())


@bp.get("/.well-known/openid-configuration")
def discovery() -> Response:
    return _document("oidc.discovery")


@bp.get("/jwks.json")
def jwks() -> Response:
    return _document("oidc.jwks")


def _malformed_basic_authorization() -> Response | None:
    """Authlib fails on a Basic header that is not ASCII, not UTF-8 once decoded, or only
    blanks: answer ``invalid_client`` (RFC 6749 5.2) before it reads the header."""
    header = request.headers.get("Authorization")
    if header is None or " " not in header:
        return None  # no credentials in the header: Authlib answers
    parts = header.split(None, 1)
    if len(parts) == 2 and parts[0].lower() != "basic":
        return None  # another scheme: not client credentials
    try:
        decoded = base64.b64decode(parts[1].strip().encode("ascii"), validate=True).decode("utf-8")
    except (IndexError, UnicodeError, ValueError):
        decoded = ""
    if ":" in decoded:
        return None
    return Response(json.dumps({"error": "invalid_client", "error_description": "Malformed Basic credentials."}),
                    status=401, mimetype="application/json",
                    headers={"WWW-Authenticate": 'Basic realm="token"', "Cache-Control": "no-store"})


@bp.route("/authorize", methods=["GET", "POST"])
def authorization() -> BaseResponse:
    return authorize(request.values)


@bp.get("/authorize/resume")
def resume() -> BaseResponse:
    return resume_authorization(login_flow.load(request.args.get("flow")))


@bp.post("/token")
def token() -> Response:
    malformed = _malformed_basic_authorization()
    if malformed is not None:
        return malformed
    response: Response = get_server().create_token_response()
    if response.status_code == 200:
        db.session.commit()
    else:
        db.session.rollback()
    return response


@bp.post("/revoke")
def revocation() -> Response:
    malformed = _malformed_basic_authorization()
    if malformed is not None:
        return malformed
    response: Response = get_server().create_endpoint_response("revocation")
    db.session.commit()
    return response


@bp.post("/introspect")
def introspection() -> Response:
    malformed = _malformed_basic_authorization()
    if malformed is not None:
        return malformed
    response: Response = get_server().create_endpoint_response("introspection")
    return response


def _bearer_error(
    error: str | None, status: int = 401, scope: str | None = None
) -> tuple[Response, int, dict[str, str]]:
    """RFC 6750 3: no error code when the request carried no token at all."""
    challenge = f'Bearer realm="{current_app.config["IDP"].issuer}"'
    if error:
        challenge += f', error="{error}"'
    if scope:
        challenge += f', scope="{scope}"'
    body = {"error": error} if error else {}
    return jsonify(body), status, {"WWW-Authenticate": challenge, "Cache-Control": "no-store"}


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response | tuple[Response, int, dict[str, str]]:
    """OIDC Core 5.3, with the access token in the Authorization header."""
    try:
        token: Token = get_protector().acquire_token(["openid"])
    except OAuth2Error as error:
        if error.error == "missing_authorization":
            return _bearer_error(None)
        if error.error == "insufficient_scope":
            return _bearer_error("insufficient_scope", 403, "openid")
        if error.error == "unsupported_token_type":
            return _bearer_error("invalid_request", 400)
        return _bearer_error("invalid_token")
    account = token.get_user()
    if account is None or not account.is_usable(now().date()):
        return _bearer_error("invalid_token")
    claims = {"sub": account.subject}
    provenance = token.provenance
    claims.update(select(account, token.scope, provenance.claims if provenance else None, "userinfo",
                         include_scope_claims=True, establishment=provenance.establishment if provenance else None))
    response = jsonify(claims)
    response.headers["Cache-Control"] = "no-store"
    return response
