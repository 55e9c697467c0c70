"""The login pages. Each step's view checks the flow, does its work, then proceeds."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import audit, federation
from ..clock import now
from ..extensions import db
from ..i18n import negotiate, set_locale
from ..lockout import address_blocked_until, record_failure, reset_failures
from ..models import Account, Client, LoginFlow
from ..passwords import hash_password, needs_rehash, verify_password
from ..policy import current_policy
from ..web import allow_form_target, check_csrf
from . import flow as login_flow

bp = Blueprint("login", __name__)


def page_context(flow: LoginFlow) -> dict:
    params = login_flow.params_of(flow)
    set_locale(negotiate(params.get("ui_locales")))
    client = db.session.execute(db.select(Client).filter_by(client_id=flow.client_id)).scalar_one_or_none()
    if params.get("redirect_uri"):
        allow_form_target(params["redirect_uri"])
    elif client is not None and client.redirect_uris:
        allow_form_target(client.redirect_uris[0])
    return {"flow": flow, "client": client, "upstreams": list(federation.upstreams().values())}


def _find_account(identifier: str) -> Account | None:
    identifier = identifier.strip().upper()
    if not identifier or len(identifier) > 32:
        return None
    return db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one_or_none()


@bp.route("/login", methods=["GET", "POST"])
def password():
    flow = login_flow.load(request.values.get("flow"))
    context = page_context(flow)
    if login_flow.next_step(flow) != "password":
        return login_flow.proceed(flow)
    identifier = flow.login_hint or ""
    if request.method == "GET":
        return render_template("login.html", identifier=identifier, **context)

    check_csrf()
    identifier = request.form.get("identifier", "")
    blocked_until = address_blocked_until(current_policy(), request.remote_addr)
    if blocked_until is not None:
        # Checked before any password work: the same answer whatever the identifier.
        return render_template("login.html", identifier=identifier, error="login.address_blocked",
                               retry_at=blocked_until, **context), 429
    secret = request.form.get("password", "")
    if not identifier.strip() or not secret:
        return render_template("login.html", identifier=identifier, error="login.missing", **context), 400

    account = _find_account(identifier)
    # Verify even for an unknown identifier: both answers take the same time.
    valid = verify_password(account.password_hash if account else None, secret)
    if account is not None and valid and account.status == "locked":
        # Only the right password learns that the account is locked, and what to do.
        audit.record("login.locked", account_id=account.id, client_id=flow.client_id)
        db.session.commit()
        return render_template("login.html", identifier=identifier, error="login.locked", **context), 403
    if account is None or not valid or not account.is_usable(now().date()):
        audit.record(
            "login.failure",
            account_id=account.id if account else None,
            client_id=flow.client_id,
            reason="unknown identifier" if account is None else ("bad password" if not valid else account.status),
        )
        db.session.commit()
        if account is not None and not valid:
            record_failure(current_policy(), account, "password")
        return render_template("login.html", identifier=identifier, error="login.failed", **context), 401

    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(secret)
    reset_failures(account)
    flow.account = account
    login_flow.complete_step(flow, "password", amr=["pwd"])
    login_flow.decide(flow)
    audit.record("login.password_ok", account_id=account.id, client_id=flow.client_id)
    return login_flow.proceed(flow)
