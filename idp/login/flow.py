"""Login flows: the walk of one login, from the authorization request to the ID token.

1. ``/authorize`` (:mod:`idp.oidc.authorize`) validates the request once and asks
   whether the browser's session will do; if not, it calls :func:`start`, which stores
   the validated request in the flow's :class:`~idp.login.state.FlowState`, and answers
   with the password page itself (:func:`idp.login.password.first_page`).
2. The steps, one module each in this package, all routed in :mod:`idp.login.routes`:
   ``password`` (or an upstream provider) → :func:`decide` asks the policy engine
   (:func:`idp.policy.evaluate`) once and the flow carries its
   :class:`~idp.policy.Decision` → ``phone`` (no number yet) → ``code`` (the decision
   requires one) → ``confirm`` (first login) → ``establishment`` (an account with
   delegations chooses whom it acts for). Each step ends with :func:`proceed`: the
   next step, or the end that the flow's purpose names.
3. ``/authorize/resume`` calls :func:`finish`: a session opens with the
   :class:`~idp.provenance.Provenance` the decision gave (acr, amr, auth_time, sid,
   login method); the authorization code carries that provenance, the token endpoint
   copies it onto the tokens, and the ID token and introspection state it.

A step-up flow starts after ``password`` with the decision the authorization endpoint
got for the session; a sensitive-action flow (:mod:`idp.console.access`) does the same
for a console page and ends back on it; a password-reset flow (:mod:`idp.recovery`)
needs only the ``code`` and ends in ``recovery.finish_reset``.
"""

from __future__ import annotations

from typing import Any, cast

from flask import abort, current_app, g, redirect, url_for
from pydantic import ValidationError
from sqlalchemy import CursorResult, bindparam, select, update
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from .. import devices
from ..clock import now
from ..delegations import Membership, memberships
from ..digests import new_secret
from ..extensions import db
from ..models import Account, Client, LoginFlow, LoginSession
from ..policy import Context, Decision, evaluate
from ..policy_store import current_policy
from ..sessions import current_session, start_session
from ..web import browser_digest
from .state import Authorization, FlowState, Purpose

# The steps in order, each with the view that performs it (see idp.login.routes).
STEPS: dict[str, str] = {
    "password": "login.password",
    "phone": "login.phone",
    "code": "login.code",
    "confirm": "login.confirm",
    "establishment": "login.establishment",
}
# Where a flow goes once no step is left, by purpose.
ENDS: dict[str, str] = {
    "login": "oidc.resume",
    "step_up": "oidc.resume",
    "sensitive": "account.sensitive_done",
    "password_reset": "recovery.finish_reset",
}
# The flow a request names, with its account (LoginFlow.account loads by join): built once.
_BY_FLOW_ID = select(LoginFlow).where(LoginFlow.flow_id == bindparam("flow_id"))


def start(purpose: Purpose, *, params: MultiDict | None = None, client: Client | None = None,
          authorization: Authorization | None = None, requested_acr: str | None = None,
          session: LoginSession | None = None, account: Account | None = None,
          decision: Decision | None = None, return_to: str | None = None,
          establishment: str | None = None) -> LoginFlow:
    """A new flow for this browser. With ``session`` (step-up) the password step is the
    session's; with ``account`` (password reset) the account is known from the start."""
    params = params if params is not None else MultiDict()
    moment = now()
    state = FlowState(
        purpose=purpose,
        authorization=authorization,
        service=client.service.code if client is not None and client.service is not None else None,
        client_name=client.name if client is not None else None,
        requested_acr=requested_acr,
        decision=decision,
        return_to=return_to,
        establishment=establishment,
    )
    flow = LoginFlow(
        flow_id=new_secret(24),
        browser_digest=browser_digest(),
        params=[[k, v] for k, v in params.items(multi=True)],
        client_id=client.client_id if client else "",
        steps_done=[],
        amr=[],
        login_hint=params.get("login_hint"),
        created_at=moment,
        expires_at=moment + current_app.config["IDP"].session.login_flow_lifetime,
    )
    if session is not None:
        provenance = session.provenance
        flow.account = session.account
        flow.steps_done = ["password"]
        flow.amr = list(provenance.amr)
        # A federated session stays federated: its failures throttle, they never lock. The
        # flow belongs to this session: ended (a password reset, a logout), the flow ends too.
        state = state.model_copy(update={"login_method": provenance.login_method, "session_sid": session.sid})
    elif account is not None:
        flow.account = account
    flow.state = state
    db.session.add(flow)
    db.session.flush()
    if flow.account is not None and decision is None:
        decide(flow)
    return flow


def load(flow_id: str | None) -> LoginFlow:
    """The flow named in the request, started by this browser and not expired (and, for a
    step-up, whose session is still this browser's active one); else 400."""
    flow = None
    if flow_id and len(flow_id) <= 64:
        flow = db.session.execute(_BY_FLOW_ID, {"flow_id": flow_id}).scalar_one_or_none()
    if flow is None or flow.browser_digest != browser_digest() or flow.expires_at <= now():
        abort(400, description="flow_expired")
    try:
        state = flow.state
    except ValidationError:  # a flow stored by an older release may no longer parse
        abort(400, description="flow_expired")
    if state.session_sid is not None:
        session = current_session()
        if session is None or session.sid != state.session_sid or session.account_id != flow.account_id:
            abort(400, description="flow_expired")
    return flow


def params_of(flow: LoginFlow) -> MultiDict:
    return MultiDict([(k, v) for k, v in flow.params])


