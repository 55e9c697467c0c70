"""Federated login: the configured upstreams, linking their identities to accounts, and
the throttle that replaces lockout on this path (policy ``lockout.federated``)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import func, update

from connectors.upstream import Upstream, UpstreamIdentity, net_entreprises
from connectors.upstream.oidc import DEFAULT_CLAIMS, OIDCUpstream

from . import audit
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
    account whose establishment SIRET and email match the upstream's claims."""
    link = db.session.execute(
        db.select(UpstreamLink).filter_by(issuer=identity.issuer, subject=identity.subject)
    ).scalar_one_or_none()
    if link is not None:
        link.last_used_at = now()
        if not link.account.is_usable(now().date()):
            raise NoAccount("linked account not usable")
        return link.account
    if not identity.siret or not identity.email:
        raise NoAccount("the upstream gave no SIRET or no email")
    candidates = db.session.execute(
        db.select(Account).join(Establishment)
        .where(Establishment.siret == identity.siret,
               func.lower(Account.email) == identity.email.lower(),
               Account.status == "active")
    ).scalars().all()
    candidates = [a for a in candidates if a.is_usable(now().date())]
    if len(candidates) != 1:
        raise NoAccount("no matching account" if not candidates else "several matching accounts")
    account = candidates[0]
    db.session.add(UpstreamLink(issuer=identity.issuer, subject=identity.subject, account_id=account.id,
                                last_used_at=now()))
    audit.record("upstream.linked", account_id=account.id, issuer=identity.issuer, subject=identity.subject)
    return account


def waiting_until(account: Account) -> datetime | None:
    """When a throttled federated login may be tried again, if it must wait."""
    until = account.federated_wait_until
    return until if until is not None and until > now() else None


def record_failure(policy: Policy, account: Account) -> datetime | None:
    """Count a failure on the federated path; past the limit the user waits, the account
    is never locked. Returns the time to wait until, if the limit was reached."""
    throttle = policy.lockout.federated
    count = db.session.execute(
        update(Account).where(Account.id == account.id)
        .values(federated_failures=Account.federated_failures + 1)
        .returning(Account.federated_failures)
    ).scalar_one()
    until = None
    if count >= throttle.max_failures:
        until = now() + throttle.wait
        db.session.execute(
            update(Account).where(Account.id == account.id)
            .values(federated_failures=0, federated_wait_until=until)
        )
        audit.record("login.federated_throttled", account_id=account.id, until=until.isoformat())
    db.session.commit()
    db.session.refresh(account)
    return until


def reset_failures(account: Account) -> None:
    account.federated_failures = 0
    account.federated_wait_until = None
