"""Delegations in the console: an administrator offers another establishment's agent some
of their establishment's services (``/admin/delegations``); the agent accepts, refuses
or gives up (``/account/delegations``). The rules are in :mod:`idp.delegations`."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import delegations
from ..directory import AccountError
from ..extensions import db
from ..models import Service
from ..web import check_csrf
from .access import administrator, signed_in

bp = Blueprint("delegations", __name__)


@bp.route("/account/delegations", methods=["GET", "POST"])
@signed_in
def mine() -> str | Response | tuple[str, int]:
    error = None
    if request.method == "POST":
        check_csrf()
        try:
            delegation_id = int(request.form.get("delegation", ""))
        except ValueError:
            delegation_id = 0
        try:
            delegations.decide(g.account, delegation_id, request.form.get("answer") == "accept")
            db.session.commit()
            return redirect(url_for("delegations.mine"), code=303)
        except AccountError as exc:
            db.session.rollback()
            error = str(exc)
    page = render_template("delegations.html", offers=delegations.offered_to(g.account), error=error)
    return (page, 400) if error else page


@bp.route("/admin/delegations", methods=["GET", "POST"])
@administrator
def offered() -> str | Response | tuple[str, int]:
    error: str | None = None
    identifier, chosen = "", list[str]()
    services = list(db.session.execute(db.select(Service).order_by(Service.name)).scalars())
    if request.method == "POST":
        check_csrf()
        identifier, chosen = request.form.get("identifier", "")[:32], request.form.getlist("service")
        try:
            if request.form.get("revoke"):
                try:
                    delegation_id = int(request.form["revoke"])
                except ValueError:
                    delegation_id = 0
                delegations.revoke(g.account, delegation_id)
            else:
                delegations.offer(g.account, identifier, chosen)
            db.session.commit()
            return redirect(url_for("delegations.offered"), code=303)
        except AccountError as exc:
            db.session.rollback()
            error = str(exc)
    page = render_template("delegations_admin.html", offers=delegations.offered_by(g.account.establishment_id),
                           services=services, error=error,
                           values={"identifier": identifier, "services": chosen})
    return (page, 400) if error else page