def decide(flow: LoginFlow) -> Decision:
    """Ask the policy whether this login needs a code; the flow carries the answer."""
    account = flow.account
    state = flow.state
    context = Context(
        # A password reset changes the password: a sensitive action.
        action="self.change_password" if state.purpose == "password_reset" else "login",
        login_method=state.login_method,
        profile=account.profile,
        client=flow.client_id or None,
        service=state.service,
        establishment=account.establishment.siret,
        first_login=account.code_verified_at is None or account.phone is None,
        trusted_device_age=devices.age_for(account),
        requested_acr=state.requested_acr,
    )
    decision = evaluate(current_policy(), context)
    flow.update_state(decision=decision)
    return decision


def decide_for_session(session: LoginSession, *, action: str = "login", client: Client | None = None,
                       requested_acr: str | None = None) -> Decision:
    """Ask the policy whether the browser's session will do as it is, for this client
    (step-up) or for a sensitive action, or needs a code first."""
    policy = current_policy()
    provenance = session.provenance
    context = Context(
        action=action,
        login_method=provenance.login_method,
        profile=session.account.profile,
        client=client.client_id if client is not None else None,
        service=client.service.code if client is not None and client.service is not None else None,
        establishment=session.account.establishment.siret,
        existing_session=True,
        code_in_session=provenance.acr == policy.acr.multi_factor,
        requested_acr=requested_acr,
    )
    return evaluate(policy, context)


def _needed(flow: LoginFlow, state: FlowState, step: str) -> bool:
    account = flow.account
    if step == "password":
        return state.purpose == "login"
    if account is None:
        return True
    if step == "phone":
        return state.require_code and account.phone is None and not state.pending_phone
    if step == "code":
        return state.require_code
    if step == "confirm":
        return state.purpose == "login" and account.confirmed_at is None
    if step == "establishment":
        # One named by the relying party (peps_siret) is never swapped for a choice: the
        # end answers for it, access_denied if it is not one of the account's.
        if state.purpose != "login" or state.establishment is not None:
            return False
        return len(memberships_of(account)) > 1
    raise ValueError(step)


def memberships_of(account: Account) -> list[Membership]:
    """The account's memberships, read once per request: a request asks for the flow's
    next step more than once (``/authorize/resume`` before and in :func:`finish`), and the
    establishment step lists them after its page checked it was the next step."""
    found = g.setdefault("login_memberships", {})
    if account.id not in found:
        found[account.id] = memberships(account)
    return found[account.id]


def next_step(flow: LoginFlow, *, leave: tuple[str, ...] = ()) -> str | None:
    """The first step the flow still needs, among those not in ``leave``."""
    state = flow.state
    return next((s for s in STEPS if s not in flow.steps_done and s not in leave and _needed(flow, state, s)), None)


def complete_step(flow: LoginFlow, step: str, amr: list[str] | tuple[str, ...] = ()) -> None:
    flow.steps_done = [*flow.steps_done, step]
    flow.amr = [*flow.amr, *(m for m in amr if m not in flow.amr)]


def proceed(flow: LoginFlow) -> Response:
    """Commit, then go to the flow's next step, or to the end its purpose names.

    The establishment step, always the last, is left to ``/authorize/resume``, which asks
    :func:`next_step` again before it finishes a login: whether it is needed takes the
    account's memberships, which the end reads anyway, so they are read once per login."""
    leave = ("establishment",) if ENDS[flow.state.purpose] == "oidc.resume" else ()
    return go_to(flow, next_step(flow, leave=leave))


def go_to(flow: LoginFlow, step: str | None) -> Response:
    """Commit, then go to ``step``, or (None) to the end the flow's purpose names."""
    endpoint = STEPS[step] if step is not None else ENDS[flow.state.purpose]
    db.session.commit()
    return redirect(url_for(endpoint, flow=flow.flow_id))


def finish(flow: LoginFlow) -> LoginSession:
    """Open the session this flow earned: the decision's acr, the steps' amr.

    Called once no step is left; a flow finishes once, even for two requests at once (a
    reload of ``/authorize/resume`` while it answers): the flow is marked completed by a
    conditional UPDATE first, which the second request waits on (PostgreSQL's row lock,
    SQLite's one writer) and then finds already done."""
    decision = flow.state.decision
    if decision is None or next_step(flow) is not None:
        abort(400, description="flow_expired")
    claimed = cast(CursorResult[Any], db.session.execute(
        update(LoginFlow).where(LoginFlow.id == flow.id, LoginFlow.completed_at.is_(None)).values(completed_at=now())
    ))
    if claimed.rowcount != 1:
        abort(400, description="flow_expired")
    # RFC 8176 "mfa" exactly when the session gets the multi-factor level.
    amr = [m for m in flow.amr if m != "mfa"]
    if decision.acr == current_policy().acr.multi_factor:
        amr.append("mfa")
    establishment = flow.state.establishment
    if establishment is not None and establishment not in {m.siret for m in memberships_of(flow.account)}:
        establishment = None  # named by the relying party, but not one of this account's
    if establishment is None and flow.state.purpose != "login":  # a step-up keeps the session's choice
        previous = current_session()
        establishment = previous.provenance.establishment if previous and previous.provenance else None
    session = start_session(flow.account, acr=decision.acr, amr=amr, login_method=flow.state.login_method,
                            establishment=establishment, client_id=flow.client_id or None)
    if decision.require_code:
        devices.trust(flow.account, decision.trusted_device_lifetime)
    else:
        devices.mark_used(flow.account)
    return session
