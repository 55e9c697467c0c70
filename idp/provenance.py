"""How a user authenticated, carried unchanged from the login session to the authorization
code, to the tokens, to what ID tokens and introspection state (OIDC Core 2, RFC 8176,
RFC 9470).

One type, one JSON column on each record that carries it: adding a field here is the
one change needed for it to travel the whole way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

LoginMethod = Literal["local", "federated"]


@dataclass(frozen=True)
class Provenance:
    auth_time: int                       # when the user last gave a password or logged in upstream
    acr: str                             # the level the policy's decision gave the session
    amr: tuple[str, ...]                 # RFC 8176 method references
    login_method: LoginMethod = "local"  # federated sessions throttle, they never lock
    sid: str | None = None               # the session id (OIDC Front/Back-Channel, RP logout)
    claims: dict[str, Any] | None = None  # the authorization request's ``claims`` parameter
    establishment: str | None = None     # the SIRET the user acts for (delegations); None: their own

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "amr": list(self.amr)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        values["amr"] = tuple(values.get("amr") or ())
        return cls(**values)

    def for_request(self, claims: dict[str, Any] | None, establishment: str | None = None) -> Provenance:
        """This session's provenance as one authorization request sees it (which may name
        another of the account's establishments)."""
        return replace(self, claims=claims, establishment=establishment or self.establishment)
