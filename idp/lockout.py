"""Counting failed authentications and locking local accounts (policy ``lockout.local``),
and the per-address limits on failed logins (``lockout.per_ip``, ``per_ip_and_identifier``,
``trusted_networks``; counted in :mod:`idp.limits`).

The count is one atomic UPDATE … RETURNING, never read-then-write, so parallel attempts
on several workers lock the account at exactly the policy's limit.
"""

from __future__ import annotations

from sqlalchemy import update

from . import audit, limits, notifications
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
            notifications.notify(account, "account_locked")
    db.session.commit()
    db.session.refresh(account)
    return account.status == "locked"


def _identifier_key(ip: str | None, identifier: str) -> str:
    return f"login.ip_identifier:{ip}:{identifier.strip().upper()[:64]}"


def check_address(policy: Policy, ip: str | None, identifier: str) -> None:
    """Raise :class:`~idp.limits.RateLimited` if this address failed too often lately:
    for any identifier (a ceiling against spraying, a trusted network's own if the
    address is in one), or for this identifier. Checked before any password work."""
    ceiling = policy.limits_for_address(ip).failed_logins
    pair = policy.lockout.per_ip_and_identifier
    limits.check(
        limits.Limit(f"login.ip:{ip}", ceiling.count, ceiling.window, "login.address_blocked", "ip"),
        limits.Limit(_identifier_key(ip, identifier), pair.count, pair.window, "login.address_blocked",
                     "ip_identifier"),
    )


def count_address_failure(ip: str | None, identifier: str) -> None:
    limits.hit(f"login.ip:{ip}")
    limits.hit(_identifier_key(ip, identifier))


def reset_failures(account: Account) -> None:
    account.failed_logins = 0


def unlock(account: Account, actor: str | None = None) -> None:
    """Unlock and forget the failures. ``actor``: the administrator who asked (their
    action is in the trail even on an account that was not locked)."""
    was = account.status
    if was == "locked":
        account.status = "active"
        account.locked_at = None
    if was == "locked" or actor:
        audit.record("account.unlocked", account_id=account.id, **({"actor": actor, "was": was} if actor else {}))
    account.failed_logins = 0
