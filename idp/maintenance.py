"""Removing what has outlived its use: expired flows, codes, tokens, sessions, counters.

Nothing here is needed for correctness (every check already looks at expiry); it keeps
the tables small. Run ``idp purge`` from cron on one node. Audit events are kept: their
retention is the operator's decision.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_

from . import limits
from .clock import now
from .extensions import db
from .models import (
    AuthorizationCode,
    ClientAssertionJti,
    Job,
    LoginFlow,
    LoginSession,
    OneTimeCode,
    PasswordReset,
    RevokedAccessToken,
    Token,
    TrustedDevice,
)
from .policy import Policy

GRACE = timedelta(days=1)             # keep expired rows a day, for investigations
DEVICE_GRACE = timedelta(days=30)     # ended trusted devices stay listed in the audit a month


def purge(policy: Policy) -> dict[str, int]:
    moment = now()
    old = moment - GRACE
    sends = policy.codes.send_limits
    longest_window = max(sends.per_account.window, sends.per_phone.window, sends.per_ip.window,
                         policy.lockout.per_ip.window, policy.lockout.federated.wait, timedelta(hours=1))
    statements = {
        "one_time_codes": delete(OneTimeCode).where(OneTimeCode.expires_at < old),
        "login_flows": delete(LoginFlow).where(LoginFlow.expires_at < old),
        "authorization_codes": delete(AuthorizationCode).where(AuthorizationCode.expires_at < old),
        "tokens": delete(Token).where(
            Token.access_expires_at < old,
            or_(Token.refresh_expires_at.is_(None), Token.refresh_expires_at < old, Token.revoked_at < old),
        ),
        "login_sessions": delete(LoginSession).where(or_(LoginSession.expires_at < old, LoginSession.ended_at < old)),
        "client_assertion_jtis": delete(ClientAssertionJti).where(ClientAssertionJti.expires_at < moment),
        # A day late, as the rest: a node whose clock lags must not see the token alive again.
        "revoked_access_tokens": delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < old),
        "jobs": delete(Job).where(Job.done_at < old),  # done or given up (the audit trail keeps why)
        "password_resets": delete(PasswordReset).where(
            or_(PasswordReset.expires_at < old, PasswordReset.used_at < old)),
        "trusted_devices": delete(TrustedDevice).where(
            or_(TrustedDevice.expires_at < moment - DEVICE_GRACE, TrustedDevice.revoked_at < moment - DEVICE_GRACE)),
    }
    counts = {name: db.session.execute(statement).rowcount for name, statement in statements.items()}
    counts["rate_limit_hits"] = limits.purge(longest_window)
    db.session.commit()
    return counts
