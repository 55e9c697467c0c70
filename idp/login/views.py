"""The login pages. Each step's view checks the flow, does its work, then proceeds."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import update

from .. import audit
from ..clock import now
from ..extensions import db
from ..i18n import negotiate, set_locale
from ..models import Account, Client, LoginFlow
from ..passwords import hash_password, needs_rehash, verify_password
from ..web import allow_form_target, check_csrf
from . import flow as login_flow

bp = Blueprint("login", __name__)


def _page_context(flow: LoginFlow) -> dict:
    params = login_flow.params_of(flow)
    set_locale(negotiate(params.get("ui_locales")))
    client = db.session.execute(db.select(Client).filter_by(client_id=flow.client_id)).scalar_one()
    if params.get("redirect_uri"):
        allow_form_target(params["redirect_uri"])
    elif client.redirect_uris:
        allow_form_target(client.redirect_uris[0])
    return {"flow": flow, "client": client}


def _find_account(identifier: str) -> Account | None:
    identifier = identifier.strip().upper()
    if not identifier or len(identifier) > 32:
        return None
    return db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one_or_none()


def record_failure(account: Account) -> None:
    """Count a failed authentication atomically (exact under concurrency)."""
    db.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(failed_logins=Account.failed_logins + 1, last_failure_at=now())
    )


@bp.route("/login", methods=["GET", "POST"])
def password():
    flow = login_flow.load(request.values.get("flow"))
    context = _page_context(flow)
    if login_flow.next_step(flow) != "password":
        return login_flow.proceed(flow)
    identifier = flow.login_hint or ""
    if request.method == "GET":
        return render_template("login.html", identifier=identifier, **context)

    check_csrf()
    identifier = request.form.get("identifier", "")
    secret = request.form.get("password", "")
    if not identifier.strip() or not secret:
        return render_template("login.html", identifier=identifier, error="login.missing", **context), 400

    account = _find_account(identifier)
    # Verify even for an unknown identifier: both answers take the same time.
    valid = verify_password(account.password_hash if account else None, secret)
    if account is None or not valid or not account.is_usable(now().date()):
        if account is not None:
            record_failure(account)
        audit.record(
            "login.failure",
            account_id=account.id if account else None,
            client_id=flow.client_id,
            reason="unknown identifier" if account is None else ("bad password" if not valid else account.status),
        )
        db.session.commit()
        return render_template("login.html", identifier=identifier, error="login.failed", **context), 401

    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(secret)
    account.failed_logins = 0
    flow.account = account
    login_flow.complete_step(flow, "password", amr=["pwd"])
    audit.record("login.password_ok", account_id=account.id, client_id=flow.client_id)
    return login_flow.proceed(flow)
