"""The establishment step: an account that accepted delegations chooses, at login, the
establishment it acts for (unless the relying party named one with ``peps_siret``)."""

from __future__ import annotations

from typing import Any

from flask import render_template, request

from .. import audit
from ..models import LoginFlow
from . import flow as login_flow
from .pages import step


@step("establishment")
def establishment(flow: LoginFlow, context: dict[str, Any]):
    choices = login_flow.memberships_of(flow.account)
    if request.method == "GET":
        return render_template("establishment.html", choices=choices, **context)
    chosen = request.form.get("siret", "")
    if chosen not in {m.siret for m in choices}:
        return render_template("establishment.html", choices=choices, error="establishment.choose", **context), 400
    flow.update_state(establishment=chosen)
    login_flow.complete_step(flow, "establishment")
    audit.record("login.establishment_chosen", account_id=flow.account_id, siret=chosen)
    return login_flow.proceed(flow)
