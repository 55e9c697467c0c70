"""The password step: identifier and password, then the policy decides what follows."""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template, request
from sqlalchemy import bindparam, select
from werkzeug.wrappers import Response

from .. import audit, limits
from ..clock import now
from ..extensions import db
from ..lockout import check_address, count_address_failure, record_failure, reset_failures
from ..models import Account, LoginFlow
from ..passwords import hash_password, needs_rehash, verify_password
from ..policy_store import current_policy
from . import flow as login_flow
from .pages import page_context, step

_BY_IDENTIFIER = select(Account).where(Account.identifier == bindparam("identifier"))


def _find_account(identifier: str) -> Account | None:
    identifier = identifier.strip().upper()
    if not identifier or len(identifier) > 32:
        return None
    return db.session.execute(_BY_IDENTIFIER, {"identifier": identifier}).scalar_one_or_none()


def _login_page(flow: LoginFlow, context: dict[str, Any], status: int = 200, **values: Any):
    return render_template("login.html", client_name=flow.state.client_name, **values, **context), status


def _first_visit(flow: LoginFlow, context: dict[str, Any]):
    return _login_page(flow, context, identifier=flow.login_hint or "")


def first_page(flow: LoginFlow) -> Response:
    """The password page of the login flow ``/authorize`` has just started, answered by
    ``/authorize`` itself instead of a redirect to ``/login``: one request less per login,
    as Keycloak's authorization endpoint does. The form posts to ``/login`` with the flow,
    as it does from ``/login``, which still shows the page to a flow sent back to it."""
    db.session.commit()
    return make_response(_first_visit(flow, page_context(flow)))


@step("password")
def password(flow: LoginFlow, context: dict[str, Any]):
    if request.method == "GET":
        return _first_visit(flow, context)

    identifier = request.form.get("identifier", "")
    policy = current_policy()
    try:
        # Checked before any password work: the same answer whatever the identifier.
        check_address(policy, request.remote_addr, identifier)
    except limits.RateLimited as limited:
        return limits.answer(limited, "login.html", identifier=identifier, client_name=flow.state.client_name,
                             **context)
    secret = request.form.get("password", "")
    if not identifier.strip() or not secret:
        return _login_page(flow, context, 400, identifier=identifier, error="login.missing")

    account = _find_account(identifier)
    # Verify even for an unknown identifier: both answers take the same time.
    valid = verify_password(account.password_hash if account else None, secret)
    if account is not None and valid and account.status == "locked":
        # Only the right password learns that the account is locked, and what to do.
        audit.record("login.locked", account_id=account.id, client_id=flow.client_id)
        db.session.commit()
        return _login_page(flow, context, 403, identifier=identifier, error="login.locked")
    if account is not None and valid and account.status == "active" and not account.is_usable(now().date()):
        # Past its validity end date: only the right password learns it, and whom to ask.
        audit.record("login.expired", account_id=account.id, client_id=flow.client_id)
        db.session.commit()
        return _login_page(flow, context, 403, identifier=identifier, error="login.expired")
    if account is None or not valid or not account.is_usable(now().date()):
        audit.record(
            "login.failure",
            account_id=account.id if account else None,
            client_id=flow.client_id,
            reason="unknown identifier" if account is None else ("bad password" if not valid else account.status),
        )
        count_address_failure(request.remote_addr, identifier)
        db.session.commit()
        if account is not None and not valid:
            record_failure(policy, account, "password")
        return _login_page(flow, context, 401, identifier=identifier, error="login.failed")

    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(secret)
    reset_failures(account)
    flow.account = account
    login_flow.complete_step(flow, "password", amr=["pwd"])
    login_flow.decide(flow)
    audit.record("login.password_ok", account_id=account.id, client_id=flow.client_id)
    return login_flow.proceed(flow)
