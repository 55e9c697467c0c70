"""Mon compte: the user's own details and the browsers they trust.

Every page asks for a session first (:func:`~idp.console.access.signed_in`): without one,
the console logs the user in as its own relying party, then comes back here.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from .. import devices
from ..extensions import db
from ..web import check_csrf
from . import access
from .access import signed_in

bp = Blueprint("account", __name__, url_prefix="/account")
bp.add_url_rule("/callback", "callback", access.callback)
bp.add_url_rule("/sensitive/done", "sensitive_done", access.sensitive_done)


@bp.get("")
@signed_in
def overview() -> str:
    account = g.account
    return render_template("account.html", account=account, devices=devices.listed(account))


@bp.post("/devices/<int:device_id>/revoke")
@signed_in
def revoke_device(device_id: int) -> Response:
    check_csrf()
    if not devices.revoke(g.account, device_id):
        abort(404)
    db.session.commit()
    return redirect(url_for("account.overview"), code=303)
