"""Gestion des comptes: an establishment's administrators manage its accounts (issue 7).

Every page is for the administrators of an establishment (:func:`~.access.administrator`:
403 for anyone else) and reaches only their own establishment's accounts: another
establishment's account answers 404, as an unknown one does, so nothing leaks.

The rules (the administrators' minimum, nominative accounts, one phone per agent, the
destinations codes may go to) are the directory's (:mod:`idp.directory`), the same for
these pages and the command line; a refusal is shown on the form it came from. Creating
an account (``admin.create_account``) and changing an account's contact details
(``admin.change_contact``) need a code verified in the session first
(:func:`~.access.require_code`); every action is in the audit trail with its actor.

A new account has no password: a job (``account.welcome``) emails its owner the
identifier and a single-use link to the password reset page; their first login then asks
the phone and a code.

Each account's page shows its history, as "Mon historique" does (:mod:`.history`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import and_, func, or_
from werkzeug.wrappers import Response

from connectors.senders import Message

from .. import audit, devices, jobs, lockout, messaging
from ..clock import now
from ..directory import (
    AccountError,
    create_account,
    delete_account,
    renew_account,
    update_account,
    usable_administrators,
)
from ..extensions import db
from ..models import Account, Service
from ..models.accounts import CIVILITIES, PROFILES
from ..policy_store import current_policy
from ..recovery import send_password_link
from ..web import check_csrf
from .access import administrator, require_code
from .admin_forms import FormError, form_choice, form_date, form_text, problems, submitted, values_of
from .history import history, page_number

bp = Blueprint("admin", __name__, url_prefix="/admin")

LIST_PAGE = 50  # accounts per page of the list
FILTERS = ("locked", "expired", "no_phone")
# Confirmations a page may show after a redirect (?done=…): these keys only.
DONE = ("created", "updated", "unchanged", "contact", "renewed", "unlocked", "revoked", "deleted")
REVOKE_REASON = "revoked by an administrator"  # device.revoked_all's reason (history labels it)


# --- what the pages share ------------------------------------------------------------

def _actor() -> str:
    """Who acts, for the audit trail: the administrator's identifier."""
    return str(g.account.identifier)


def _own_account(identifier: str) -> Account:
    """An account of the administrator's establishment; any other one is a 404."""
    if not re.fullmatch(r"[A-Za-z0-9]{1,16}", identifier):
        abort(404)  # not an identifier (and nothing a database would choke on, such as NUL)
    account = db.session.execute(
        db.select(Account).where(Account.identifier == identifier.upper(),
                                 Account.establishment_id == g.account.establishment_id)
    ).scalar_one_or_none()
    if account is None:
        abort(404)
    return account


def _all_services() -> list[Service]:
    return list(db.session.execute(db.select(Service).order_by(Service.name, Service.code)).scalars())


def _services(codes: list[str]) -> list[Service]:
    known = {service.code: service for service in _all_services()}
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise FormError("admin.error.service")
    return [known[code] for code in dict.fromkeys(codes)]


def _today() -> date:
    return now().date()


def _state(account: Account, today: date) -> str:
    if account.status == "locked":
        return "locked"
    if account.status == "expired" or (account.valid_until is not None and account.valid_until < today):
        return "expired"
    return "active"


def _done() -> str | None:
    done = request.args.get("done")
    return done if done in DONE else None


def _back(account: Account, done: str) -> Response:
    return redirect(url_for("admin.account", identifier=account.identifier, done=done), code=303)


# --- the list ---------------------------------------------------------------------------

