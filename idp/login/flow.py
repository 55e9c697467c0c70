"""Login flows: created by the authorization endpoint, walked step by step.

A flow's steps, in order: ``password`` → ``phone`` (when the account has none) →
``code`` (when the policy asks) → ``confirm`` (first login only). A step-up flow starts
after ``password``; a password-reset flow only needs the ``code``.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, redirect, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import devices
from ..clock import now
from ..digests import new_secret
from ..extensions import db
from ..models import Account, Client, LoginFlow, LoginSession
from ..policy import Context, current_policy, evaluate
from ..sessions import start_session
from ..web import browser_digest

# Each step names the view that performs it.
STEPS: dict[str, str] = {
    "password": "login.password",
    "phone": "login.phone",
    "code": "login.code",
    "confirm": "login.confirm",
}


def start(params: MultiDict, client: Client | None, *, purpose: str = "login",
          required_acr: str | None = None, session: LoginSession | None = None,
          account: Account | None = None) -> LoginFlow:
    moment = now()
    state = {"purpose": purpose, "required_acr": required_acr,
             "service": client.service.code if client and client.service else None}
    flow = LoginFlow(
        flow_id=new_secret(24),
        browser_digest=browser_digest(),
        params=[[k, v] for k, v in params.items(multi=True)],
        client_id=client.client_id if client else "",
        account_id=account.id if account else None,
        steps_done=[],
        amr=[],
        state=state,
        login_hint=params.get("login_hint"),
        created_at=moment,
        expires_at=moment + current_app.config["IDP"].session.login_flow_lifetime,
    )
    if session is not None:  # step-up: the password was given in this session
        flow.account_id = session.account_id
        flow.steps_done = ["password"]
        flow.amr = session.amr.split()
        # A federated session stays federated: its failures throttle, they never lock.
        flow.state = {**state, "login_method": session.login_method}
    db.session.add(flow)
    db.session.flush()
    if account is not None or session is not None:
        flow.account = account or session.account
        decide(flow)
    return flow


def load(flow_id: str | None) -> LoginFlow:
    """The flow named in the request, started by this browser and not expired; else 400."""
    flow = None
    if flow_id and len(flow_id) <= 64:
        flow = db.session.execute(db.select(LoginFlow).filter_by(flow_id=flow_id)).scalar_one_or_none()
    if flow is None or flow.browser_digest != browser_digest() or flow.expires_at <= now():
        abort(400, description="flow_expired")
    return flow


def params_of(flow: LoginFlow) -> MultiDict:
    return MultiDict([(k, v) for k, v in flow.params])


def purpose(flow: LoginFlow) -> str:
    return flow.state.get("purpose", "login")


def decide(flow: LoginFlow) -> None:
    """Ask the policy whether this login needs a code; remember the answer on the flow."""
    account = flow.account
    policy = current_policy()
    requested = flow.state.get("required_acr")
    if purpose(flow) == "step_up":
        requested = policy.acr.multi_factor
    context = Context(
        # Changing a password is a sensitive action; step-up asks for the higher level.
        action="self.change_password" if purpose(flow) == "password_reset" else "login",
        login_method=flow.state.get("login_method", "local"),
        profile=account.profile,
        client=flow.client_id or None,
        service=flow.state.get("service"),
        establishment=account.establishment.siret,
        first_login=account.code_verified_at is None or account.phone is None,
        trusted_device_age=devices.age_for(account),
        requested_acr=requested,
    )
    decision = evaluate(policy, context)
    flow.state = {
        **flow.state,
        "require_code": decision.require_code,
        "device_lifetime": int(decision.trusted_device_lifetime.total_seconds()),
        "code_lifetime": int(decision.code_lifetime.total_seconds()),
        "trace": list(decision.trace),
    }


def needed(flow: LoginFlow, step: str) -> bool:
    account = flow.account
    if step == "password":
        return purpose(flow) == "login"
    if account is None:
        return True
    if step == "phone":
        return flow.state.get("require_code", False) and account.phone is None \
            and not flow.state.get("pending_phone")
    if step == "code":
        return flow.state.get("require_code", False)
    if step == "confirm":
        return purpose(flow) == "login" and account.confirmed_at is None
    raise ValueError(step)


def next_step(flow: LoginFlow) -> str | None:
    return next((s for s in STEPS if s not in flow.steps_done and needed(flow, s)), None)


def complete_step(flow: LoginFlow, step: str, amr: list[str] = ()) -> None:
    flow.steps_done = [*flow.steps_done, step]
    flow.amr = [*flow.amr, *(m for m in amr if m not in flow.amr)]


def proceed(flow: LoginFlow) -> Response:
    """Go to the flow's next step, or finish it."""
    if flow.completed_at is not None:
        return redirect(_finished_url(flow))
    step = next_step(flow)
    if step is not None:
        db.session.commit()
        return redirect(url_for(STEPS[step], flow=flow.flow_id))
    if purpose(flow) == "password_reset":
        from ..recovery import finish_reset

        return finish_reset(flow)
    policy = current_policy()
    code_verified = "code" in flow.steps_done
    acr = policy.acr.multi_factor if code_verified else policy.acr.single_factor
    amr = list(flow.amr)
    if code_verified and "mfa" not in amr:
        amr.append("mfa")
    session = start_session(flow.account, amr, acr, code_verified=code_verified,
                            login_method=flow.state.get("login_method", "local"))
    if code_verified:
        devices.trust(flow.account, timedelta(seconds=flow.state["device_lifetime"]))
    else:
        devices.mark_used(flow.account)
    flow.completed_at = now()
    flow.state = {**flow.state, "sid": session.sid}
    db.session.commit()
    return redirect(_finished_url(flow))


def _finished_url(flow: LoginFlow) -> str:
    return url_for("oidc.resume", flow=flow.flow_id)
