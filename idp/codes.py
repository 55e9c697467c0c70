"""One-time codes sent by SMS or voice call.

Codes are random, stored as a keyed digest (six digits are too few for a plain hash),
single use, valid for the policy's lifetime; a new code voids the previous one of the
same flow; wrong entries count as authentication failures. Sends are limited per
account, per number and per client IP (the policy's ``codes.send_limits``, counted in
:mod:`idp.limits`).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import bindparam, select, update

from connectors.senders import Message, SendError

from . import audit, messaging
from . import limits as rate_limits
from .clock import now
from .extensions import db
from .models import Account, LoginFlow, OneTimeCode
from .phones import PhoneError, check_destination, parse_phone
from .policy import Policy

CHANNEL_AMR = {"sms": "sms", "voice": "tel"}
# Statements of every login with a code, built once.
_LATEST = (select(OneTimeCode).where(OneTimeCode.flow_id == bindparam("flow_id"))
           .order_by(OneTimeCode.id.desc()).limit(1))
_LOCK_ACCOUNT = select(Account.id).where(Account.id == bindparam("account_id")).with_for_update()


@dataclass(frozen=True)
class Verification:
    ok: bool
    code: OneTimeCode | None = None
    reason: str = ""   # "wrong", "expired", "exhausted", "none"


def _digest(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"otp:{code}".encode(), "sha256").hexdigest()


def channel_for(policy: Policy, phone: str) -> str:
    return getattr(policy.channels, parse_phone(phone).line_type)


def voice_offered(policy: Policy, phone: str) -> bool:
    """Whether the code page may offer a voice call to a number whose codes go by SMS."""
    if not policy.codes.voice_on_request or channel_for(policy, phone) != "sms":
        return False
    try:
        check_destination(parse_phone(phone), policy.phones.allowed_regions, "voice")
    except PhoneError:
        return False
    return True


def latest(flow: LoginFlow) -> OneTimeCode | None:
    return db.session.execute(_LATEST, {"flow_id": flow.id}).scalar_one_or_none()


def check_limits(policy: Policy, account: Account, phone: str) -> None:
    """Raise :class:`~idp.limits.RateLimited` if this account, number or address has
    had as many codes as the policy allows within its window."""
    limits = policy.codes.send_limits
    checks = [
        ("account", limits.per_account, f"code.account:{account.id}"),
        ("phone", limits.per_phone, f"code.phone:{phone}"),
        # A ceiling per address (a trusted network's own, if the address is in one).
        ("ip", policy.limits_for_address(request.remote_addr).code_sends, f"code.ip:{request.remote_addr}"),
    ]
    try:
        rate_limits.check(*(rate_limits.Limit(key, limit.count, limit.window, "code.limit", scope)
                            for scope, limit, key in checks))
    except rate_limits.RateLimited as limited:
        audit.record("code.send_limited", account_id=account.id, scope=limited.scope)
        db.session.commit()
        raise


def _count_send(account: Account, phone: str) -> None:
    for key in (f"code.account:{account.id}", f"code.phone:{phone}", f"code.ip:{request.remote_addr}"):
        rate_limits.hit(key)


def issue(policy: Policy, flow: LoginFlow, account: Account, phone: str, lifetime: timedelta,
          by_voice: bool = False) -> OneTimeCode:
    """Send a new code to ``phone`` for ``flow``; raise RateLimited (too soon after the
    previous code, or a send limit reached) or SendError. ``by_voice`` asks for a voice
    call where :func:`voice_offered` allows it (the policy's channel otherwise).

    The previous code is voided only once the new one is sent, so a provider failure
    leaves the user where they were."""
    # One send at a time per account: concurrent requests (a burst of "resend" or "voice")
    # wait here for this one to commit, then see its code and its counted hits. PostgreSQL
    # holds the row lock until commit; on SQLite, the embedded single-node default, this
    # is a no-op.
    db.session.execute(_LOCK_ACCOUNT, {"account_id": account.id})
    previous = latest(flow)
    moment = now()
    if previous is not None and previous.created_at + policy.codes.resend_delay > moment:
        raise rate_limits.RateLimited(previous.created_at + policy.codes.resend_delay, "code.too_soon")
    channel = "voice" if by_voice and voice_offered(policy, phone) else channel_for(policy, phone)
    try:  # the policy may have narrowed the destinations since the number was stored
        check_destination(parse_phone(phone), policy.phones.allowed_regions, channel)
    except PhoneError as exc:
        audit.record("code.destination_refused", account_id=account.id, channel=channel, reason=str(exc))
        db.session.commit()
        raise SendError(str(exc), retryable=False, provider="policy") from None
    check_limits(policy, account, phone)
    code = f"{secrets.randbelow(10 ** policy.codes.length):0{policy.codes.length}d}"
    _count_send(account, phone)
    minutes = max(1, int(lifetime.total_seconds() // 60))
    if channel == "sms":
        _, body = messaging.render_message("code_sms", code=code, minutes=minutes)
    else:
        _, body = messaging.render_message("code_voice", spoken=", ".join(code))
    try:
        messaging.send(Message(channel=channel, to=phone, body=body, reference=flow.flow_id[:16]))
    except SendError as exc:
        audit.record("code.send_failed", account_id=account.id, channel=channel,
                     provider=exc.provider, reason=exc.reason, retryable=exc.retryable)
        db.session.commit()  # the attempt counts against the limits
        raise
    if previous is not None:
        db.session.execute(
            update(OneTimeCode).where(OneTimeCode.flow_id == flow.id, OneTimeCode.voided_at.is_(None))
            .values(voided_at=moment)
        )
    record = OneTimeCode(flow_id=flow.id, account_id=account.id, digest=_digest(code), channel=channel,
                         phone=phone, created_at=moment, expires_at=moment + lifetime)
    db.session.add(record)
    audit.record("code.sent", account_id=account.id, channel=channel)
    db.session.commit()
    return record


def verify(policy: Policy, flow: LoginFlow, entered: str, record: OneTimeCode | None) -> Verification:
    """Check ``entered`` against the flow's live code, ``record`` (:func:`latest`, read in
    this transaction). A right code is used up atomically."""
    moment = now()
    if record is None or record.voided_at is not None or record.used_at is not None:
        return Verification(False, record, "none")
    if record.expires_at <= moment:
        return Verification(False, record, "expired")
    entered = "".join(ch for ch in entered if ch.isdigit())
    if hmac.compare_digest(_digest(entered), record.digest):
        claimed = db.session.execute(
            update(OneTimeCode).where(OneTimeCode.id == record.id, OneTimeCode.used_at.is_(None),
                                      OneTimeCode.voided_at.is_(None))
            .values(used_at=moment)
        ).rowcount
        if claimed == 1:
            return Verification(True, record)
        return Verification(False, record, "none")
    db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == record.id).values(attempts=OneTimeCode.attempts + 1)
    )
    attempts = db.session.execute(
        db.select(OneTimeCode.attempts).where(OneTimeCode.id == record.id)
    ).scalar_one()
    if attempts >= policy.codes.max_attempts:
        db.session.execute(
            update(OneTimeCode).where(OneTimeCode.id == record.id, OneTimeCode.voided_at.is_(None))
            .values(voided_at=moment)
        )
        return Verification(False, record, "exhausted")
    return Verification(False, record, "wrong")

