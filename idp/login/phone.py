"""The phone step: an account without a number gets one at its first login. The number
is kept only once a code sent to it has been entered (see :mod:`idp.login.code`)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from .. import audit
from ..directory import PhoneRefused, check_phone
from ..models import LoginFlow
from . import flow as login_flow
from .pages import step


@step("phone")
def phone(flow: LoginFlow, context: dict[str, Any]):
    if request.method == "GET":
        return render_template("phone.html", **context)
    typed = request.form.get("phone", "")
    try:
        e164, line_type = check_phone(typed, flow.account)
    except PhoneRefused as refused:
        return render_template("phone.html", error=refused.message_key, value=typed, **context), 400
    flow.update_state(pending_phone=e164)
    login_flow.complete_step(flow, "phone")
    audit.record("login.phone_entered", account_id=flow.account_id, line_type=line_type)
    return login_flow.proceed(flow)
