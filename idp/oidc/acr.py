"""Authentication context levels (OIDC Core 2, 3.1.2.1, 5.5.1.1).

The policy names the levels from the weakest to the strongest; a session's level is
that of its ``acr``. A client may require a level through its registered minimum,
``acr_values`` or an essential ``acr`` in the ``claims`` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Client


@dataclass(frozen=True)
class Requirement:
    """The minimum level required (``None``: none) and whether it can be met at all."""

    minimum: int | None
    satisfiable: bool = True


def level(levels: list[str], acr: str | None) -> int:
    return levels.index(acr) if acr in levels else -1


def requirement(
    levels: list[str], client: Client, acr_values: str | None, essential: list[str]
) -> Requirement:
    """Combine the client's registered minimum, ``acr_values`` and an essential claim.

    ``acr_values`` is a list of acceptable values in order of preference: the request is
    asking for at least the weakest level it names. An essential acr naming no level
    this IdP knows cannot be met.
    """
    minimums: list[int] = []
    if client.default_acr in levels:
        minimums.append(levels.index(client.default_acr))
    requested = [levels.index(v) for v in (acr_values or "").split() if v in levels]
    if requested:
        minimums.append(min(requested))
    if essential:
        known = [levels.index(v) for v in essential if v in levels]
        if not known:
            return Requirement(None, satisfiable=False)
        minimums.append(min(known))
    return Requirement(max(minimums) if minimums else None)
