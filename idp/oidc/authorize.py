"""The authorization endpoint (OIDC Core 3.1.2) in three parts: validate, require, issue.

- :func:`validate` checks the request once: Authlib's grant (client, redirect URI,
  response type, scope, PKCE S256), then this provider's parameters (``claims``,
  ``max_age``, the acr the client demands).
- :func:`require` says what the browser's session lacks: a login, the right to the
  client's service, or a code (the policy engine's decision, read as it is).
- :func:`issue` answers with a code that carries the session's provenance.

When a login is needed, the flow stores the validated request, this endpoint answers
with the login page itself, and :func:`resume` answers the request afterwards without
validating again.

Errors follow OIDC Core 3.1.2.6: once the client and its redirect URI are known to be
valid, errors go back to the client; before that, the user gets an error page and is
never redirected to an untrusted URI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import InteractionRequiredError, LoginRequiredError
from flask import abort
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import audit
from ..clock import epoch_now, now
from ..delegations import has_right, membership
from ..extensions import db
from ..login import flow as login_flow
from ..login.password import first_page
from ..login.state import Authorization
from ..models import Account, Client, LoginFlow, LoginSession
from ..policy_store import current_policy
from ..provenance import Provenance
from ..sessions import current_session
from . import acr as acr_rules
from .claims import essential_acr_values, parse_claims_request
from .grants import AuthorizationCodeGrant
from .parameters import AuthorizationRequest
from .server import get_server, query_client


class RequestNotSupportedError(OAuth2Error):
    error = "request_not_supported"


class RequestURINotSupportedError(OAuth2Error):
    error = "request_uri_not_supported"


class RegistrationNotSupportedError(OAuth2Error):
    error = "registration_not_supported"


class UnmetAuthenticationRequirementsError(OAuth2Error):
    """OpenID Connect Core Unmet Authentication Requirements 1.0."""

    error = "unmet_authentication_requirements"


UNSUPPORTED: dict[str, type[OAuth2Error]] = {
    "request": RequestNotSupportedError,
    "request_uri": RequestURINotSupportedError,
    "registration": RegistrationNotSupportedError,
}


@dataclass(frozen=True)
class ValidRequest:
    """An authorization request that passed validation, with what it asks for."""

    grant: AuthorizationCodeGrant
    params: MultiDict[str, str]
    client: Client
    redirect_uri: str
    claims: dict[str, Any] | None
    requested_acr: str | None            # the client's minimum, acr_values or an essential acr
    max_age: int | None = None
    prompts: frozenset[str] = frozenset()
    establishment: str | None = None     # ``peps_siret``: the establishment the user acts for

    def stored(self) -> Authorization:
        return Authorization(client_id=self.client.client_id, redirect_uri=self.redirect_uri,
                             scope=self.grant.request.scope or "", claims=self.claims)


def _redirect_error(error: OAuth2Error) -> Response:
    status, _, headers = error()
    return Response("", status=status, headers=headers)


def _max_age(params: MultiDict[str, str]) -> int | None:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidRequestError("The 'max_age' parameter must be a non-negative integer.")
    return int(raw)


def validate(params: MultiDict[str, str], user: Account | None) -> ValidRequest:
    """Validate the request once; an untrusted client or redirect URI gives a 400 page,
    any later problem an error redirect (:class:`OAuth2Error` with ``redirect_uri``)."""
    try:
        grant = get_server().get_consent_grant(request=AuthorizationRequest(params), end_user=user)
    except ValueError:
        # Authlib cannot even describe the problem: its error descriptions refuse quotes,
        # backslashes, control and non-ASCII characters echoed from the request.
        abort(400, description="invalid_request")
    except OAuth2Error as error:
        if error.redirect_uri:
            raise
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
            claims = parse_claims_request(params.get("claims"))
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        max_age = _max_age(params)
        establishment = params.get("peps_siret") or None
        if establishment is not None and not re.fullmatch(r"\d{14}", establishment):
            raise InvalidRequestError("The 'peps_siret' parameter must be a SIRET (14 digits).")
        needed = acr_rules.requirement(
            current_policy().acr_values, client, params.get("acr_values"), essential_acr_values(claims)
        )
        if not needed.satisfiable:
            raise UnmetAuthenticationRequirementsError(
                "The requested authentication level is not one this provider offers."
            )
    except OAuth2Error as error:
        error.redirect_uri, error.state = redirect_uri, params.get("state")
        raise
    return ValidRequest(grant, params, client, redirect_uri, claims, needed.acr, max_age,
                        frozenset(params.get("prompt", "").split()), establishment)


def require(request: ValidRequest, session: LoginSession | None) -> Response | None:
    """What the session lacks for this request, as a response (a login or step-up flow),
    or None when a code can be issued now. Raises :class:`OAuth2Error` to refuse."""
    user = session.account if session is not None and session.account.is_usable(now().date()) else None
    need_login = user is None or bool(request.prompts & {"login", "select_account"})
    if session is not None and request.max_age is not None:
        # A login session always carries its provenance (idp.sessions.start_session).
        need_login = need_login or epoch_now() - cast(Provenance, session.provenance).auth_time > request.max_age
    # need_login is already true when there is no session: the second test only narrows its type.
    if need_login or session is None:
        if "none" in request.prompts:
            raise LoginRequiredError()
        flow = login_flow.start("login", params=request.params, client=request.client,
                                authorization=request.stored(), requested_acr=request.requested_acr,
                                establishment=request.establishment)
        return first_page(flow)
    # Before any step-up: a code would not give a right the account lacks.
    _check_right(session, request.client, request.establishment)
    decision = login_flow.decide_for_session(session, client=request.client,
                                             requested_acr=request.requested_acr)
    if decision.require_code:
        if "none" in request.prompts:
            raise InteractionRequiredError("A stronger authentication is required.")
        # Step-up: the session is kept, a code raises it to the level the policy names.
        flow = login_flow.start("step_up", params=request.params, client=request.client,
                                authorization=request.stored(), requested_acr=request.requested_acr,
                                session=session, decision=decision, establishment=request.establishment)
        return login_flow.proceed(flow)
    return None


def _check_right(session: LoginSession, client: Client, establishment: str | None = None) -> None:
    """The account must have the right to the client's service in the establishment it
    acts for: the one the request names, else the session's choice, else its own."""
    provenance = session.provenance
    acting = establishment or (provenance.establishment if provenance is not None else None)
    if establishment is not None and membership(session.account, establishment) is None:
        audit.record("authorize.no_establishment", account_id=session.account_id, client_id=client.client_id,
                     siret=establishment)
        db.session.commit()
        raise AccessDeniedError("The account does not act for this establishment.")
    if not has_right(session.account, client.service, acting):
        audit.record("authorize.no_right", account_id=session.account_id, client_id=client.client_id)
        db.session.commit()
        raise AccessDeniedError("The account has no right to this service.")


