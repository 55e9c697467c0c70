"""`idp accounts import|export`: an establishment's accounts as CSV. An import writes all
rows or none, with a line-by-line report; every rule is :mod:`idp.directory`'s."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import audit
from ..directory import AccountError, check_email, create_account
from ..extensions import db
from ..models import Account, Establishment
from ..phones import PhoneError, parse_phone
from ..policy_store import current_policy
from . import emit, json_option, with_app
from .accounts_admin import _services
from .directory import _account_data, _establishment, accounts

# The columns of `accounts import`, in the order `accounts export` writes them.
COLUMNS = ("civility", "last_name", "first_name", "email", "phone", "landline", "function", "profile",
           "services", "valid_until")
REQUIRED_COLUMNS = ("last_name", "first_name", "email")
# `accounts export` adds these; `accounts import` accepts them so an export can be edited
# and imported elsewhere (status is not imported: new accounts are active).
EXPORT_ONLY_COLUMNS = ("identifier", "status")
EXPORT_COLUMNS = ("identifier", *COLUMNS, "status")


# --- import and export ------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    fields: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def get(self, name: str) -> str:
        return (self.fields.get(name) or "").strip()


def _read_rows(path: Path) -> list[_Row]:
    """The data rows of a CSV file with a header row (',' or ';' separated, UTF-8 with or
    without BOM), each with the line it starts on; blank lines are skipped."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AccountError(f"{path}: not UTF-8 text (save the file as CSV UTF-8)") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise AccountError(f"{path}: empty file; the first line names the columns: {','.join(COLUMNS)}")
        names = [name.strip().lower().replace("-", "_").replace(" ", "_") for name in header]
        unknown = [name for name in names if name not in COLUMNS and name not in EXPORT_ONLY_COLUMNS]
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if unknown or missing or repeated:
            problems = ([f"unknown column(s) {', '.join(map(repr, unknown))}"] if unknown else []) + (
                [f"missing column(s) {', '.join(missing)}"] if missing else []) + (
                [f"repeated column(s) {', '.join(repeated)}"] if repeated else [])
            raise AccountError(f"{path}, header line: {'; '.join(problems)}; the columns are {','.join(COLUMNS)}")
        rows = []
        end = reader.line_num
        for record in reader:
            line, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            row = _Row(line, dict(zip(names, record, strict=False)))
            if len(record) != len(names):
                row.problems.append(f"{len(record)} field(s) where the header has {len(names)}")
            rows.append(row)
    except csv.Error as exc:
        raise AccountError(f"{path}, line {reader.line_num}: {exc}") from None
    return rows


def _check_duplicates(rows: list[_Row]) -> None:
    """Rows of the same file that would give two agents one mailbox, or one phone when the
    policy does not share numbers: the later row is rejected, naming the earlier one."""
    shared_allowed = current_policy().phones.shared_numbers_allowed
    emails: dict[str, int] = {}
    phones: dict[str, int] = {}
    for row in rows:
        try:
            email = check_email(row.get("email"))
        except AccountError:
            email = None  # create_account says what is wrong with it
        if email is not None:
            if email in emails:
                row.problems.append(f"same email as line {emails[email]} ({email}); each agent needs their own")
            else:
                emails[email] = row.line
        if row.get("phone") and not shared_allowed:
            try:
                phone = parse_phone(row.get("phone")).e164
            except PhoneError:
                continue  # create_account says what is wrong with it
            if phone in phones:
                row.problems.append(f"same phone as line {phones[phone]} ({phone}); each agent needs their own")
            else:
                phones[phone] = row.line
        identifier = row.get("identifier").upper()
        if identifier and db.session.execute(
                db.select(Account.id).filter_by(identifier=identifier)).first() is not None:
            row.problems.append(f"account {identifier} exists already (change it with `idp accounts update`)")


def _create(establishment: Establishment, row: _Row) -> Account:
    """One row through the directory's rules; no password (a link comes later)."""
    valid_until = None
    if row.get("valid_until"):
        try:
            valid_until = datetime.strptime(row.get("valid_until"), "%Y-%m-%d").date()
        except ValueError:
            raise AccountError(f"valid_until {row.get('valid_until')!r} is not a date (YYYY-MM-DD)") from None
    account = create_account(
        establishment,
        profile=row.get("profile") or "user",
        civility=row.get("civility") or None,
        last_name=row.get("last_name"),
        first_name=row.get("first_name"),
        email=row.get("email"),
        phone=row.get("phone") or None,
        function=row.get("function") or None,
        services=_services([row.get("services")]),
        valid_until=valid_until,
        password=None,
    )
    if row.get("landline"):
        # create_account takes no landline, and update_account cannot add one here: it
        # refuses any change to an administrator of an establishment still below the
        # minimum (a new establishment's first administrators). Checked as update_account does.
        try:
            account.landline = parse_phone(row.get("landline")).e164
        except PhoneError as exc:
            raise AccountError(f"{row.get('landline')!r} is not a phone number: {exc}") from None
    return account


