"""The confirmation step: at the first login the user checks the account's data; only
an administrator corrects it."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from .. import audit
from ..clock import now
from ..directory import usable_administrators
from ..models import LoginFlow
from . import flow as login_flow
from .pages import step


@step("confirm")
def confirm(flow: LoginFlow, context: dict[str, Any]):
    if request.method == "GET":
        account = flow.account
        # Whom to ask when something is wrong: the establishment's administrators, by name.
        contacts = [a for a in usable_administrators(account.establishment_id) if a.id != account.id][:5]
        return render_template("confirm.html", account=account, contacts=contacts, **context)
    flow.account.confirmed_at = now()
    login_flow.complete_step(flow, "confirm")
    audit.record("account.data_confirmed", account_id=flow.account_id)
    return login_flow.proceed(flow)
