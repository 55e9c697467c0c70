"""Forgotten password and forgotten identifier, without revealing whether an account exists.

Password reset: identifier + professional email → a single-use link by email → a new
password → a code when the account has a phone → the password changes, the account is
unlocked, its trusted devices and sessions end.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for
from sqlalchemy import func, update

from connectors.senders import Message, SendError

from . import audit, devices, limits, messaging
from .clock import now
from .digests import digest, new_secret
from .directory import AccountError, change_password, check_password
from .extensions import db
from .lockout import unlock
from .login import flow as login_flow
from .models import Account, LoginSession, PasswordReset
from .passwords import hash_password
from .policy_store import current_policy
from .web import check_csrf

bp = Blueprint("recovery", __name__)


def _may_email(address: str) -> bool:
    """Recovery emails per address and hour (``passwords.reset_emails_per_hour``)."""
    key = f"email:{address.lower()}"
    if limits.retry_at(key, current_policy().passwords.reset_emails_per_hour, timedelta(hours=1)) is not None:
        return False
    limits.hit(key)
    return True


def _email(account_id: int | None, address: str, template: str, **context) -> None:
    """Send an email if the address is under its hourly limit; failures are audited only,
    so that the page never tells whether an account exists."""
    if not _may_email(address):
        audit.record("recovery.email_limited", account_id=account_id)
        return
    subject, body = messaging.render_message(template, **context)
    try:
        messaging.send(Message(channel="email", to=address, subject=subject, body=body))
    except SendError as exc:
        audit.record("recovery.email_failed", account_id=account_id, reason=exc.reason)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return render_template("forgot_password.html")
    check_csrf()
    identifier = request.form.get("identifier", "").strip().upper()
    email = request.form.get("email", "").strip().lower()
    if not identifier or not email:
        return render_template("forgot_password.html", error="recovery.missing",
                               identifier=identifier, email=email), 400
    account = db.session.execute(
        db.select(Account).where(Account.identifier == identifier, func.lower(Account.email) == email)
    ).scalar_one_or_none()
    if account is not None and account.status != "expired":
        token = new_secret(32)
        lifetime = current_policy().passwords.reset_link_lifetime
        db.session.add(PasswordReset(digest=digest(token), account_id=account.id,
                                     expires_at=now() + lifetime))
        link = current_app.config["IDP"].issuer + url_for("recovery.reset_password", token=token)
        _email(account.id, account.email, "password_reset", identifier=account.identifier, link=link,
               minutes=int(lifetime.total_seconds() // 60))
        audit.record("recovery.password_link_sent", account_id=account.id)
    else:
        audit.record("recovery.password_unknown")
    db.session.commit()
    return render_template("recovery_sent.html", message="recovery.password_sent")


@bp.route("/identifier/forgot", methods=["GET", "POST"])
def forgot_identifier():
    if request.method == "GET":
        return render_template("forgot_identifier.html")
    check_csrf()
    email = request.form.get("email", "").strip().lower()
    if not email:
        return render_template("forgot_identifier.html", error="recovery.missing"), 400
    identifiers = db.session.execute(
        db.select(Account.identifier).where(func.lower(Account.email) == email, Account.status != "expired")
        .order_by(Account.identifier)
    ).scalars().all()
    if identifiers:
        _email(None, email, "forgot_identifier", identifiers=identifiers)
        audit.record("recovery.identifier_sent", count=len(identifiers))
    db.session.commit()
    return render_template("recovery_sent.html", message="recovery.identifier_sent")


def _live_reset(token: str | None) -> PasswordReset:
    reset = None
    if token and len(token) <= 128:
        reset = db.session.execute(
            db.select(PasswordReset).filter_by(digest=digest(token))
        ).scalar_one_or_none()
    if reset is None or reset.used_at is not None or reset.expires_at <= now():
        abort(400, description="recovery.link_invalid")
    return reset


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    token = request.values.get("token")
    reset = _live_reset(token)
    if request.method == "GET":
        return render_template("reset_password.html", token=token)
    check_csrf()
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    error = None
    if password != again:
        error = "recovery.mismatch"
    else:
        try:
            check_password(password)
        except AccountError:
            error = "recovery.too_short"
    if error:
        minimum = current_policy().passwords.min_length
        return render_template("reset_password.html", token=token, error=error, minimum=minimum), 400
    reset.new_password_hash = hash_password(password)
    account = reset.account
    flow = login_flow.start("password_reset", account=account)
    flow.update_state(reset_id=reset.id)
    decision = flow.state.decision
    if account.phone is None and decision is not None and decision.require_code:
        # Nothing to send a code to: the emailed link is the proof.
        flow.update_state(decision=replace(decision, require_code=False,
                                           trace=(*decision.trace, "no phone on the account: the link is the proof")))
    return login_flow.proceed(flow)


@bp.get("/password/reset/finish")
def finish_reset():
    """The reset flow's steps are done (the code, if any, is verified): change the
    password, unlock, end devices and sessions."""
    flow = login_flow.load(request.args.get("flow"))
    if flow.state.purpose != "password_reset" or login_flow.next_step(flow) is not None:
        return login_flow.proceed(flow)
    reset = db.session.get(PasswordReset, flow.state.reset_id)
    if reset is None:
        abort(400, description="recovery.link_invalid")
    claimed = db.session.execute(
        update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now())
    ).rowcount
    if claimed != 1 or reset.expires_at <= now():
        db.session.rollback()
        abort(400, description="recovery.link_invalid")
    account = reset.account
    change_password(account, reset.new_password_hash)  # voids the account's other links too
    unlock(account)
    devices.revoke_all(account, "password changed")
    db.session.execute(
        update(LoginSession).where(LoginSession.account_id == account.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now())
    )
    audit.record("account.password_reset", account_id=account.id, with_code="code" in flow.steps_done)
    db.session.delete(flow)
    db.session.commit()
    return render_template("recovery_done.html")