@accounts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--establishment", "siret", required=True, help="SIRET of the establishment the accounts join.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@json_option
@with_app
def accounts_import(file: Path, siret: str, dry_run: bool, as_json: bool) -> None:
    """Create the accounts of a CSV file: all rows or none.

    The header names the columns: civility, last_name, first_name, email, phone, landline,
    function, profile (user when empty), services (codes separated by spaces or commas),
    valid_until (YYYY-MM-DD, optional); an export's identifier and status columns are
    accepted (an identifier that exists is refused; status is not imported). Accounts get
    no password. If any row is rejected, nothing is written, every problem is reported with
    its line and the exit status is 1.
    """
    establishment = _establishment(siret)
    rows = _read_rows(file)
    if not rows:
        raise AccountError(f"{file}: no rows to import")
    _check_duplicates(rows)

    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    # One savepoint around everything (undone unless every row passed and it is not a dry
    # run) and one per row (a rejected row leaves nothing behind while later rows are still
    # checked against the accepted ones: identifiers, phone numbers).
    everything = db.session.begin_nested()
    try:
        for row in rows:
            problems = list(row.problems)
            if not problems:
                try:
                    with db.session.begin_nested():
                        account = _create(establishment, row)
                except AccountError as exc:
                    problems.append(str(exc))
                else:
                    accepted.append({"line": row.line, "identifier": account.identifier,
                                     "name": f"{account.first_name} {account.last_name}", "email": account.email})
            rejected.extend({"line": row.line, "problem": problem} for problem in problems)
        if rejected or dry_run:
            everything.rollback()
        else:
            everything.commit()
            audit.record("account.imported", actor="cli", establishment=establishment.siret, file=file.name,
                         identifiers=[a["identifier"] for a in accepted])
    except BaseException:
        if everything.is_active:
            everything.rollback()
        raise

    written = not rejected and not dry_run
    result: dict[str, Any] = {"establishment": establishment.siret, "dry_run": dry_run,
                              "created": [a["identifier"] for a in accepted] if written else [],
                              "rejected": rejected}
    if dry_run:
        result["would_create"] = [a["identifier"] for a in accepted]
    emit(as_json, result, _import_text(establishment, rows, accepted, rejected, dry_run))
    if rejected:
        db.session.rollback()
        raise click.exceptions.Exit(1)


def _import_text(establishment: Establishment, rows: list[_Row], accepted: list[dict[str, Any]],
                 rejected: list[dict[str, Any]], dry_run: bool) -> str:
    where = f"{establishment.siret} ({establishment.name})"
    listed = [f"  line {a['line']}: {a['identifier']}  {a['name']} <{a['email']}>" for a in accepted]
    problems = [f"  line {r['line']}: {r['problem']}" for r in rejected]
    if not dry_run and not rejected:
        return "\n".join([f"Created {len(accepted)} account(s) in {where}, without passwords:", *listed])
    lines = []
    if dry_run:
        lines.append(f"Dry run, nothing written: {len(accepted)} of {len(rows)} row(s) would create "
                     f"an account in {where}" + (" (identifiers as of now):" if accepted else "."))
        lines.extend(listed)
    if rejected:
        bad_rows = len({r["line"] for r in rejected})
        lines.append(f"{bad_rows} of {len(rows)} row(s) rejected; nothing was written"
                     + (" (and nothing will be until every row passes):" if not dry_run else ":"))
        lines.extend(problems)
    return "\n".join(lines)


def _export_row(account: Account) -> dict[str, Any]:
    """The export's columns of the account as ``idp accounts show`` describes it."""
    data = _account_data(account)
    return {column: data[column] for column in EXPORT_COLUMNS}


@accounts.command("export")
@click.option("--establishment", "siret", required=True, help="SIRET of the establishment.")
@json_option
@with_app
def accounts_export(siret: str, as_json: bool) -> None:
    """Print an establishment's accounts as CSV (import's columns plus identifier and status)."""
    establishment = _establishment(siret)
    rows = [_export_row(a) for a in db.session.execute(
        db.select(Account).where(Account.establishment_id == establishment.id).order_by(Account.identifier)
    ).scalars()]
    if as_json:
        emit(True, rows, "")
        return
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([" ".join(row[name]) if name == "services" else row[name] or "" for name in EXPORT_COLUMNS])
    click.echo(out.getvalue(), nl=False)
