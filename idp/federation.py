"""Federated login: the configured upstreams, linking their identities to accounts, and
the throttle that replaces lockout on this path (policy ``lockout.federated``, counted in
:mod:`idp.limits`)."""

from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import func

from connectors.upstream import Upstream, UpstreamIdentity, net_entreprises
from connectors.upstream.oidc import DEFAULT_CLAIMS, OIDCUpstream

from . import audit, limits
from .clock import now
from .config import Settings
from .extensions import db
from .models import Account, Establishment, UpstreamLink
from .policy import Policy


class NoAccount(Exception):
    """No single active account matches the upstream identity: an administrator must act."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AccountLocked(Exception):
    """The upstream identity names a local account that is locked: as on the local path,
    the user is told so, and a password reset unlocks it."""

    def __init__(self, account: Account):
        super().__init__("account locked")
        self.account = account


def init_app(app: Flask) -> None:
    settings: Settings = app.config["IDP"]
    upstreams: dict[str, Upstream] = {}
    for config in settings.upstreams:
        preset = config.kind == net_entreprises.KIND
        upstreams[config.id] = OIDCUpstream(
            id=config.id,
            label=config.label or (net_entreprises.LABEL if preset else config.id),
            issuer=config.issuer,
            client_id=config.client_id,
            client_secret=config.client_secret,
            scopes=list(config.scopes),
            claims={**(net_entreprises.CLAIMS if preset else DEFAULT_CLAIMS), **config.claims},
            use_userinfo=config.use_userinfo,
            timeout=config.timeout.total_seconds(),
            ca_bundle=config.ca_bundle,
        )
    app.extensions["idp.upstreams"] = upstreams


def upstreams() -> dict[str, Upstream]:
    return current_app.extensions["idp.upstreams"]


def account_for(identity: UpstreamIdentity) -> Account:
    """The account linked to this identity; a first login links it to the single active
    account whose establishment SIRET and email match the upstream's claims. Raises
    :class:`NoAccount`, or :class:`AccountLocked` for a locked account."""
    link = db.session.execute(
        db.select(UpstreamLink).filter_by(issuer=identity.issuer, subject=identity.subject)
    ).scalar_one_or_none()
    if link is not None:
        link.last_used_at = now()
        if link.account.status == "locked":
            raise AccountLocked(link.account)
        if not link.account.is_usable(now().date()):
            raise NoAccount("linked account not usable")
        return link.account
    if not identity.siret or not identity.email:
        raise NoAccount("the upstream gave no SIRET or no email")
    candidates = db.session.execute(
        db.select(Account).join(Establishment)
        .where(Establishment.siret == identity.siret,
               func.lower(Account.email) == identity.email.lower(),
               Account.status.in_(("active", "locked")))
    ).scalars().all()
    if len(candidates) == 1 and candidates[0].status == "locked":
        raise AccountLocked(candidates[0])  # not linked while locked
    candidates = [a for a in candidates if a.is_usable(now().date())]
    if len(candidates) != 1:
        raise NoAccount("no matching account" if not candidates else "several matching accounts")
    account = candidates[0]
    db.session.add(UpstreamLink(issuer=identity.issuer, subject=identity.subject, account_id=account.id,
                                last_used_at=now()))
    audit.record("upstream.linked", account_id=account.id, issuer=identity.issuer, subject=identity.subject)
    return account


def _throttle_key(account: Account) -> str:
    return f"federated:{account.id}"


def check_throttle(policy: Policy, account: Account) -> None:
    """Raise :class:`~idp.limits.RateLimited` while this account's federated logins must
    wait: ``lockout.federated.max_failures`` failures within ``lockout.federated.wait``."""
    throttle = policy.lockout.federated
    limits.check(limits.Limit(_throttle_key(account), throttle.max_failures, throttle.wait, "upstream.wait",
                              "federated"))


def record_failure(policy: Policy, account: Account) -> None:
    """Count a failure on the federated path; past the limit the user waits (raises
    :class:`~idp.limits.RateLimited`), the account is never locked."""
    limits.hit(_throttle_key(account))
    db.session.commit()
    try:
        check_throttle(policy, account)
    except limits.RateLimited as limited:
        audit.record("login.federated_throttled", account_id=account.id, until=limited.retry_at.isoformat())
        db.session.commit()
        raise


def reset_failures(account: Account) -> None:
    limits.clear(_throttle_key(account))
