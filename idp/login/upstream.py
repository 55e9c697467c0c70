"""Logging in through an upstream provider (Net-entreprises…) instead of a password.

The upstream replaces the password step; the phone, code and confirmation steps follow
as for a local login. Any upstream error ends on a clear page with nobody logged in.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, current_app, redirect, render_template, request, url_for

from connectors.upstream import UpstreamError, UpstreamRequest

from .. import audit, federation
from ..extensions import db
from ..models import LoginFlow
from . import flow as login_flow
from .views import bp, page_context


def _request_of(flow: LoginFlow) -> UpstreamRequest:
    data = flow.state["upstream"]
    return UpstreamRequest(state=f"{flow.flow_id}.{data['state']}", nonce=data["nonce"],
                           code_verifier=data["verifier"], redirect_uri=_callback_url())


def _callback_url() -> str:
    return current_app.config["IDP"].issuer + url_for("login.upstream_callback")


def _failure(flow: LoginFlow | None, reason: str, message: str = "upstream.failed", status: int = 502, **extra):
    audit.record("login.upstream_failure", account_id=flow.account_id if flow else None,
                 client_id=flow.client_id if flow else None, reason=reason)
    db.session.commit()
    context = page_context(flow) if flow is not None else {}
    return render_template("upstream_error.html", message=message, **extra, **context), status


@bp.get("/login/upstream/<upstream_id>")
def upstream_start(upstream_id: str):
    flow = login_flow.load(request.args.get("flow"))
    if login_flow.next_step(flow) != "password":
        return login_flow.proceed(flow)
    upstream = federation.upstreams().get(upstream_id)
    if upstream is None:
        abort(404)
    flow.state = {**flow.state, "upstream": {
        "id": upstream_id, "state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
        "verifier": secrets.token_urlsafe(48)}}
    try:
        url = upstream.start(_request_of(flow))
    except UpstreamError as exc:
        return _failure(flow, exc.reason)
    db.session.commit()
    return redirect(url)


@bp.get("/login/upstream/callback")
def upstream_callback():
    flow_id, _, nonce_part = (request.args.get("state") or "").partition(".")
    flow = login_flow.load(flow_id)  # the browser that started the flow, or 400
    expected = (flow.state.get("upstream") or {}).get("state", "")
    if not expected or not hmac.compare_digest(nonce_part, expected):
        return _failure(flow, "state mismatch", status=400)
    upstream = federation.upstreams()[flow.state["upstream"]["id"]]
    upstream_request = _request_of(flow)
    # The state is spent: a replayed callback cannot be finished twice.
    flow.state = {**flow.state, "upstream": {**flow.state["upstream"], "state": ""}}
    db.session.commit()
    try:
        identity = upstream.finish(request.args.to_dict(), upstream_request)
    except UpstreamError as exc:
        return _failure(flow, exc.reason)
    try:
        account = federation.account_for(identity)
    except federation.NoAccount as exc:
        return _failure(flow, exc.reason, message="upstream.no_account", status=403, label=upstream.label)
    until = federation.waiting_until(account)
    if until is not None:
        return _failure(flow, "throttled", message="upstream.wait", status=429, until=until)
    flow.account = account
    flow.state = {**flow.state, "login_method": "federated", "upstream_issuer": identity.issuer}
    login_flow.complete_step(flow, "password", amr=list(identity.amr) or ["fed"])
    login_flow.decide(flow)
    audit.record("login.upstream_ok", account_id=account.id, client_id=flow.client_id, issuer=identity.issuer)
    return login_flow.proceed(flow)