def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@bp.get("/accounts")
@administrator
def accounts() -> ResponseReturnValue:
    """The establishment's accounts: search (name, identifier, email) and filters."""
    establishment_id = g.account.establishment_id
    search = "".join(char for char in request.args.get("q", "")[:100] if ord(char) >= 32).strip()
    chosen = request.args.get("filter", "")
    chosen = chosen if chosen in FILTERS else ""
    today = _today()
    query = db.select(Account).where(Account.establishment_id == establishment_id)
    for word in search.lower().split()[:5]:  # every word matches a name, the identifier or the email
        pattern = _like(word)
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\") for column in (
            Account.last_name, Account.first_name, Account.identifier, Account.email))))
    if chosen == "locked":
        query = query.where(Account.status == "locked")
    elif chosen == "expired":
        query = query.where(or_(Account.status == "expired",
                                and_(Account.valid_until.is_not(None), Account.valid_until < today)))
    elif chosen == "no_phone":
        query = query.where(Account.phone.is_(None))
    page = page_number(request.args.get("page"))
    rows = list(db.session.execute(
        query.order_by(Account.last_name, Account.first_name, Account.identifier)
        .offset((page - 1) * LIST_PAGE).limit(LIST_PAGE + 1)
    ).scalars())
    minimum = current_policy().administrators.minimum_per_establishment
    administrators = len(usable_administrators(establishment_id))
    return render_template(
        "admin/accounts.html", accounts=[(a, _state(a, today)) for a in rows[:LIST_PAGE]], search=search,
        chosen=chosen, filters=FILTERS, page=page, has_next=len(rows) > LIST_PAGE, done=_done(),
        administrators=administrators, minimum=minimum, establishment=g.account.establishment)


# --- creating an account ---------------------------------------------------------------

@bp.route("/accounts/new", methods=["GET", "POST"])
@administrator
def new_account() -> ResponseReturnValue:
    """A new account of the establishment, without a password: its owner gets an email
    with the identifier and a link to choose one. A code first, once per session."""
    if request.method == "POST":
        check_csrf()
    asked = require_code("admin.create_account")
    if asked is not None:
        return asked
    services = _all_services()
    if request.method == "GET":
        values = {"profile": "user", "services": []}
        return render_template("admin/new.html", values=values, services=services)
    values = submitted()
    try:
        account = _create()
    except (AccountError, FormError) as error:
        db.session.rollback()
        return render_template("admin/new.html", values=values, services=services, problems=problems(error)), 400
    jobs.enqueue("account.welcome", account_id=account.id, ip=request.remote_addr or "",
                 locale=current_app.config["IDP"].ui.default_locale)
    db.session.commit()
    return _back(account, "created")


def _create() -> Account:
    civility = form_choice("civility", CIVILITIES, optional=True)
    profile = form_choice("profile", PROFILES)
    assert profile is not None
    last_name, first_name, email = form_text("last_name"), form_text("first_name"), form_text("email")
    phone, landline, function = form_text("phone"), form_text("landline"), form_text("function")
    valid_until = form_date(form_text("valid_until"))
    if valid_until is not None and valid_until < _today():
        raise FormError("admin.error.past_date", "valid_until")
    services = _services(request.form.getlist("services"))
    account = create_account(
        g.account.establishment, profile=profile, civility=civility, last_name=last_name, first_name=first_name,
        email=email, phone=phone or None, function=function or None, services=services, valid_until=valid_until,
        actor=_actor())
    if landline:  # create_account takes no landline: the directory's update checks and records it
        update_account(account, actor=_actor(), landline=landline)
    return account


