"""Trusted devices: after a verified code, this browser skips the code for a while.

The ``__Host-idp-device`` cookie is signed (itsdangerous) and names server-side records,
one per account that verified a code on this browser. A record counts only for its own
account, is revoked by a password or phone change or by the user, and only ever gives
the single-factor level.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, g, request
from sqlalchemy import update

from . import audit, notifications, signing
from .clock import now
from .digests import new_secret
from .extensions import db
from .models import Account, TrustedDevice
from .web import read_cookie, set_cookie
from .workstations import short_workstation

DEVICE_COOKIE = "__Host-idp-device"
MAX_DEVICES_PER_BROWSER = 5  # shared workstations: a few accounts, not a collection
COOKIE_MAX_AGE = timedelta(days=400)  # the records' own expiry is what counts


def _browser_summary() -> str:
    return short_workstation(request.user_agent.string)[:200] or "navigateur"


def _cookie_ids() -> list[str]:
    value = read_cookie(DEVICE_COOKIE)
    if not value:
        return []
    try:
        ids = signing.loads("trusted-device", value, max_age=int(COOKIE_MAX_AGE.total_seconds()))
    except signing.InvalidToken:
        return []
    return [i for i in ids if isinstance(i, str)][:MAX_DEVICES_PER_BROWSER] if isinstance(ids, list) else []


def record_for(account: Account) -> TrustedDevice | None:
    """This browser's live trusted-device record for ``account``, if any."""
    ids = _cookie_ids()
    if not ids:
        return None
    return db.session.execute(
        db.select(TrustedDevice)
        .where(TrustedDevice.device_id.in_(ids), TrustedDevice.account_id == account.id,
               TrustedDevice.revoked_at.is_(None), TrustedDevice.expires_at > now())
        .order_by(TrustedDevice.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def age_for(account: Account) -> timedelta | None:
    record = record_for(account)
    return None if record is None else now() - record.created_at


def mark_used(account: Account) -> None:
    record = record_for(account)
    if record is not None:
        record.last_used_at = now()


def trust(account: Account, lifetime: timedelta) -> TrustedDevice:
    """Remember this browser for ``account`` (replacing its previous record here)."""
    moment = now()
    ids = _cookie_ids()
    if ids:
        db.session.execute(
            update(TrustedDevice)
            .where(TrustedDevice.device_id.in_(ids), TrustedDevice.account_id == account.id,
                   TrustedDevice.revoked_at.is_(None))
            .values(revoked_at=moment)
        )
    record = TrustedDevice(device_id=new_secret(24), account_id=account.id, browser=_browser_summary(),
                           created_at=moment, expires_at=moment + lifetime, last_used_at=moment)
    db.session.add(record)
    audit.record("device.trusted", account_id=account.id, browser=record.browser)
    notifications.notify(account, "new_trusted_workstation", browser=record.browser)
    g.device_ids = [record.device_id, *ids][:MAX_DEVICES_PER_BROWSER]
    return record


def revoke_all(account: Account, reason: str, actor: str | None = None) -> int:
    """End every trusted workstation of ``account``. ``actor``: the administrator who
    asked (their action is in the trail even when there was nothing to end)."""
    result = db.session.execute(
        update(TrustedDevice)
        .where(TrustedDevice.account_id == account.id, TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if result.rowcount or actor:
        audit.record("device.revoked_all", account_id=account.id, reason=reason, count=result.rowcount,
                     **({"actor": actor} if actor else {}))
    return result.rowcount


def revoke(account: Account, device_id: int) -> bool:
    result = db.session.execute(
        update(TrustedDevice)
        .where(TrustedDevice.id == device_id, TrustedDevice.account_id == account.id,
               TrustedDevice.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    if result.rowcount:
        audit.record("device.revoked", account_id=account.id, device=device_id)
    return bool(result.rowcount)


def listed(account: Account) -> list[TrustedDevice]:
    return list(db.session.execute(
        db.select(TrustedDevice)
        .where(TrustedDevice.account_id == account.id, TrustedDevice.revoked_at.is_(None),
               TrustedDevice.expires_at > now())
        .order_by(TrustedDevice.created_at.desc())
    ).scalars())


def write_cookie(response: Response) -> Response:
    if g.get("device_ids"):
        set_cookie(response, DEVICE_COOKIE, signing.dumps("trusted-device", g.device_ids),
                   int(COOKIE_MAX_AGE.total_seconds()))
    return response
