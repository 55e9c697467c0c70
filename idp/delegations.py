"""Delegations (multi-establishment access, "Ses délégations de droits").

An administrator of establishment A offers an account of establishment B some of A's
services; the account's owner accepts or refuses. An account then belongs to its own
establishment (its profile, its rights) and, as a user, to each establishment whose offer
it accepted (the delegated services). A login with several establishments chooses one
(or the relying party names it with ``peps_siret``); ``peps_siret``,
``peps_establishment`` and ``peps_services`` then describe that one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from . import audit
from .clock import now
from .directory import AccountError
from .extensions import db
from .models import Account, Delegation, Service


@dataclass(frozen=True)
class Membership:
    siret: str
    name: str
    profile: str
    services: tuple[str, ...]
    delegated: bool = False


def own_membership(account: Account) -> Membership:
    """The account's own establishment, its profile and its rights (no query beyond them)."""
    return Membership(account.establishment.siret, account.establishment.name, account.profile,
                      tuple(account.service_codes))


_ACCEPTED = (select(Delegation).where(Delegation.account_id == bindparam("account_id"),
                                     Delegation.status == "accepted").order_by(Delegation.id))


def memberships(account: Account) -> list[Membership]:
    """The account's own establishment first, then those whose offers it accepted."""
    own = own_membership(account)
    accepted = db.session.execute(_ACCEPTED, {"account_id": account.id}).scalars().all()
    return [own, *(Membership(d.establishment.siret, d.establishment.name, "user", tuple(sorted(d.services)), True)
                   for d in accepted)]


def membership(account: Account, siret: str | None) -> Membership | None:
    """The account's membership of ``siret`` (its own establishment when ``None``)."""
    found = memberships(account)
    if siret is None:
        return found[0]
    return next((m for m in found if m.siret == siret), None)


def has_right(account: Account, service: Service | None, siret: str | None) -> bool:
    """Whether ``account``, acting for establishment ``siret``, may use ``service``."""
    if service is None:
        return True
    if siret is None or siret == account.establishment.siret:
        return account.has_right_to(service)
    found = membership(account, siret)
    return found is not None and service.code in found.services


def offer(admin: Account, identifier: str, codes: list[str]) -> Delegation:
    """``admin``'s establishment offers ``identifier`` (an account of another one) ``codes``."""
    if admin.profile != "administrator":
        raise AccountError("only an administrator offers a delegation")
    account = db.session.execute(
        db.select(Account).filter_by(identifier=identifier.strip().upper())
    ).scalar_one_or_none()
    if account is None:
        raise AccountError(f"no account {identifier!r}")
    if account.establishment_id == admin.establishment_id:
        raise AccountError("this account belongs to your establishment: give it rights instead")
    codes = sorted(set(codes))
    if not codes:
        raise AccountError("choose at least one service")
    known = set(db.session.execute(db.select(Service.code).where(Service.code.in_(codes))).scalars())
    if known != set(codes):
        raise AccountError(f"unknown services: {', '.join(sorted(set(codes) - known))}")
    delegation = db.session.execute(
        db.select(Delegation).where(Delegation.establishment_id == admin.establishment_id,
                                    Delegation.account_id == account.id,
                                    Delegation.status.in_(("offered", "accepted")))
    ).scalar_one_or_none()
    if delegation is None:
        delegation = Delegation(establishment_id=admin.establishment_id, account_id=account.id, services=codes,
                                status="offered", offered_by=admin.identifier, created_at=now())
        db.session.add(delegation)
    else:
        if delegation.status == "accepted" and not set(codes) <= set(delegation.services):
            delegation.status, delegation.decided_at = "offered", None  # more rights: asked again
        delegation.services, delegation.offered_by = codes, admin.identifier
    db.session.flush()
    audit.record("delegation.offered", account_id=account.id, actor=admin.identifier,
                 establishment=admin.establishment.siret, services=codes)
    return delegation


def decide(account: Account, delegation_id: int, accept: bool) -> Delegation:
    """The delegated account accepts or refuses an offer (or leaves an accepted one)."""
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None or delegation.account_id != account.id or delegation.status not in ("offered", "accepted"):
        raise AccountError("no such delegation")
    if accept and delegation.status != "offered":
        raise AccountError("this delegation is already accepted")
    delegation.status, delegation.decided_at = ("accepted" if accept else "refused"), now()
    audit.record("delegation.accepted" if accept else "delegation.refused", account_id=account.id,
                 establishment=delegation.establishment.siret)
    return delegation


def revoke(admin: Account, delegation_id: int) -> Delegation:
    delegation = db.session.get(Delegation, delegation_id)
    if (delegation is None or delegation.establishment_id != admin.establishment_id
            or admin.profile != "administrator" or delegation.status not in ("offered", "accepted")):
        raise AccountError("no such delegation")
    delegation.status, delegation.decided_at = "revoked", now()
    audit.record("delegation.revoked", account_id=delegation.account_id, actor=admin.identifier,
                 establishment=admin.establishment.siret)
    return delegation


def offered_to(account: Account) -> list[Delegation]:
    return list(db.session.execute(
        db.select(Delegation).where(Delegation.account_id == account.id,
                                    Delegation.status.in_(("offered", "accepted"))).order_by(Delegation.id)
    ).scalars())


def offered_by(establishment_id: int) -> list[Delegation]:
    return list(db.session.execute(
        db.select(Delegation).where(Delegation.establishment_id == establishment_id,
                                    Delegation.status.in_(("offered", "accepted"))).order_by(Delegation.id)
    ).scalars())
