"""The steps after the password: phone entry, the one-time code, first-login confirmation."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request

from connectors.senders import SendError

from .. import audit, codes, federation
from ..clock import now
from ..extensions import db
from ..lockout import record_failure, reset_failures
from ..models import Account, LoginFlow
from ..phones import PhoneError, mask, parse_phone
from ..policy import current_policy
from ..web import check_csrf
from . import flow as login_flow
from .views import bp, page_context


def _step(step: str) -> tuple[LoginFlow, dict] | tuple[None, object]:
    flow = login_flow.load(request.values.get("flow"))
    context = page_context(flow)
    if login_flow.next_step(flow) != step:
        return None, login_flow.proceed(flow)
    if request.method == "POST":
        check_csrf()
    return flow, context


def _phone_taken(account: Account, e164: str) -> bool:
    if current_policy().phones.shared_numbers_allowed:
        return False
    return db.session.execute(
        db.select(Account.id).where(Account.phone == e164, Account.id != account.id).limit(1)
    ).first() is not None


@bp.route("/login/phone", methods=["GET", "POST"])
def phone():
    """First login of an account without a number: the user enters it. It is kept only
    once a code sent to it has been entered."""
    flow, context = _step("phone")
    if flow is None:
        return context
    if request.method == "GET":
        return render_template("phone.html", **context)
    try:
        entered = parse_phone(request.form.get("phone", ""))
    except PhoneError:
        return render_template("phone.html", error="phone.invalid", value=request.form.get("phone", ""),
                               **context), 400
    if _phone_taken(flow.account, entered.e164):
        return render_template("phone.html", error="phone.taken", value=request.form.get("phone", ""),
                               **context), 400
    flow.state = {**flow.state, "pending_phone": entered.e164}
    login_flow.complete_step(flow, "phone")
    audit.record("login.phone_entered", account_id=flow.account_id, line_type=entered.line_type)
    return login_flow.proceed(flow)


def _target_phone(flow: LoginFlow) -> str:
    return flow.state.get("pending_phone") or flow.account.phone


def _code_page(flow: LoginFlow, context: dict, status: int = 200, **extra):
    record = codes.latest(flow)
    phone = _target_phone(flow)
    channel = record.channel if record else codes.channel_for(current_policy(), phone)
    return render_template("code.html", masked=mask(phone), channel=channel, **extra, **context), status


def _send(flow: LoginFlow, context: dict):
    """Send a code and show the form; on trouble, say what happened and keep the flow."""
    policy = current_policy()
    lifetime = timedelta(seconds=flow.state.get("code_lifetime") or policy.codes.lifetime.total_seconds())
    try:
        codes.issue(policy, flow, flow.account, _target_phone(flow), lifetime)
    except codes.TooSoon as exc:
        return _code_page(flow, context, 429, error="code.too_soon", retry_at=exc.retry_at)
    except codes.SendLimitReached as exc:
        db.session.commit()
        return _code_page(flow, context, 429, error="code.limit", retry_at=exc.retry_at)
    except SendError as exc:
        return _code_page(flow, context, 503, error="code.send_failed" if exc.retryable else "code.send_refused",
                          send_failed=True)
    return _code_page(flow, context, sent=True)


@bp.route("/login/code", methods=["GET", "POST"])
def code():
    flow, context = _step("code")
    if flow is None:
        return context
    policy = current_policy()
    record = codes.latest(flow)
    if request.method == "GET":
        if record is None or not record.is_live(now()):
            if record is None:  # the first visit sends; later ones wait for "resend"
                return _send(flow, context)
            return _code_page(flow, context, error="code.expired")
        return _code_page(flow, context)
    if request.form.get("action") == "resend":
        return _send(flow, context)

    result = codes.verify(policy, flow, request.form.get("code", ""))
    if not result.ok:
        db.session.commit()
        if result.reason in ("wrong", "exhausted") and login_flow.purpose(flow) != "password_reset":
            audit.record("login.code_failure", account_id=flow.account_id, reason=result.reason)
            if flow.state.get("login_method") == "federated":
                # Federated logins are never locked: past the limit, the user waits.
                until = federation.record_failure(policy, flow.account)
                if until is not None:
                    return render_template("upstream_error.html", message="upstream.wait", until=until,
                                           **context), 429
            elif record_failure(policy, flow.account, "code"):
                return render_template("locked.html", **context), 403
        error = {"wrong": "code.wrong", "exhausted": "code.exhausted", "expired": "code.expired"}.get(
            result.reason, "code.none")
        return _code_page(flow, context, 401, error=error)

    account = flow.account
    pending = flow.state.get("pending_phone")
    if pending:
        account.phone = pending
        account.phone_line_type = parse_phone(pending).line_type
        audit.record("account.phone_set", account_id=account.id)
    account.code_verified_at = now()
    if flow.state.get("login_method") == "federated":
        federation.reset_failures(account)
    else:
        reset_failures(account)
    amr_channel = codes.CHANNEL_AMR[result.code.channel]
    login_flow.complete_step(flow, "code", amr=["otp", amr_channel])
    audit.record("login.code_ok", account_id=account.id, channel=result.code.channel)
    return login_flow.proceed(flow)


@bp.route("/login/confirm", methods=["GET", "POST"])
def confirm():
    """First login: the user checks the account's data; only an administrator corrects it."""
    flow, context = _step("confirm")
    if flow is None:
        return context
    if request.method == "GET":
        return render_template("confirm.html", account=flow.account, **context)
    flow.account.confirmed_at = now()
    login_flow.complete_step(flow, "confirm")
    audit.record("account.data_confirmed", account_id=flow.account_id)
    return login_flow.proceed(flow)
