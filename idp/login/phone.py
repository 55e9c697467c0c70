"""The phone step: an account without a number gets one at its first login. The number
is kept only once a code sent to it has been entered (see :mod:`idp.login.code`)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from .. import audit
from ..extensions import db
from ..models import Account, LoginFlow
from ..phones import PhoneError, parse_phone
from ..policy_store import current_policy
from . import flow as login_flow
from .pages import step


def _phone_taken(account: Account, e164: str) -> bool:
    if current_policy().phones.shared_numbers_allowed:
        return False
    return db.session.execute(
        db.select(Account.id).where(Account.phone == e164, Account.id != account.id).limit(1)
    ).first() is not None


@step("phone")
def phone(flow: LoginFlow, context: dict[str, Any]):
    if request.method == "GET":
        return render_template("phone.html", **context)
    typed = request.form.get("phone", "")
    try:
        entered = parse_phone(typed)
    except PhoneError:
        return render_template("phone.html", error="phone.invalid", value=typed, **context), 400
    if _phone_taken(flow.account, entered.e164):
        return render_template("phone.html", error="phone.taken", value=typed, **context), 400
    flow.update_state(pending_phone=entered.e164)
    login_flow.complete_step(flow, "phone")
    audit.record("login.phone_entered", account_id=flow.account_id, line_type=entered.line_type)
    return login_flow.proceed(flow)
