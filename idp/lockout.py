"""Counting failed authentications and locking local accounts (policy ``lockout.local``).

The count is one atomic UPDATE … RETURNING, never read-then-write, so parallel attempts
on several workers lock the account at exactly the policy's limit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from . import audit
from .clock import now
from .extensions import db
from .models import Account, AuditEvent
from .policy import Policy


def record_failure(policy: Policy, account: Account, kind: str) -> bool:
    """Count one failure (``password`` or ``code``); return True if the account is locked."""
    moment = now()
    count = db.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(failed_logins=Account.failed_logins + 1, last_failure_at=moment)
        .returning(Account.failed_logins)
    ).scalar_one()
    locked = False
    if count >= policy.lockout.local.max_failures:
        locked = db.session.execute(
            update(Account)
            .where(Account.id == account.id, Account.status == "active")
            .values(status="locked", locked_at=moment)
        ).rowcount == 1
        if locked:
            audit.record("account.locked", account_id=account.id, failures=count, last=kind)
    db.session.commit()
    db.session.refresh(account)
    return account.status == "locked"


def address_blocked_until(policy: Policy, ip: str | None) -> datetime | None:
    """When this address may try again, if it failed too often lately (any accounts)."""
    limit = policy.lockout.per_ip
    failures = db.session.execute(
        db.select(AuditEvent.at)
        .where(AuditEvent.event == "login.failure", AuditEvent.ip == ip,
               AuditEvent.at > now() - limit.window)
        .order_by(AuditEvent.at.desc()).limit(limit.count)
    ).scalars().all()
    if len(failures) < limit.count:
        return None
    return failures[-1] + limit.window


def reset_failures(account: Account) -> None:
    account.failed_logins = 0


def unlock(account: Account) -> None:
    if account.status == "locked":
        account.status = "active"
        account.locked_at = None
        audit.record("account.unlocked", account_id=account.id)
    account.failed_logins = 0
