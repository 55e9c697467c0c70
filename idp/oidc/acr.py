"""What a relying party demands of the authentication level (OIDC Core 2, 3.1.2.1, 5.5.1.1).

The policy names the levels from the weakest to the strongest. A client may demand a
level through its registered minimum, ``acr_values`` or an essential ``acr`` in the
``claims`` parameter; this module only reads the demand. Whether the session meets it,
and what a login must do, is the policy engine's decision (:mod:`idp.policy.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Client


@dataclass(frozen=True)
class Requirement:
    """The weakest acceptable level (``None``: any) and whether it can be met at all."""

    acr: str | None
    satisfiable: bool = True


def requirement(levels: list[str], client: Client, acr_values: str | None, essential: list[str]) -> Requirement:
    """Combine the client's registered minimum, ``acr_values`` and an essential claim.

    ``acr_values`` is a list of acceptable values in order of preference: the request is
    asking for at least the weakest level it names. An essential acr, or a client's
    registered minimum, naming no level this IdP knows cannot be met.
    """
    minimums: list[int] = []
    if client.default_acr:
        if client.default_acr not in levels:
            # A registered minimum the policy no longer names (renamed levels): fail closed.
            return Requirement(None, satisfiable=False)
        minimums.append(levels.index(client.default_acr))
    requested = [levels.index(v) for v in (acr_values or "").split() if v in levels]
    if requested:
        minimums.append(min(requested))
    if essential:
        known = [levels.index(v) for v in essential if v in levels]
        if not known:
            return Requirement(None, satisfiable=False)
        minimums.append(min(known))
    # The weakest level is no demand at all.
    return Requirement(levels[max(minimums)] if minimums and max(minimums) > 0 else None)
