"""The authorization endpoint (OIDC Core 3.1.2): validate, log in if needed, issue a code.

Errors follow OIDC Core 3.1.2.6: once the client and its redirect URI are known to be
valid, errors go back to the client; before that, the user gets an error page and is
never redirected to an untrusted URI.
"""

from __future__ import annotations

import time

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import InteractionRequiredError, LoginRequiredError
from flask import abort
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import audit
from ..clock import now
from ..extensions import db
from ..login import flow as login_flow
from ..models import Account, LoginFlow
from ..policy import current_policy
from ..sessions import current_session
from . import acr as acr_rules
from .claims import essential_acr_values, parse_claims_request
from .requests import AuthorizationRequest
from .server import get_server


class RequestNotSupportedError(OAuth2Error):
    error = "request_not_supported"


class RequestURINotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"


class RegistrationNotSupportedError(OAuth2Error):
    error = "registration_not_supported"


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0."""

    error = "unmet_authentication_requirements"


UNSUPPORTED = {
    "request": RequestNotSupportedError,
    "request_uri": RequestURINotSupportedError,
    "registration": RegistrationNotSupportedError,
}


def _redirect_error(error: OAuth2Error) -> Response:
    status, _, headers = error()
    return Response("", status=status, headers=headers)


def _max_age(params: MultiDict) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidRequestError("The 'max_age' parameter must be a non-negative integer.")
    return int(raw)


def authorize(params: MultiDict, flow: LoginFlow | None = None) -> Response:
    oauth_request = AuthorizationRequest(params)
    session = current_session()
    user: Account | None = None
    if session is not None and session.account.is_usable(now().date()):
        user = session.account
    try:
        grant = get_server().get_consent_grant(request=oauth_request, end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:
            return _redirect_error(error)
        # Unknown client, unregistered or missing redirect URI: never redirect.
        if error.error == "invalid_client":
            abort(400, description="unknown_client")
        if "redirect" in (error.description or "").lower():
            abort(400, description="bad_redirect_uri")
        abort(400, description="invalid_request")

    client, redirect_uri = grant.client, grant.redirect_uri
    try:
        for name, error_class in UNSUPPORTED.items():
            if name in params:
                raise error_class(f"The '{name}' parameter is not supported.")
        try:
            claims_request = parse_claims_request(params.get("claims"))
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        max_age = _max_age(params)
        prompts = set(params.get("prompt", "").split())
        policy = current_policy()
        levels = policy.acr_values
        needed = acr_rules.requirement(
            levels, client, params.get("acr_values"), essential_acr_values(claims_request)
        )
        if not needed.satisfiable:
            raise UnmetAuthenticationRequirementsError(
                "The requested authentication level is not one this provider offers."
            )
        minimum = needed.minimum or 0
        if client.service is not None and client.service.code in policy.sensitive.services:
            minimum = len(levels) - 1  # the policy flags this service as sensitive
        required_acr = levels[minimum] if minimum else None

        fresh = (
            flow is not None
            and flow.completed_at is not None
            and session is not None
            and flow.state.get("sid") == session.sid
        )
        need_login = user is None
        if not fresh and user is not None:
            if "login" in prompts or "select_account" in prompts:
                need_login = True
            if max_age is not None and time.time() - session.auth_time > max_age:
                need_login = True

        if need_login:
            if "none" in prompts:
                raise LoginRequiredError()
            started = login_flow.start(params, client, required_acr=required_acr)
            db.session.commit()
            return login_flow.proceed(started)

        # Before any step-up: a code would not give a right the account lacks.
        if not user.has_right_to(client.service):
            audit.record("authorize.no_right", account_id=user.id, client_id=client.client_id)
            db.session.commit()
            raise AccessDeniedError("The account has no right to this service.")
        if acr_rules.level(levels, session.acr) < minimum:
            if "none" in prompts:
                raise InteractionRequiredError("A stronger authentication is required.")
            # Step-up: the session is kept, a code raises it to the required level.
            started = login_flow.start(params, client, purpose="step_up", required_acr=required_acr,
                                       session=session)
            db.session.commit()
            return login_flow.proceed(started)
    except OAuth2Error as error:
        error.redirect_uri = redirect_uri
        error.state = params.get("state")
        return _redirect_error(error)

    oauth_request.login_session = session
    oauth_request.claims_request = claims_request
    response = get_server().create_authorization_response(
        request=oauth_request, grant=grant, grant_user=user
    )
    if response.status_code == 302 and "code=" in response.headers.get("Location", ""):
        audit.record("authorize.code_issued", account_id=user.id, client_id=client.client_id)
    if flow is not None:
        db.session.delete(flow)
    db.session.commit()
    return response
