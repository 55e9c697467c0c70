"""`idp accounts update|renew|delete|audit`: the operators' side of the directory
(issue 7); `import` and `export` are in :mod:`.accounts_csv`. Every rule is
:mod:`idp.directory`'s, the same the administration pages apply; these commands only
read the input, call it, report and decide what to keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import click
from sqlalchemy import func

from ..directory import (
    AccountError,
    check_administrators_after,
    check_nominative,
    delete_account,
    establishments_below_minimum,
    get_service,
    renew_account,
    update_account,
)
from ..extensions import db
from ..models import Account, Establishment, Service
from ..models.accounts import CIVILITIES, PROFILES
from ..policy_store import current_policy
from . import emit, json_option, with_app
from .directory import _account_data, _establishment, _find, accounts

DATE = click.DateTime(["%Y-%m-%d"])



def _service_codes(values: Iterable[str]) -> list[str]:
    """Service codes from options or a cell: space- or comma-separated, repeats dropped."""
    codes: list[str] = []
    for value in values:
        for code in re.split(r"[\s,;]+", value.strip()):
            if code and code not in codes:
                codes.append(code)
    return codes


def _services(values: Iterable[str]) -> list[Service]:
    return [get_service(code) for code in _service_codes(values)]


def _brief(account: Account) -> dict[str, Any]:
    return {"identifier": account.identifier, "name": f"{account.first_name} {account.last_name}",
            "establishment": account.establishment.siret}


@accounts.command("update")
@click.argument("identifier")
@click.option("--civility", type=click.Choice(CIVILITIES))
@click.option("--last-name")
@click.option("--first-name")
@click.option("--email", help="New address; the old one is told.")
@click.option("--phone", help='Authentication phone ("" removes it); trusted workstations are revoked.')
@click.option("--landline", help='Landline ("" removes it).')
@click.option("--function", help='Function ("" removes it).')
@click.option("--profile", type=click.Choice(PROFILES))
@click.option("--until", "valid_until", type=DATE, help="Validity end date (YYYY-MM-DD).")
@click.option("--service", "service_values", multiple=True,
              help='Right to a service (repeatable): the rights become exactly these; --service "" removes all.')
@json_option
@with_app
def accounts_update(identifier, civility, last_name, first_name, email, phone, landline, function, profile,
                    valid_until, service_values, as_json) -> None:
    """Change an account with the pages' rules (nominative, one phone per agent, minimum administrators)."""
    values = (civility, last_name, first_name, email, phone, landline, function, profile, valid_until)
    if all(value is None for value in values) and not service_values:
        raise click.UsageError("nothing to change: give at least one option")
    account = _find(identifier)
    kept_rights = {right.service_id: right for right in account.rights}
    changed = update_account(
        account,
        actor="cli",
        civility=civility,
        last_name=last_name,
        first_name=first_name,
        email=email,
        phone=phone,
        landline=landline,
        function=function,
        profile=profile,
        valid_until=valid_until.date() if valid_until else None,
        services=_services(service_values) if service_values else None,
    )
    if "services" in changed:
        # update_account replaces every right with a new row; the flush inserts before it
        # deletes, so a service kept across the change hits the (account, service) unique
        # constraint. Keep the existing row of each service kept (same rights, same rule).
        account.rights = [kept_rights.get(right.service.id, right) for right in account.rights]
    db.session.flush()
    text = (f"{account.identifier}: changed {', '.join(changed)}." if changed
            else f"{account.identifier}: nothing changed (same values).")
    emit(as_json, {"account": _account_data(account), "changed": changed}, text)


@accounts.command("renew")
@click.argument("identifier")
@click.option("--until", required=True, type=DATE, help="New validity end date (YYYY-MM-DD), today or later.")
@json_option
@with_app
def accounts_renew(identifier: str, until: datetime, as_json: bool) -> None:
    """Extend (or set) an account's validity end date."""
    account = _find(identifier)
    renew_account(account, until.date(), actor="cli")
    db.session.flush()
    emit(as_json, _account_data(account), f"{account.identifier}: valid until {until.date().isoformat()}.")


def _linked(account: Account) -> dict[str, int]:
    """What goes with the account when it is deleted (the audit trail stays)."""
    from ..models import LoginSession, Token, TrustedDevice, UpstreamLink

    counts = {"service_rights": len(account.rights)}
    tables: list[tuple[str, Any]] = [("login_sessions", LoginSession), ("trusted_devices", TrustedDevice),
                                     ("upstream_links", UpstreamLink), ("tokens", Token)]
    for label, model in tables:
        counts[label] = db.session.execute(
            db.select(func.count()).select_from(model).where(model.account_id == account.id)
        ).scalar_one()
    return counts


