"""Claims about an account, by scope (OIDC Core 5.4) and by ``claims`` request (5.5).

The ``peps`` scope carries the platform's own claims: the establishment's SIRET and
name, the account's profile and its rights to services.
"""

from __future__ import annotations

import json
from typing import Any

from ..models import Account

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": ("name", "given_name", "family_name", "preferred_username", "updated_at"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "peps": ("peps_siret", "peps_establishment", "peps_profile", "peps_services"),
}
SCOPES_SUPPORTED = ["openid", *SCOPE_CLAIMS]
CLAIMS_SUPPORTED = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    *(claim for claims in SCOPE_CLAIMS.values() for claim in claims),
]


def account_claims(account: Account, establishment: str | None = None) -> dict[str, Any]:
    """Every claim this IdP can state about ``account``, acting for ``establishment``
    (a SIRET among its memberships; its own establishment when ``None``)."""
    from ..clock import epoch
    from ..delegations import membership, own_membership

    own = own_membership(account)
    acting = own
    if establishment is not None and establishment != own.siret:
        acting = membership(account, establishment) or own  # a delegation, read only when named
    return {
        "name": f"{account.first_name} {account.last_name}",
        "given_name": account.first_name,
        "family_name": account.last_name,
        "preferred_username": account.identifier,
        "updated_at": epoch(account.updated_at),
        "email": account.email,
        # Professional addresses are set by an administrator, not verified by a link.
        "email_verified": False,
        "phone_number": account.phone,
        "phone_number_verified": account.phone is not None,
        "peps_siret": acting.siret,
        "peps_establishment": acting.name,
        "peps_profile": acting.profile,
        "peps_services": list(acting.services),
    }


def parse_claims_request(raw: str | None) -> dict[str, Any] | None:
    """Parse the ``claims`` parameter; raise ValueError when it is malformed."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError("The 'claims' parameter is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ValueError("The 'claims' parameter must be a JSON object.")
    for member in ("userinfo", "id_token"):
        part = data.get(member)
        if part is None:
            continue
        if not isinstance(part, dict) or not all(
            value is None or isinstance(value, dict) for value in part.values()
        ):
            raise ValueError(f"The 'claims.{member}' member is malformed.")
    return data


def essential_acr_values(claims_request: dict[str, Any] | None) -> list[str]:
    """The acr values that ``claims.id_token.acr`` requires (essential) or an empty list."""
    acr = ((claims_request or {}).get("id_token") or {}).get("acr") or {}
    if not acr.get("essential"):
        return []
    if isinstance(acr.get("values"), list):
        return [str(v) for v in acr["values"]]
    return [str(acr["value"])] if "value" in acr else []


def released_names(
    scope: str, claims_request: dict[str, Any] | None, member: str, include_scope_claims: bool
) -> list[str]:
    """The names of the claims ``member`` releases, before reading the account."""
    names: list[str] = []
    if include_scope_claims:
        for scope_name in scope.split():
            names.extend(SCOPE_CLAIMS.get(scope_name, ()))
    allowed = {claim for s in scope.split() for claim in SCOPE_CLAIMS.get(s, ())}
    requested = ((claims_request or {}).get(member) or {}).keys()
    # A claims request can pick claims individually, but never beyond the granted scopes.
    names.extend(name for name in requested if name in allowed)
    return names


def select(
    account: Account,
    scope: str,
    claims_request: dict[str, Any] | None,
    member: str,
    include_scope_claims: bool,
    establishment: str | None = None,
) -> dict[str, Any]:
    """The claims to release in ``member`` (``userinfo`` or ``id_token``)."""
    names = released_names(scope, claims_request, member, include_scope_claims)
    if not names:
        return {}  # most ID tokens: nothing to read about the account's establishment
    available = account_claims(account, establishment)
    return {name: available[name] for name in dict.fromkeys(names) if available.get(name) is not None}
