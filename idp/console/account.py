"""Mon compte: the user's own details, the browsers they trust, and the changes they make
themselves.

Every page asks for a session first (:func:`~idp.console.access.signed_in`): without one,
the console logs the user in as its own relying party, then comes back here. Changing
one's phone, email or password is a sensitive action of the policy
(``self.change_phone``, ``self.change_email``, ``self.change_password``): each page first
asks :func:`~idp.console.access.require_code`, which sends a code to the current phone
unless one was verified in this session.

- ``/account/phone``: the new number is kept only once a code sent to it is entered
  (:func:`~idp.console.access.verify_new_phone`); the owner is told.
- ``/account/email``: a link signed for (account, old address, new address) goes to the
  new address; opening it (signed in as that account, within 24 hours) applies the change
  if the address is still the old one, so a link works once; the old address is told.
- ``/account/password``: the current password, then the new one twice; the owner is told.
- ``/account/history``: Mon historique (:mod:`.history`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import CursorResult, update
from werkzeug.wrappers import Response

from connectors.senders import Message

from .. import audit, devices, jobs, limits, messaging, signing
from ..clock import now
from ..digests import digest
from ..directory import (
    AccountError,
    PhoneRefused,
    change_password,
    check_email,
    check_nominative,
    check_password,
    check_phone,
    update_account,
)
from ..extensions import db
from ..i18n import get_locale
from ..lockout import record_failure
from ..models import Account, LoginSession
from ..passwords import hash_password, verify_password
from ..phones import mask
from ..policy_store import current_policy
from ..sessions import current_session
from ..web import check_csrf
from . import access
from .access import signed_in
from .history import history as history_rows
from .history import page_number

bp = Blueprint("account", __name__, url_prefix="/account")
bp.add_url_rule("/callback", "callback", access.callback)
bp.add_url_rule("/sensitive/done", "sensitive_done", access.sensitive_done)

EMAIL_LINK_MAX_AGE = 24 * 3600  # seconds: the emailed confirmation link works for a day
# A refused phone number, by PhoneRefused.reason: the page's message.


@bp.get("")
@signed_in
def overview() -> str:
    account = g.account
    this_browser = devices.record_for(account)
    return render_template("account.html", account=account, devices=devices.listed(account),
                           this_browser=this_browser.id if this_browser else None)


@bp.post("/devices/<int:device_id>/revoke")
@signed_in
def revoke_device(device_id: int) -> Response:
    check_csrf()
    if not devices.revoke(g.account, device_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("account.overview"), code=303)


# --- the authentication phone ----------------------------------------------------
@bp.route("/phone", methods=["GET", "POST"])
@signed_in
def phone() -> ResponseReturnValue:
    asked = access.require_code("self.change_phone")
    if asked is not None:
        return asked
    account: Account = g.account
    if request.method == "GET":
        return render_template("account/phone.html", account=account, masked=_masked(account))
    check_csrf()
    text = request.form.get("phone", "").strip()[:40]
    error = None
    e164 = ""
    if not text:
        error = "self.phone_missing"
    else:
        try:
            e164, _ = check_phone(text, account)
        except PhoneRefused as refused:
            error = refused.message_key
        else:
            if e164 == account.phone:
                error = "self.phone_same"
    if error:
        return render_template("account/phone.html", account=account, masked=_masked(account),
                               error=error, value=text), 400
    # The number is kept pending: it replaces the old one once the code sent to it is entered.
    return access.verify_new_phone(e164, return_to=url_for("account.phone_done"))


@bp.get("/phone/done")
@signed_in
def phone_done() -> str:
    return render_template("account/done.html", title="self.phone_title", message="self.phone_done",
                           value=_masked(g.account))


def _masked(account: Account) -> str:
    return mask(account.phone) if account.phone else "—"


# --- the professional email -------------------------------------------------------
@bp.route("/email", methods=["GET", "POST"])
@signed_in
def email() -> ResponseReturnValue:
    asked = access.require_code("self.change_email")
    if asked is not None:
        return asked
    account: Account = g.account
    if request.method == "GET":
        return render_template("account/email.html", account=account)
    check_csrf()
    text = request.form.get("email", "").strip()[:254]
    error = None
    new = ""
    if not text:
        error = "self.email_missing"
    else:
        try:
            new = check_email(text)
            check_nominative(account.first_name, account.last_name, new)
        except AccountError:
            error = "self.email_generic" if new else "self.email_invalid"
        else:
            if new == account.email.lower():
                error = "self.email_same"
    if error:
        return render_template("account/email.html", account=account, error=error, value=text), 400
    key = f"email-change:{account.id}"
    try:
        # The policy's limit on emails an address may ask for, against mail bombing a stranger.
        limits.check(limits.Limit(key, current_policy().passwords.reset_emails_per_hour, timedelta(hours=1),
                                  "self.email_limited"))
    except limits.RateLimited as limited:
        return limits.answer(limited, "account/email.html", account=account, value=text)
    limits.hit(key)
    jobs.enqueue("account.confirm_email", account_id=account.id, old_email=account.email, new_email=new,
                 locale=get_locale(), ip=request.remote_addr or "")
    db.session.commit()
    return render_template("account/done.html", title="self.email_title", message="self.email_sent",
                           value=new)


@jobs.handler("account.confirm_email")
def send_email_link(payload: dict) -> None:
    """The worker's part: the confirmation link goes to the new address, if the account
    still has the address the change was asked from."""
    account = db.session.get(Account, payload["account_id"])
    if account is None or account.email != payload["old_email"]:
        return  # deleted, or its address changed since: nothing to confirm
    token = signing.dumps("email-change", [account.id, payload["old_email"], payload["new_email"]])
    link = current_app.config["IDP"].issuer + url_for("account.confirm_email", token=token)
    subject, body = messaging.render_message("confirm_email", account=account, link=link,
                                             new_email=payload["new_email"], hours=EMAIL_LINK_MAX_AGE // 3600)
    messaging.send(Message(channel="email", to=payload["new_email"], subject=subject, body=body))
    audit.record("account.email_link_sent", account_id=account.id, ip=payload.get("ip") or None)


@bp.get("/email/confirm")
@signed_in
def confirm_email() -> str:
    """The emailed link: the change applies once, for the account it was made for."""
    account: Account = g.account
    try:
        account_id, old, new = signing.loads("email-change", request.args.get("token", "")[:1024],
                                             EMAIL_LINK_MAX_AGE)
    except (signing.InvalidToken, ValueError, TypeError):
        abort(400, description="self.email_link_invalid")
    if account_id != account.id:
        abort(403, description="self.email_link_other")
    used = f"email-link:{digest(request.args.get('token', '')[:1024])}"
    if account.email != old or limits.retry_at(used, 1, timedelta(seconds=EMAIL_LINK_MAX_AGE)) is not None:
        abort(400, description="self.email_link_invalid")  # used already, or the address changed since
    limits.hit(used)  # single use, even if the address comes back to the old one later
    try:
        update_account(account, actor=account.identifier, email=new)
    except AccountError:
        db.session.rollback()
        abort(400, description="self.email_link_refused")
    db.session.commit()
    return render_template("account/done.html", title="self.email_title", message="self.email_done",
                           value=account.email)


# --- the password ---------------------------------------------------------------------
@bp.route("/password", methods=["GET", "POST"])
@signed_in
def password() -> ResponseReturnValue:
    asked = access.require_code("self.change_password")
    if asked is not None:
        return asked
    account: Account = g.account
    minimum = current_policy().passwords.min_length
    if request.method == "GET":
        return render_template("account/password.html", minimum=minimum)
    check_csrf()
    current = request.form.get("current_password", "")[:1024]
    new, again = request.form.get("new_password", "")[:1024], request.form.get("new_password_again", "")[:1024]
    error = None
    if not current or not new or not again:
        error = "self.password_missing"
    elif not verify_password(account.password_hash, current):
        # A wrong guess counts as a failed login: a borrowed session cannot try forever.
        audit.record("account.password_change_refused", account_id=account.id, reason="wrong current password")
        if record_failure(current_policy(), account, "password"):  # commits
            return render_template("locked.html"), 403
        error = "self.password_wrong"
    elif new != again:
        error = "self.password_mismatch"
    elif new == current:
        error = "self.password_same"
    else:
        try:
            check_password(new)
        except AccountError:
            error = "self.password_too_short"
    if error:
        return render_template("account/password.html", minimum=minimum, error=error), 400
    change_password(account, hash_password(new))  # voids reset links, tells the owner
    account.failed_logins = 0
    # This session stays; the account's other sessions (other browsers) end.
    kept = current_session()
    ended = cast(CursorResult[Any], db.session.execute(
        update(LoginSession)
        .where(LoginSession.account_id == account.id, LoginSession.ended_at.is_(None),
               LoginSession.id != (kept.id if kept is not None else -1))
        .values(ended_at=now())
    )).rowcount
    audit.record("account.password_changed", account_id=account.id, actor=account.identifier,
                 other_sessions_ended=ended)
    db.session.commit()
    return render_template("account/done.html", title="self.password_title", message="self.password_done")


# --- Mon historique ------------------------------------------------------------------
@bp.get("/history")
@signed_in
def history() -> str:
    page = page_number(request.args.get("page"))
    rows, has_more = history_rows(g.account.id, page)
    return render_template("account/history.html", rows=rows, page=page, has_more=has_more,
                           older=url_for("account.history", page=page + 1) if has_more else None,
                           newer=url_for("account.history", page=page - 1) if page > 1 else None)
