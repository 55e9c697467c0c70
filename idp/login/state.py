"""What a login flow remembers between its steps, every key named once.

Stored as JSON on :class:`~idp.models.LoginFlow`; read and written only through this model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..policy import Decision

Purpose = Literal["login", "step_up", "sensitive", "password_reset"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Authorization(_Part):
    """The authorization request as validated on arrival, to be answered once the user
    has logged in (the other parameters, nonce and PKCE challenge, stay in the flow's
    ``params``)."""

    client_id: str
    redirect_uri: str
    scope: str
    claims: dict[str, Any] | None = None


class UpstreamAttempt(_Part):
    """A login sent to an upstream provider, waiting for its callback."""

    id: str
    state: str           # emptied once the callback arrived: a replay cannot finish twice
    nonce: str
    verifier: str


class FlowState(_Part):
    purpose: Purpose = "login"
    authorization: Authorization | None = None   # absent for a password reset
    service: str | None = None                   # the client's service code
    client_name: str | None = None               # the client's name, which the login page shows
    requested_acr: str | None = None             # what the relying party demands
    login_method: Literal["local", "federated"] = "local"
    decision: Decision | None = None             # the policy's answer, once the account is known
    pending_phone: str | None = None             # typed at first login, kept once a code to it works
    upstream: UpstreamAttempt | None = None
    reset_id: int | None = None                  # the password reset this flow completes
    return_to: str | None = None                 # a console page to go back to (sensitive actions)
    establishment: str | None = None             # the SIRET chosen (several establishments: delegations)
    session_sid: str | None = None               # a step-up's session: the flow ends if that session does

    @property
    def require_code(self) -> bool:
        return self.decision is not None and self.decision.require_code
