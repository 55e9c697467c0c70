"""How the console is reached, and guarded.

The provider is a relying party of itself for its console, as an account console is:
a page asked without a session starts an authorization request of the ``idp-console``
client (code flow, PKCE S256, state), and ``/account/callback`` redeems the code, checks
that the session that issued it is this browser's, then goes back to the page asked.

Sensitive actions (the policy's ``sensitive.actions``) need a code verified in the
session, once: :func:`require_code` asks the policy engine with the session as it is
(its multi-factor level counts; a trusted workstation alone does not) and, if a code is
needed, starts a step-up flow that comes back to the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import replace
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, current_app, g, make_response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from .. import signing
from ..clients import create_client
from ..clock import now
from ..digests import digest
from ..extensions import db
from ..login import flow as login_flow
from ..models import AuthorizationCode, Client, LoginSession
from ..oidc.tokens import claim_once
from ..policy_store import current_policy
from ..sessions import current_session
from ..web import clear_cookie, read_cookie, set_cookie

CONSOLE_CLIENT = "idp-console"
LOGIN_COOKIE = "__Host-idp-console"
LOGIN_MAX_AGE = 1800  # seconds to come back from the login


def _callback_url() -> str:
    return current_app.config["IDP"].issuer + url_for("account.callback")


def console_client() -> Client:
    """The console's own client, registered the first time it is needed."""
    client = db.session.execute(db.select(Client).filter_by(client_id=CONSOLE_CLIENT)).scalar_one_or_none()
    if client is None:
        client, _ = create_client("Mon compte", service=None, redirect_uris=[_callback_url()], auth_method="none",
                                  grant_types=["authorization_code"], scope="openid", client_id=CONSOLE_CLIENT)
        db.session.commit()
    elif _callback_url() not in client.redirect_uris:  # the issuer changed (make run PORT=…)
        client.redirect_uris = [_callback_url()]
        db.session.commit()
    return client


def _local(path: str | None) -> str:
    """A path on this site only: never a redirect elsewhere."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return url_for("account.overview")
    return path


def start_login(next_path: str) -> BaseResponse:
    """An authorization request of the console client, coming back to ``next_path``."""
    console_client()
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": CONSOLE_CLIENT, "redirect_uri": _callback_url(),
             "scope": "openid", "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    if request.args.get("ui_locales"):
        query["ui_locales"] = request.args["ui_locales"]
    response = make_response(redirect(url_for("oidc.authorization") + "?" + urlencode(query)))
    set_cookie(response, LOGIN_COOKIE, signing.dumps("console-login", [state, verifier, _local(next_path)]),
               LOGIN_MAX_AGE)
    return response


def callback() -> BaseResponse:
    """``/account/callback``: redeem the console's code, then go where the user was going."""
    try:
        state, verifier, next_path = signing.loads("console-login", read_cookie(LOGIN_COOKIE) or "",
                                                   LOGIN_MAX_AGE)
    except (signing.InvalidToken, ValueError, TypeError):
        abort(400, description="flow_expired")
    if request.args.get("error"):
        abort(403, description="account.signed_out")
    if not hmac.compare_digest(str(request.args.get("state", "")).encode(), str(state).encode()):
        abort(400, description="flow_expired")
    code = db.session.execute(
        db.select(AuthorizationCode).filter_by(code_digest=digest(request.args.get("code", "")[:128]))
    ).scalar_one_or_none()
    session = current_session()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(str(verifier).encode()).digest()).rstrip(b"=").decode()
    if (code is None or code.client_id != CONSOLE_CLIENT or code.expires_at <= now() or session is None
            or code.provenance is None or code.provenance.sid != session.sid
            or not hmac.compare_digest(code.code_challenge.encode(), challenge.encode())
            or not claim_once(AuthorizationCode.used_at, code.id, AuthorizationCode)):
        db.session.rollback()
        abort(400, description="flow_expired")
    db.session.commit()
    response = redirect(_local(next_path))
    clear_cookie(response, LOGIN_COOKIE)
    return response


def signed_in(view: Any) -> Any:
    """A console page: the signed-in, usable account in ``g.account``, or a login first."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = current_session()
        if session is None or not session.account.is_usable(now().date()):
            if request.method != "GET":
                abort(401, description="account.signed_out")
            return start_login(request.full_path.rstrip("?"))
        g.account = session.account
        return view(*args, **kwargs)

    return run


def administrator(view: Any) -> Any:
    """A page for the establishment's administrators only."""

    @wraps(view)
    @signed_in
    def run(*args: Any, **kwargs: Any) -> Any:
        if g.account.profile != "administrator":
            abort(403, description="admin.forbidden")
        return view(*args, **kwargs)

    return run


def _session() -> LoginSession:
    session = current_session()
    if session is None:  # the pages that ask are behind signed_in
        abort(401, description="account.signed_out")
    return session


def require_code(action: str, return_to: str | None = None) -> BaseResponse | None:
    """``None`` if the session may do ``action`` now; else the step-up that asks a code and
    comes back to ``return_to`` (this page by default)."""
    session = _session()
    decision = login_flow.decide_for_session(session, action=action)
    if not decision.require_code:
        return None
    flow = login_flow.start("sensitive", session=session, decision=decision,
                            return_to=_local(return_to or request.full_path.rstrip("?")))
    return login_flow.proceed(flow)


def verify_new_phone(e164: str, return_to: str) -> BaseResponse:
    """Send a code to ``e164``; the number becomes the account's only once that code is
    entered (the code step keeps a pending number, as at first login), then back to
    ``return_to``."""
    session = _session()
    decision = replace(login_flow.decide_for_session(session, action="self.change_phone"), require_code=True,
                       acr=current_policy().acr.multi_factor)
    decision = replace(decision, trace=(*decision.trace, "a new number is kept only once a code sent to it is entered"))
    flow = login_flow.start("sensitive", session=session, decision=decision, return_to=_local(return_to))
    flow.update_state(pending_phone=e164)
    return login_flow.proceed(flow)


def sensitive_done() -> Response | BaseResponse:
    """The code is verified: the session now holds it; back to the page."""
    flow = login_flow.load(request.args.get("flow"))
    if flow.state.purpose != "sensitive" or login_flow.next_step(flow) is not None:
        return login_flow.proceed(flow)
    return_to = _local(flow.state.return_to)
    login_flow.finish(flow)
    db.session.delete(flow)
    db.session.commit()
    return redirect(return_to)
