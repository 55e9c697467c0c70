"""Logging in through an upstream provider (Net-entreprises…) instead of a password.

The upstream replaces the password step; the phone, code and confirmation steps follow
as for a local login. Any upstream error ends on a clear page with nobody logged in.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import abort, current_app, redirect, render_template, request, url_for

from connectors.upstream import UpstreamError, UpstreamRequest

from .. import audit, federation, limits
from ..extensions import db
from ..models import LoginFlow
from ..policy_store import current_policy
from . import flow as login_flow
from .pages import page_context, step
from .state import UpstreamAttempt


def _request_of(flow: LoginFlow, attempt: UpstreamAttempt) -> UpstreamRequest:
    return UpstreamRequest(state=f"{flow.flow_id}.{attempt.state}", nonce=attempt.nonce,
                           code_verifier=attempt.verifier, redirect_uri=_callback_url())


def _callback_url() -> str:
    return current_app.config["IDP"].issuer + url_for("login.upstream_callback")


def _failure(flow: LoginFlow | None, reason: str, message: str = "upstream.failed", status: int = 502,
             **extra: Any):
    audit.record("login.upstream_failure", account_id=flow.account_id if flow else None,
                 client_id=flow.client_id if flow else None, reason=reason)
    db.session.commit()
    context = page_context(flow) if flow is not None else {}
    return render_template("upstream_error.html", message=message, **extra, **context), status


@step("password")
def upstream_start(flow: LoginFlow, context: dict[str, Any], upstream_id: str):
    upstream = federation.upstreams().get(upstream_id)
    if upstream is None:
        abort(404)
    attempt = UpstreamAttempt(id=upstream_id, state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                              verifier=secrets.token_urlsafe(48))
    flow.update_state(upstream=attempt)
    try:
        url = upstream.start(_request_of(flow, attempt))
    except UpstreamError as exc:
        return _failure(flow, exc.reason)
    db.session.commit()
    return redirect(url)


def upstream_callback():
    flow_id, _, nonce_part = (request.args.get("state") or "").partition(".")
    flow = login_flow.load(flow_id)  # the browser that started the flow, or 400
    if login_flow.next_step(flow) != "password":
        # The upstream stands for the password step, and only while it is the next one: a
        # flow past it (a password given meanwhile, its code perhaps too) never changes
        # whose login it is, nor lends its steps to another account.
        return _failure(flow, "password step already done", status=400)
    attempt = flow.state.upstream
    if attempt is None or not attempt.state or not hmac.compare_digest(nonce_part.encode(), attempt.state.encode()):
        return _failure(flow, "state mismatch", status=400)
    upstream = federation.upstreams().get(attempt.id)
    if upstream is None:
        return _failure(flow, "upstream no longer configured", status=400)
    upstream_request = _request_of(flow, attempt)
    # The state is spent: a replayed callback cannot be finished twice.
    flow.update_state(upstream=attempt.model_copy(update={"state": ""}))
    db.session.commit()
    # The upstream's answer takes seconds: what this request holds (the flow's account
    # among it) is read again after it, an account locked meanwhile seen as locked.
    db.session.expire_all()
    try:
        identity = upstream.finish(request.args.to_dict(), upstream_request)
    except UpstreamError as exc:
        return _failure(flow, exc.reason)
    # Asked again, on the flow as it is now and held until this request ends: the same
    # browser may have given a password (and a code) meanwhile.
    db.session.execute(db.select(LoginFlow.id).where(LoginFlow.id == flow.id).with_for_update())
    db.session.refresh(flow)
    if login_flow.next_step(flow) != "password":
        return _failure(flow, "password step already done", status=400)
    try:
        account = federation.account_for(identity)
    except federation.NoAccount as exc:
        return _failure(flow, exc.reason, message="upstream.no_account", status=403, label=upstream.label)
    except federation.AccountLocked as locked:
        audit.record("login.locked", account_id=locked.account.id, client_id=flow.client_id, issuer=identity.issuer)
        db.session.commit()
        return render_template("locked.html", **page_context(flow)), 403
    try:
        federation.check_throttle(current_policy(), account)
    except limits.RateLimited as limited:
        audit.record("login.upstream_failure", account_id=account.id, client_id=flow.client_id, reason="throttled")
        db.session.commit()
        return limits.answer(limited, "upstream_error.html", **page_context(flow))
    flow.account = account
    flow.update_state(login_method="federated")
    # Our amr says what this provider verified: a federated login, whatever the upstream
    # claims of its own methods (kept in the audit trail, never copied into tokens).
    login_flow.complete_step(flow, "password", amr=["fed"])
    login_flow.decide(flow)
    audit.record("login.upstream_ok", account_id=account.id, client_id=flow.client_id, issuer=identity.issuer,
                 upstream_amr=list(identity.amr))
    return login_flow.proceed(flow)
