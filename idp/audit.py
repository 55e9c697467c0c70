"""The audit trail: ``record`` adds an event to the current transaction and logs it.

Every event carries the request id (``detail.request_id``) that the logs and the
``X-Request-Id`` header show, and is counted by :mod:`idp.metrics` (logins, codes, locks).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request

from . import metrics
from .extensions import db
from .models import AuditEvent
from .observability import current_request_id

log = logging.getLogger("idp.audit")
# Logins and their failures remember the browser they came from, for "Mon historique".
WITH_WORKSTATION = {"session.start", "login.failure", "login.locked", "login.password_ok", "login.upstream_ok",
                    "login.code_failure", "device.trusted", "code.sent", "account.phone_set"}


def record(
    event: str,
    *,
    account_id: int | None = None,
    client_id: str | None = None,
    ip: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """``ip`` defaults to the request's client address (a worker passes the one it was given)."""
    ip = ip or (request.remote_addr if has_request_context() else None)
    if event in WITH_WORKSTATION and has_request_context() and request.user_agent.string:
        detail.setdefault("workstation", request.user_agent.string[:160])  # "Mon historique" shows it
    request_id = current_request_id()  # the request's, or in `idp worker` the one that queued the job
    if request_id:
        detail.setdefault("request_id", request_id)
    metrics.count_event(event, detail)
    entry = AuditEvent(event=event, account_id=account_id, client_id=client_id, ip=ip, detail=detail)
    db.session.add(entry)
    log.info(
        "audit event=%s account=%s client=%s ip=%s detail=%s",
        event, account_id, client_id, ip, detail,
    )
    return entry
