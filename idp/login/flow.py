"""Login flows: created by the authorization endpoint, walked step by step."""

from __future__ import annotations

from flask import abort, current_app, redirect, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ..clock import now
from ..digests import new_secret
from ..extensions import db
from ..models import Account, Client, LoginFlow
from ..policy import current_policy
from ..sessions import start_session
from ..web import browser_digest

# The steps of a login, in order. Each names the view that performs it.
STEPS: dict[str, str] = {
    "password": "login.password",
}


def start(params: MultiDict, client: Client, account: Account | None = None) -> LoginFlow:
    moment = now()
    flow = LoginFlow(
        flow_id=new_secret(24),
        browser_digest=browser_digest(),
        params=[[k, v] for k, v in params.items(multi=True)],
        client_id=client.client_id,
        account_id=account.id if account else None,
        steps_done=[],
        amr=[],
        state={},
        login_hint=params.get("login_hint"),
        created_at=moment,
        expires_at=moment + current_app.config["IDP"].session.login_flow_lifetime,
    )
    db.session.add(flow)
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


def next_step(flow: LoginFlow) -> str | None:
    return next((step for step in STEPS if step not in flow.steps_done), None)


def complete_step(flow: LoginFlow, step: str, amr: list[str] = ()) -> None:
    flow.steps_done = [*flow.steps_done, step]
    flow.amr = [*flow.amr, *(m for m in amr if m not in flow.amr)]


def proceed(flow: LoginFlow) -> Response:
    """Go to the flow's next step, or finish it: open the session, resume the request."""
    if flow.completed_at is not None:
        return redirect(url_for("oidc.resume", flow=flow.flow_id))
    step = next_step(flow)
    if step is not None:
        db.session.commit()
        return redirect(url_for(STEPS[step], flow=flow.flow_id))
    policy = current_policy()
    acr = policy.acr.multi_factor if "mfa" in flow.amr else policy.acr.single_factor
    session = start_session(flow.account, flow.amr, acr)
    flow.completed_at = now()
    flow.state = {**flow.state, "sid": session.sid}
    db.session.commit()
    return redirect(url_for("oidc.resume", flow=flow.flow_id))
