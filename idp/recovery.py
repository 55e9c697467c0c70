"""Forgotten password and forgotten identifier, without revealing whether an account exists.

Password reset: identifier + professional email → a single-use link by email → a new
password → a code when the account has a phone → the password changes, the account is
unlocked, its trusted devices and sessions end.

The pages only queue a job (:mod:`idp.jobs`): the worker looks the account up and sends,
so neither the answer nor its timing tells whether an account exists, and an email
server outage loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, abort, current_app, render_template, request, url_for
from sqlalchemy import delete, func, update

from connectors.senders import Message

from . import audit, devices, jobs, limits, messaging
from .clock import now
from .digests import digest, new_secret
from .directory import AccountError, change_password, check_password
from .extensions import db
from .i18n import get_locale
from .lockout import unlock
from .login import flow as login_flow
from .models import Account, LoginSession, PasswordReset
from .passwords import hash_password
from .policy_store import current_policy
from .web import check_csrf

bp = Blueprint("recovery", __name__)


def _may_email(address: str) -> bool:
    """Recovery emails per address and hour (``passwords.reset_emails_per_hour``), counted
    for the address typed, whether or not an account has it."""
    key = f"email:{address.lower()}"
    if limits.retry_at(key, current_policy().passwords.reset_emails_per_hour, timedelta(hours=1)) is not None:
        return False
    limits.hit(key)
    return True


def _queue(kind: str, address: str, **payload: str) -> None:
    """The page's only work, the same whether or not an account exists: one job queued."""
    if _may_email(address):
        jobs.enqueue(kind, email=address, locale=get_locale(), ip=request.remote_addr or "", **payload)
    else:
        audit.record("recovery.email_limited")
    db.session.commit()


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return render_template("forgot_password.html")
    check_csrf()
    identifier = request.form.get("identifier", "").strip().upper()[:32]
    email = request.form.get("email", "").strip().lower()[:254]
    if not identifier or not email:
        return render_template("forgot_password.html", error="recovery.missing",
                               identifier=identifier, email=email), 400
    _queue("recovery.password_reset", email, identifier=identifier)
    return render_template("recovery_sent.html", message="recovery.password_sent")


@bp.route("/identifier/forgot", methods=["GET", "POST"])
def forgot_identifier():
    if request.method == "GET":
        return render_template("forgot_identifier.html")
    check_csrf()
    email = request.form.get("email", "").strip().lower()[:254]
    if not email:
        return render_template("forgot_identifier.html", error="recovery.missing"), 400
    _queue("recovery.identifier_reminder", email)
    return render_template("recovery_sent.html", message="recovery.identifier_sent")


def _send(address: str, template: str, **context: object) -> None:
    subject, body = messaging.render_message(template, **context)
    messaging.send(Message(channel="email", to=address, subject=subject, body=body))  # SendError: retried


def send_password_link(account: Account, lifetime: timedelta, send: Callable[[str], None]) -> None:
    """Send a single-use link to the password page (a reset, or a new account's welcome).

    The link is committed before the email leaves, so it works the moment it arrives; if
    the email cannot leave, the link is removed: no link exists without its email."""
    token = new_secret(32)
    reset = PasswordReset(digest=digest(token), account_id=account.id, expires_at=now() + lifetime)
    db.session.add(reset)
    db.session.commit()
    try:
        send(current_app.config["IDP"].issuer + url_for("recovery.reset_password", token=token))
    except Exception:
        db.session.rollback()
        db.session.execute(delete(PasswordReset).where(PasswordReset.id == reset.id))
        db.session.commit()
        raise


@jobs.handler("recovery.password_reset")
def send_reset_link(payload: dict) -> None:
    """The worker's part of a reset request: the link goes only to a matching account."""
    account = db.session.execute(
        db.select(Account).where(Account.identifier == payload["identifier"],
                                 func.lower(Account.email) == payload["email"])
    ).scalar_one_or_none()
    if account is None or account.status == "expired":
        audit.record("recovery.password_unknown", ip=payload.get("ip"))
        return
    lifetime = current_policy().passwords.reset_link_lifetime
    send_password_link(account, lifetime, lambda link: _send(
        account.email, "password_reset", identifier=account.identifier, link=link,
        minutes=int(lifetime.total_seconds() // 60)))
    audit.record("recovery.password_link_sent", account_id=account.id, ip=payload.get("ip"))


@jobs.handler("recovery.identifier_reminder")
def send_identifiers(payload: dict) -> None:
    identifiers = db.session.execute(
        db.select(Account.identifier)
        .where(func.lower(Account.email) == payload["email"], Account.status != "expired")
        .order_by(Account.identifier)
    ).scalars().all()
    if identifiers:
        _send(payload["email"], "forgot_identifier", identifiers=identifiers)
        audit.record("recovery.identifier_sent", count=len(identifiers), ip=payload.get("ip"))


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
        return render_template("reset_password.html", token=token, minimum=current_policy().passwords.min_length)
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
    first_password = account.password_hash is None  # a new account's welcome link
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
    return render_template("recovery_done.html", first_password=first_password)
