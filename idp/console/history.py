"""Mon historique: an account's audit trail as its owner (or an administrator) reads it.

:func:`history` reads the :class:`~idp.models.AuditEvent` rows of one account, newest
first, one page at a time, and shapes each into a :class:`HistoryRow` with its texts in
the page's language: when (Europe/Paris), what happened, through which application, how
(for a login), from which workstation and address, with which result, and who acted when
it was someone else (an administrator). The template ``account/_history_table.html``
shows the rows; the administrators' pages reuse both.

The trail's plumbing (an authorization code issued, the password step passed before the
code step, a session ended) is left out: the login it belongs to is shown once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..extensions import db
from ..i18n import get_locale, messages, translate
from ..models import Account, AuditEvent, Client
from ..workstations import short_workstation

PARIS = ZoneInfo("Europe/Paris")
PER_PAGE = 20
MAX_PAGE = 10_000  # a page number past this is a typing accident, not a history

# Steps of a login already told by its ``session.start`` or its failure, and protocol
# plumbing: not shown.
HIDDEN = ("authorize.code_issued", "login.password_ok", "login.code_ok", "login.upstream_ok",
          "login.phone_entered", "session.end")
# Events that say a login (or a code) failed: their row is marked as such.
FAILURES = {"login.failure", "login.code_failure", "login.locked", "login.upstream_failure",
            "login.federated_throttled", "code.send_failed", "code.send_limited", "code.destination_refused",
            "account.locked", "authorize.no_right", "code.replayed", "refresh.replayed",
            "account.password_change_refused"}
# Fields of ``account.updated`` that have their label under ``field.*``; others under
# ``history.field.*``.
SHARED_FIELDS = {"civility", "last_name", "first_name", "email", "phone", "landline", "function", "profile"}


@dataclass(frozen=True)
class HistoryRow:
    """One event as the history page shows it; every text is in the page's language."""

    at: datetime          # Europe/Paris
    when: str             # date and time, formatted
    event: str            # the audit code
    label: str            # what happened (the code itself for an event without a label)
    details: str          # fields changed, channel, reason…
    actor: str            # who acted, when not the account itself (an administrator, an operator)
    application: str      # the client's name
    method: str           # how a login was made
    workstation: str      # the browser, shortened
    ip: str
    result: str
    failed: bool


def _known(key: str) -> bool:
    return key in messages("fr")


def _text(key: str, default: str = "", **params: Any) -> str:
    """The text of ``key`` if there is one, else ``default``."""
    return translate(key, **{k: str(v) for k, v in params.items()}) if _known(key) else default


# --- the workstation --------------------------------------------------------
# --- one row -----------------------------------------------------------------
def _method(detail: dict[str, Any]) -> str:
    """How a session was opened, from its ``amr`` (RFC 8176) and ``acr``."""
    amr = detail.get("amr") or []
    if not isinstance(amr, list):
        return ""
    first = translate("history.method.federated") if "fed" in amr else (
        translate("history.method.password") if "pwd" in amr else "")
    if "otp" in amr:
        second = translate("history.method.code_voice" if "tel" in amr else "history.method.code_sms")
        return f"{first} + {second}" if first else second
    if first and "mfa" not in amr:
        return translate("history.method.single", method=first)
    return first


def _fields(detail: dict[str, Any]) -> str:
    names = detail.get("fields") or []
    if not isinstance(names, list):
        return ""
    shown = []
    for name in names:
        name = str(name)
        key = f"field.{name}" if name in SHARED_FIELDS else f"history.field.{name}"
        shown.append(_text(key, name))
    return ", ".join(shown)


def _details(event: AuditEvent, detail: dict[str, Any]) -> str:
    if event.event == "account.updated":
        return _fields(detail)
    if event.event in ("code.sent", "code.send_failed", "code.destination_refused") and detail.get("channel"):
        return _text(f"history.channel.{detail['channel']}", str(detail["channel"]))
    if event.event == "code.send_limited" and detail.get("scope"):
        return _text(f"history.scope.{detail['scope']}", str(detail["scope"]))
    if event.event == "account.locked" and detail.get("failures"):
        return translate("history.failures", count=str(detail["failures"]))
    if event.event == "account.renewed" and detail.get("until"):
        return translate("history.until", date=_date(str(detail["until"])))
    if event.event == "device.trusted" and detail.get("browser") not in (None, "", "navigateur"):
        return str(detail["browser"])  # "navigateur" (a browser) says nothing
    if event.event == "device.revoked_all" and detail.get("reason"):
        return _text(f"history.revoke_reason.{str(detail['reason']).replace(' ', '_')}", str(detail["reason"]))
    return ""


def _date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime(translate("history.day_format"))
    except ValueError:
        return iso


def _result(event: AuditEvent, detail: dict[str, Any]) -> str:
    if event.event == "session.start":
        return translate("history.result.ok")
    reason = detail.get("reason")
    if event.event in FAILURES:
        text = translate("history.result.failed")
        if isinstance(reason, str) and event.event in ("login.failure", "login.code_failure",
                                                       "login.upstream_failure",
                                                       "account.password_change_refused"):
            why = _text(f"history.reason.{reason.replace(' ', '_')}")
            if why:
                return f"{text} : {why}" if get_locale() == "fr" else f"{text}: {why}"
        return text
    if event.event == "code.sent":
        return translate("history.result.sent")
    return ""


def _actor(detail: dict[str, Any], owner: str | None) -> str:
    actor = detail.get("actor")
    if not actor:
        return ""
    if actor == owner:
        return translate("history.by_owner")
    return translate("history.by", actor=str(actor))


def _row(event: AuditEvent, clients: dict[str, str], owner: str | None) -> HistoryRow:
    detail = event.detail if isinstance(event.detail, dict) else {}
    at = event.at.replace(tzinfo=UTC).astimezone(PARIS)
    client_id = event.client_id or detail.get("client_id")
    return HistoryRow(
        at=at,
        when=at.strftime(translate("history.date_format")),
        event=event.event,
        label=_text(f"history.event.{event.event}", event.event),
        details=_details(event, detail),
        actor=_actor(detail, owner),
        application=clients.get(str(client_id), str(client_id)) if client_id else "",
        method=_method(detail) if event.event == "session.start" else "",
        workstation=short_workstation(detail.get("workstation")),
        ip=event.ip or "",
        result=_result(event, detail),
        failed=event.event in FAILURES,
    )


def history(account_id: int, page: int, per_page: int = PER_PAGE) -> tuple[list[HistoryRow], bool]:
    """Page ``page`` (from 1) of the account's history, newest first, and whether older
    events remain."""
    page = min(max(1, page), MAX_PAGE)
    events = db.session.execute(
        db.select(AuditEvent)
        .where(AuditEvent.account_id == account_id, AuditEvent.event.not_in(HIDDEN))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).scalars().all()
    has_more = len(events) > per_page
    events = events[:per_page]
    wanted = {e.client_id or (e.detail or {}).get("client_id") for e in events} - {None}
    clients: dict[str, str] = {}
    if wanted:
        clients = {client_id: name for client_id, name in db.session.execute(
            db.select(Client.client_id, Client.name).where(Client.client_id.in_([str(c) for c in wanted]))
        )}
    owner = db.session.execute(db.select(Account.identifier).where(Account.id == account_id)).scalar_one_or_none()
    return [_row(event, clients, owner) for event in events], has_more


def page_number(text: str | None) -> int:
    """``?page=N`` as typed: anything but a positive number is the first page."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 6:
        return 1
    return min(max(1, int(text)), MAX_PAGE)
