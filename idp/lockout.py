"""Counting failed authentications and locking local accounts (policy ``lockout.local``),
and the per-address limit on failed logins (``lockout.per_ip``, in :mod:`idp.limits`).

The count is one atomic UPDATE … RETURNING, never read-then-write, so parallel attempts
on several workers lock the account at exactly the policy's limit.
"""

from __future__ import annotations

from sqlalchemy import update

from . import audit, limits
from .clock import now
from .extensions import db
from .models import Account
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


def check_address(policy: Policy, ip: str | None) -> None:
    """Raise :class:`~idp.limits.RateLimited` if this address failed too often lately,
    whatever the accounts (password spraying). Checked before any password work."""
    limit = policy.lockout.per_ip
    limits.check(f"login.ip:{ip}", limit.count, limit.window, "login.address_blocked", "ip")


def count_address_failure(ip: str | None) -> None:
    limits.hit(f"login.ip:{ip}")


def reset_failures(account: Account) -> None:
    account.failed_logins = 0


def unlock(account: Account) -> None:
    if account.status == "locked":
        account.status = "active"
        account.locked_at = None
        audit.record("account.unlocked", account_id=account.id)
    account.failed_logins = 0
