"""The code step: a one-time code sent by SMS or voice call, entered once.

Wrong codes count as authentication failures: they lock a local account at the
policy's limit, and throttle a federated one (it is never locked)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from connectors.senders import SendError

from .. import audit, codes, devices, federation, limits, notifications
from ..clock import now
from ..directory import PhoneRefused, check_phone
from ..extensions import db
from ..lockout import record_failure, reset_failures
from ..models import LoginFlow, OneTimeCode
from ..phones import mask, parse_phone
from ..policy_store import current_policy
from . import flow as login_flow
from .pages import step


def _target_phone(flow: LoginFlow) -> str:
    return flow.state.pending_phone or flow.account.phone


def _page_values(flow: LoginFlow, context: dict[str, Any], record: OneTimeCode | None = None) -> dict[str, Any]:
    """The page's channel is the latest code's (``record``, when the caller has it)."""
    record = record or codes.latest(flow)
    phone = _target_phone(flow)
    policy = current_policy()
    channel = record.channel if record else codes.channel_for(policy, phone)
    voice = channel == "sms" and codes.voice_offered(policy, phone)
    return {"masked": mask(phone), "channel": channel, "voice_offered": voice, **context}


def _code_page(flow: LoginFlow, context: dict[str, Any], status: int = 200, record: OneTimeCode | None = None,
               **extra: Any):
    return render_template("code.html", **extra, **_page_values(flow, context, record)), status


def _send(flow: LoginFlow, context: dict[str, Any], by_voice: bool = False):
    """Send a code and show the form; on trouble, say what happened and keep the flow."""
    policy = current_policy()
    try:
        sent = codes.issue(policy, flow, flow.account, _target_phone(flow), flow.state.decision.code_lifetime,
                           by_voice=by_voice)
    except limits.RateLimited as limited:
        return limits.answer(limited, "code.html", **_page_values(flow, context))
    except SendError as exc:
        return _code_page(flow, context, 503, error="code.send_failed" if exc.retryable else "code.send_refused",
                          send_failed=True)
    return _code_page(flow, context, sent=True, record=sent)


def _failed(flow: LoginFlow, context: dict[str, Any], reason: str):
    """A wrong or exhausted code: count it against the account, then answer."""
    policy = current_policy()
    audit.record("login.code_failure", account_id=flow.account_id, reason=reason)
    if flow.state.login_method == "federated":
        # Federated logins are never locked: past the limit, the user waits.
        try:
            federation.record_failure(policy, flow.account)
        except limits.RateLimited as limited:
            return limits.answer(limited, "upstream_error.html", **context)
    elif record_failure(policy, flow.account, "code"):
        return render_template("locked.html", **context), 403
    return None


@step("code")
def code(flow: LoginFlow, context: dict[str, Any]):
    policy = current_policy()
    if flow.state.login_method == "federated":
        try:  # the wait holds for every step of every federated login of the account
            federation.check_throttle(policy, flow.account)
        except limits.RateLimited as limited:
            return limits.answer(limited, "upstream_error.html", **context)
    record = codes.latest(flow)
    if request.method == "GET":
        if record is None:  # the first visit sends; later ones wait for "resend"
            return _send(flow, context)
        if not record.is_live(now()):
            return _code_page(flow, context, record=record, error="code.expired")
        return _code_page(flow, context, record=record)
    if request.form.get("action") in ("resend", "voice"):
        return _send(flow, context, by_voice=request.form["action"] == "voice")

    result = codes.verify(policy, flow, request.form.get("code", ""), record)
    if not result.ok:
        db.session.commit()
        if result.reason in ("wrong", "exhausted") and flow.state.purpose != "password_reset":
            answered = _failed(flow, context, result.reason)
            if answered is not None:
                return answered
        error = {"wrong": "code.wrong", "exhausted": "code.exhausted", "expired": "code.expired"}.get(
            result.reason, "code.none")
        return _code_page(flow, context, 401, error=error)

    account = flow.account
    pending = flow.state.pending_phone
    if pending:
        try:  # still free and allowed now that the code is back
            account.phone, account.phone_line_type = check_phone(pending, account)
        except PhoneRefused:
            db.session.rollback()
            return _code_page(flow, context, 409, error="code.phone_taken")
        if account.phone_line_type is None:
            account.phone_line_type = parse_phone(pending).line_type
        # Workstations trusted with the old number end (this browser is trusted again below).
        devices.revoke_all(account, "phone changed")
        audit.record("account.phone_set", account_id=account.id, actor=account.identifier)
        notifications.notify(account, "phone_changed")
    account.code_verified_at = now()
    if flow.state.login_method == "federated":
        federation.reset_failures(account)
    else:
        reset_failures(account)
    login_flow.complete_step(flow, "code", amr=["otp", codes.CHANNEL_AMR[result.code.channel]])
    audit.record("login.code_ok", account_id=account.id, channel=result.code.channel)
    return login_flow.proceed(flow)
