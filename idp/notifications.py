"""Security notices emailed to an account's owner: a phone set or changed, an email
changed (told at the old address), a password changed, a lock (with the way out), a new
trusted workstation (``notifications.new_trusted_workstation`` in the policy).

Whoever else holds the password cannot then enrol a phone or change a password unseen.
The notice is queued (:mod:`idp.jobs`) and sent by the worker, with retries.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for

from connectors.senders import Message

from . import jobs, messaging
from .extensions import db
from .i18n import get_locale
from .models import Account
from .phones import mask
from .policy_store import current_policy

KINDS = ("phone_changed", "email_changed", "password_changed", "account_locked", "new_trusted_workstation")


def notify(account: Account, kind: str, *, to: str | None = None, **context: Any) -> None:
    """Queue notice ``kind`` for ``account`` (to its address, or ``to``)."""
    if kind not in KINDS:
        raise ValueError(kind)
    if kind == "new_trusted_workstation" and not current_policy().notifications.new_trusted_workstation:
        return
    try:
        locale = get_locale()
    except RuntimeError:  # outside a request (the command line): the default language
        locale = current_app.config["IDP"].ui.default_locale
    if account.id is None:
        db.session.flush()
    jobs.enqueue("notify", account_id=account.id, notice=kind, to=to or account.email, locale=locale,
                 context={k: str(v) for k, v in context.items()})


@jobs.handler("notify")
def send_notice(payload: dict[str, Any]) -> None:
    account = db.session.get(Account, payload["account_id"])
    if account is None:
        return  # deleted since: nobody to tell
    issuer = current_app.config["IDP"].issuer
    subject, body = messaging.render_message(
        f"notice_{payload['notice']}", account=account, phone=mask(account.phone) if account.phone else "",
        reset_link=issuer + url_for("recovery.forgot_password"), console_link=issuer + "/account",
        **payload.get("context", {}))
    messaging.send(Message(channel="email", to=payload["to"], subject=subject, body=body))
