"""What every login page shares: the flow's language, the form targets, and the
:func:`step` decorator that puts a view at its place in the flow."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from werkzeug.wrappers import Response

from .. import federation
from ..i18n import negotiate, set_locale
from ..models import LoginFlow
from ..web import allow_form_target, check_csrf
from . import flow as login_flow

StepView = Callable[..., Any]


def page_context(flow: LoginFlow) -> dict[str, Any]:
    params = login_flow.params_of(flow)
    set_locale(negotiate(params.get("ui_locales")))
    authorization = flow.state.authorization
    if authorization is not None:
        allow_form_target(authorization.redirect_uri)
    return {"flow": flow, "upstreams": list(federation.upstreams().values())}


def step(name: str) -> Callable[[StepView], Callable[..., Any]]:
    """Run the view only when ``name`` is the flow's next step (else go where the flow
    is), with the CSRF check on POST; the view gets the flow and the page context."""

    def wrap(view: StepView) -> Callable[..., Any]:
        @wraps(view)
        def run(**view_args: str) -> Response | Any:
            flow = login_flow.load(request.values.get("flow"))
            context = page_context(flow)
            if login_flow.next_step(flow) != name:
                return login_flow.proceed(flow)
            if request.method == "POST":
                check_csrf()
            return view(flow, context, **view_args)

        return run

    return wrap