@accounts.command("delete")
@click.argument("identifier")
@click.option("--yes", is_flag=True, help="Do it (without this flag, only say what would be deleted).")
@json_option
@with_app
def accounts_delete(identifier: str, yes: bool, as_json: bool) -> None:
    """Delete an account, its rights, sessions, trusted workstations, links and tokens."""
    account = _find(identifier)
    data = _account_data(account)
    linked = _linked(account)
    summary = (f"{account.identifier} ({account.first_name} {account.last_name} <{account.email}>, "
               f"{account.profile}, establishment {data['establishment']}) with "
               + ", ".join(f"{count} {label.replace('_', ' ')}" for label, count in linked.items()))
    if not yes:
        check_administrators_after(account, deleted=True)  # a deletion that would be refused says so now
        if as_json:
            emit(True, {"deleted": False, "would_delete": data, "linked": linked}, "")
            raise click.exceptions.Exit(1)
        raise click.ClickException(f"refused without --yes: would delete {summary}")
    delete_account(account, actor="cli")
    db.session.flush()
    emit(as_json, {"deleted": True, "account": data, "linked": linked}, f"Deleted {summary}.")


@accounts.command("audit")
@click.option("--establishment", "siret", help="Only this establishment.")
@json_option
@with_app
def accounts_audit(siret: str | None, as_json: bool) -> None:
    """Report: generic accounts, accounts without phone, shared numbers, establishments below
    the administrator minimum, expired and locked accounts. Exit status 0: it is a report."""
    policy = current_policy()
    today = date.today()  # as idp.directory judges validity
    only = _establishment(siret) if siret else None
    everyone = list(db.session.execute(db.select(Account).order_by(Account.identifier)).scalars())
    mine = [a for a in everyone if only is None or a.establishment_id == only.id]
    mine_ids = {a.id for a in mine}

    generic = []
    for account in mine:
        try:
            check_nominative(account.first_name, account.last_name, account.email)
        except AccountError as exc:
            generic.append({**_brief(account), "email": account.email, "problem": str(exc)})

    by_phone: dict[str, list[Account]] = {}
    for account in everyone:  # a number shared with another establishment's agent counts too
        if account.phone:
            by_phone.setdefault(account.phone, []).append(account)
    shared = [{"phone": phone, "identifiers": [a.identifier for a in group]}
              for phone, group in sorted(by_phone.items())
              if len(group) > 1 and any(a.id in mine_ids for a in group)]

    minimum = policy.administrators.minimum_per_establishment
    below = [{"siret": establishment.siret, "name": establishment.name, "administrators": count,
              "minimum": minimum}
             for establishment, count in establishments_below_minimum()
             if only is None or establishment.id == only.id]

    report = {
        "date": today.isoformat(),
        "establishment": only.siret if only else None,
        "accounts": len(mine),
        "generic": generic,
        "without_phone": [_brief(a) for a in mine if not a.phone],
        "shared_numbers": shared,
        "shared_numbers_allowed": policy.phones.shared_numbers_allowed,
        "establishments_below_minimum": below,
        "expired": [{**_brief(a), "valid_until": a.valid_until.isoformat() if a.valid_until else None}
                    for a in mine
                    if a.status == "expired" or (a.valid_until is not None and a.valid_until < today)],
        "locked": [{**_brief(a), "locked_at": a.locked_at.isoformat() if a.locked_at else None}
                   for a in mine if a.status == "locked"],
    }
    emit(as_json, report, _audit_text(report, only, minimum))


def _audit_text(report: dict[str, Any], only: Establishment | None, minimum: int) -> str:
    scope = f"establishment {only.siret} ({only.name})" if only else "all establishments"
    lines = [f"Audit of {report['accounts']} account(s), {scope}, on {report['date']}."]

    def section(title: str, rows: list[str]) -> None:
        lines.append("")
        lines.append(f"{title}: {len(rows)}" + ("" if rows else " (none)"))
        lines.extend(f"  {row}" for row in rows)

    def who(entry: dict[str, Any]) -> str:
        return f"{entry['identifier']}  {entry['name']} ({entry['establishment']})"

    section("Generic accounts", [f"{who(e)}: {e['problem']}" for e in report["generic"]])
    section("Accounts without a phone", [who(e) for e in report["without_phone"]])
    allowed = "allowed" if report["shared_numbers_allowed"] else "not allowed"
    section(f"Shared numbers (sharing {allowed} by the policy)",
            [f"{e['phone']}: {', '.join(e['identifiers'])}" for e in report["shared_numbers"]])
    section(f"Establishments below {minimum} usable administrator(s)",
            [f"{e['siret']}  {e['name']}: {e['administrators']}" for e in report["establishments_below_minimum"]])
    section("Expired accounts", [f"{who(e)}: valid until {e['valid_until']}" for e in report["expired"]])
    section("Locked accounts", [f"{who(e)}: locked at {e['locked_at']}" for e in report["locked"]])
    return "\n".join(lines)
