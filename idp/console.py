"""The account console ("Mon compte"): the user's own details and the browsers they trust."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for

from . import devices
from .clock import now
from .extensions import db
from .sessions import current_session
from .web import check_csrf

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.before_request
def _signed_in():
    session = current_session()
    if session is None or not session.account.is_usable(now().date()):
        abort(401, description="account.signed_out")


@bp.get("")
def overview():
    account = current_session().account
    return render_template("account.html", account=account, devices=devices.listed(account))


@bp.post("/devices/<int:device_id>/revoke")
def revoke_device(device_id: int):
    check_csrf()
    account = current_session().account
    if not devices.revoke(account, device_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("account.overview"), code=303)