@jobs.handler("account.welcome")
def send_welcome(payload: dict[str, Any]) -> None:
    """The worker's part of a creation: the identifier and a single-use link to choose a
    password (the password reset page), valid ``passwords.welcome_link_lifetime``."""
    account = db.session.get(Account, payload["account_id"])
    if account is None:
        return  # deleted since: nobody to welcome
    lifetime = current_policy().passwords.welcome_link_lifetime
    hours = int(lifetime.total_seconds() // 3600)

    def send(link: str) -> None:
        subject, body = messaging.render_message(
            "welcome", account=account, identifier=account.identifier, link=link,
            days=hours // 24 if hours >= 24 and hours % 24 == 0 else 0, hours=hours,
            establishment=account.establishment.name)
        messaging.send(Message(channel="email", to=account.email, subject=subject, body=body))  # SendError: retried

    send_password_link(account, lifetime, send)
    audit.record("account.welcome_sent", account_id=account.id, ip=payload.get("ip"))


# --- one account -------------------------------------------------------------------------

def _account_page(account: Account, *, values: dict[str, Any] | None = None,
                  error: AccountError | FormError | None = None, form: str | None = None,
                  status: int = 200) -> ResponseReturnValue:
    page = page_number(request.args.get("page"))
    rows, has_next = history(account.id, page)
    return render_template(
        "admin/account.html", account=account, state=_state(account, _today()),
        values=values or values_of(account), services=_all_services(), problems=problems(error), error_form=form,
        rows=rows, page=page, has_next=has_next, done=_done(), devices=devices.listed(account)), status


@bp.get("/accounts/<identifier>")
@administrator
def account(identifier: str) -> ResponseReturnValue:
    return _account_page(_own_account(identifier))


@bp.post("/accounts/<identifier>/details")
@administrator
def update_details(identifier: str) -> ResponseReturnValue:
    """Civility, names, function, profile and rights: no code needed."""
    check_csrf()
    target = _own_account(identifier)
    values = {**values_of(target), **{k: v for k, v in submitted().items()
                                       if k not in ("email", "phone", "landline", "valid_until")}}
    try:
        changed = update_account(
            target, actor=_actor(), civility=form_choice("civility", CIVILITIES, optional=True),
            last_name=form_text("last_name"), first_name=form_text("first_name"), function=form_text("function"),
            profile=form_choice("profile", PROFILES), services=_services(request.form.getlist("services")))
    except (AccountError, FormError) as error:
        db.session.rollback()
        return _account_page(target, values=values, error=error, form="details", status=400)
    db.session.commit()
    if target.id == g.account.id and target.profile != "administrator":
        return redirect(url_for("account.overview"), code=303)  # no longer an administrator
    return _back(target, "updated" if changed else "unchanged")


@bp.route("/accounts/<identifier>/contact", methods=["GET", "POST"])
@administrator
def contact(identifier: str) -> ResponseReturnValue:
    """Email, authentication phone and landline: ``admin.change_contact``, a code first.
    An administrator's own contact details go through "Mon compte" (a code to the new
    number, a link to the new address), like everyone's."""
    target = _own_account(identifier)
    if target.id == g.account.id:
        return redirect(url_for("account.overview"))
    if request.method == "POST":
        check_csrf()
    asked = require_code("admin.change_contact")
    if asked is not None:
        return asked
    if request.method == "GET":
        return render_template("admin/contact.html", account=target, values=values_of(target))
    values = submitted()
    try:
        changed = update_account(target, actor=_actor(), email=form_text("email"), phone=form_text("phone"),
                                 landline=form_text("landline"))
    except (AccountError, FormError) as error:
        db.session.rollback()
        return render_template("admin/contact.html", account=target, values=values, problems=problems(error)), 400
    db.session.commit()
    return _back(target, "contact" if changed else "unchanged")


@bp.post("/accounts/<identifier>/renew")
@administrator
def renew(identifier: str) -> ResponseReturnValue:
    """A new validity end date."""
    check_csrf()
    target = _own_account(identifier)
    try:
        until = form_date(form_text("valid_until"))
        if until is None:
            raise FormError("admin.error.date", "valid_until")
        renew_account(target, until, actor=_actor())
    except (AccountError, FormError) as error:
        db.session.rollback()
        values = {**values_of(target), "valid_until": request.form.get("valid_until", "")[:30]}
        return _account_page(target, values=values, error=error, form="renew", status=400)
    db.session.commit()
    return _back(target, "renewed")


@bp.post("/accounts/<identifier>/unlock")
@administrator
def unlock(identifier: str) -> Response:
    check_csrf()
    target = _own_account(identifier)
    lockout.unlock(target, actor=_actor())
    db.session.commit()
    return _back(target, "unlocked")


@bp.post("/accounts/<identifier>/workstations/revoke")
@administrator
def revoke_workstations(identifier: str) -> Response:
    check_csrf()
    target = _own_account(identifier)
    devices.revoke_all(target, REVOKE_REASON, actor=_actor())
    db.session.commit()
    return _back(target, "revoked")


@bp.route("/accounts/<identifier>/delete", methods=["GET", "POST"])
@administrator
def delete(identifier: str) -> ResponseReturnValue:
    """Deleting asks for a confirmation first (this page), then deletes."""
    target = _own_account(identifier)
    if request.method == "GET":
        return render_template("admin/delete.html", account=target)
    check_csrf()
    myself = target.id == g.account.id
    try:
        delete_account(target, actor=_actor())
        db.session.flush()
    except AccountError as error:
        db.session.rollback()
        return render_template("admin/delete.html", account=target, problems=problems(error)), 400
    db.session.commit()
    if myself:
        return redirect(url_for("account.overview"), code=303)  # signed out with the account
    return redirect(url_for("admin.accounts", done="deleted"), code=303)