def issue(request: ValidRequest, session: LoginSession) -> Response:
    """Answer with a code carrying the session's provenance (and this request's claims)."""
    grant = request.grant
    grant.request.provenance = cast(Provenance, session.provenance).for_request(request.claims, request.establishment)
    status, body, headers = grant.create_authorization_response(request.redirect_uri, session.account)
    audit.record("authorize.code_issued", account_id=session.account.id, client_id=request.client.client_id)
    response: Response = get_server().handle_response(status, body, headers)
    return response


def authorize(params: MultiDict[str, str]) -> Response:
    """``/authorize``: validate, then either start what the session lacks or issue."""
    session = current_session()
    user = session.account if session is not None and session.account.is_usable(now().date()) else None
    try:
        request = validate(params, user)
    except OAuth2Error as error:
        return _redirect_error(error)
    try:
        lacking = require(request, session)
    except OAuth2Error as error:
        error.redirect_uri, error.state = request.redirect_uri, params.get("state")
        return _redirect_error(error)
    if lacking is not None:
        return lacking
    # require() asks for a login when there is no session: here there is one.
    assert session is not None
    response = issue(request, session)
    db.session.commit()
    return response


def _restore(flow: LoginFlow) -> ValidRequest:
    """The request the flow stored, ready to answer: no validation again, one client read.
    A client removed, or its redirect URI unregistered, meanwhile ends on an error page."""
    stored = flow.state.authorization
    client = query_client(stored.client_id) if stored is not None else None
    if stored is None or client is None or stored.redirect_uri not in client.redirect_uris:
        abort(400, description="flow_expired")
    params = login_flow.params_of(flow)
    oauth_request = AuthorizationRequest(params)
    oauth_request.client = client
    oauth_request.scope = stored.scope
    grant = get_server().get_authorization_grant(oauth_request)
    return ValidRequest(grant, params, client, stored.redirect_uri, stored.claims, flow.state.requested_acr,
                        establishment=flow.state.establishment)


def resume(flow: LoginFlow) -> Response:
    """``/authorize/resume``: the login flow is done; open its session and answer."""
    step = login_flow.next_step(flow)
    if step is not None:  # the establishment, which proceed leaves to this end, or any step if visited early
        return login_flow.go_to(flow, step)
    request = _restore(flow)
    session = login_flow.finish(flow)
    db.session.delete(flow)
    try:
        _check_right(session, request.client, request.establishment)
    except OAuth2Error as error:
        error.redirect_uri, error.state = request.redirect_uri, request.params.get("state")
        db.session.commit()
        return _redirect_error(error)
    response = issue(request, session)
    db.session.commit()
    return response
