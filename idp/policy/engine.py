"""The policy engine: a pure function from a context to a decision, with its trace.

The one judge of "is a code needed now, and which acr does the session get": the login
flow asks it once the account is known, the authorization endpoint asks it when a
request arrives in an existing session (step-up), and both act on the
:class:`Decision` as it is. No Flask, no database, no I/O: callers gather the
:class:`Context`. ``idp policy explain`` prints the same trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from .model import SENSITIVE_ACTIONS, Policy, Rule, RuleWhen


@dataclass(frozen=True)
class Context:
    """What is known when a decision is needed."""

    action: str = "login"                   # login, or one of the sensitive actions
    login_method: Literal["local", "federated"] = "local"
    profile: Literal["administrator", "user"] = "user"
    client: str | None = None               # client_id
    service: str | None = None              # the client's service code
    establishment: str | None = None        # SIRET
    first_login: bool = False               # no code ever verified for this account
    trusted_device_age: timedelta | None = None  # age of this browser's trusted-device record
    existing_session: bool = False          # the browser is logged in: only step-up reasons apply
    code_in_session: bool = False           # a code was verified in this login session
    requested_acr: str | None = None        # the minimum acr the client or request demands


@dataclass(frozen=True)
class Decision:
    require_code: bool
    acr: str                                 # the level the session will have
    trusted_device_lifetime: timedelta
    code_lifetime: timedelta
    trace: tuple[str, ...] = field(default=())

    def explain(self) -> str:
        lines = [f"require_code: {str(self.require_code).lower()}", f"acr: {self.acr}",
                 f"trusted_device_lifetime: {int(self.trusted_device_lifetime.total_seconds())}s",
                 f"code_lifetime: {int(self.code_lifetime.total_seconds())}s", "trace:"]
        return "\n".join(lines + [f"  - {step}" for step in self.trace])


def _matches(when: RuleWhen, context: Context) -> bool:
    for name in RuleWhen.model_fields:
        expected = getattr(when, name)
        if expected is None:
            continue
        wanted = expected if isinstance(expected, list) else [expected]
        if getattr(context, name) not in wanted:
            return False
    return True


def _apply_rules(rules: list[Rule], context: Context, trace: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for rule in rules:
        if not _matches(rule.when, context):
            continue
        changes = {k: v for k, v in rule.set.model_dump().items() if v is not None}
        settings.update(changes)
        shown = ", ".join(f"{k}={_show(v)}" for k, v in changes.items())
        trace.append(f"rule '{rule.name}' applies: {shown}")
    return settings


def _show(value: object) -> str:
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())}s"
    return str(value).lower() if isinstance(value, bool) else str(value)


def evaluate(policy: Policy, context: Context) -> Decision:
    """Decide whether a one-time code is needed now, and with which settings."""
    trace: list[str] = []
    overrides = _apply_rules(policy.rules, context, trace)
    device_lifetime = overrides.get("trusted_device_lifetime", policy.trusted_device.lifetime)
    code_lifetime = overrides.get("code_lifetime", policy.codes.lifetime)
    mfa, single = policy.acr.multi_factor, policy.acr.single_factor

    reasons: list[str] = []
    if context.action in SENSITIVE_ACTIONS:
        if context.action in policy.sensitive.actions:
            reasons.append(f"action {context.action} is sensitive")
        else:
            trace.append(f"action {context.action} is not listed as sensitive")
    if context.service and context.service in policy.sensitive.services:
        reasons.append(f"service {context.service} requires {mfa}")
    if context.requested_acr == mfa:
        reasons.append(f"the request requires {mfa}")
    if overrides.get("require_code") is True:
        reasons.append("a rule requires a code")

    if reasons:
        trace.extend(reasons)
        if context.code_in_session:
            trace.append("a code was verified in this session: it holds for the session")
            return Decision(False, mfa, device_lifetime, code_lifetime, tuple(trace))
        trace.append("no code verified in this session yet: a code is required")
        return Decision(True, mfa, device_lifetime, code_lifetime, tuple(trace))

    if context.action != "login":
        trace.append(f"action {context.action} needs no code")
        return Decision(False, mfa if context.code_in_session else single, device_lifetime,
                        code_lifetime, tuple(trace))
    if context.existing_session:
        trace.append("an existing session is reused: it keeps its level")
        return Decision(False, mfa if context.code_in_session else single, device_lifetime,
                        code_lifetime, tuple(trace))
    if context.code_in_session:
        trace.append("a code was verified in this session")
        return Decision(False, mfa, device_lifetime, code_lifetime, tuple(trace))
    if context.first_login:
        trace.append("first login: a code is required")
        return Decision(True, mfa, device_lifetime, code_lifetime, tuple(trace))
    if overrides.get("require_code") is False:
        trace.append("a rule waives the code: single-factor login")
        return Decision(False, single, device_lifetime, code_lifetime, tuple(trace))
    age = context.trusted_device_age
    if age is not None and age < device_lifetime:
        trace.append(f"trusted device {_show(age)} old, under {_show(device_lifetime)}: "
                     "no code, single-factor login")
        return Decision(False, single, device_lifetime, code_lifetime, tuple(trace))
    if age is not None:
        trace.append(f"trusted device {_show(age)} old, not under {_show(device_lifetime)}: a code is required")
    else:
        trace.append("no trusted device for this account on this browser: a code is required")
    return Decision(True, mfa, device_lifetime, code_lifetime, tuple(trace))
