"""Work done outside the request: a durable queue in the database, worked by ``idp worker``.

Recovery emails leave the request this way. The page does the same work whether or not
an account exists (one row queued), so its timing tells nothing; the worker looks the
account up, then sends. A send that fails (an SMTP outage…) is retried with backoff
and given up only after ``jobs.max_attempts`` (configuration), which the audit trail records.

Any number of workers may run, on any nodes: a job is claimed by one atomic UPDATE.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, or_, update

from connectors.senders import SendError

from . import audit
from .clock import now
from .extensions import db
from .i18n import set_locale
from .models import Job
from .observability import current_request_id, new_request_id, request_id_var

log = logging.getLogger("idp.jobs")

CLAIM = timedelta(minutes=5)  # a worker that dies mid-job lets another retry after this

Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does jobs of ``kind``."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def enqueue(kind: str, **payload: Any) -> Job:
    """Queue a job (committed with the caller's transaction), with the id of the request
    that queued it: the worker's log lines and audit events carry it too."""
    request_id = current_request_id()
    if request_id:
        payload.setdefault("request_id", request_id)
    job = Job(kind=kind, payload=payload, created_at=now(), next_attempt_at=now())
    db.session.add(job)
    return job


def _backoff(attempts: int) -> timedelta:
    """``jobs.first_retry``, then twice as long each time, up to ``jobs.max_retry``."""
    settings = current_app.config["IDP"].jobs
    return min(settings.first_retry * 2 ** max(0, attempts - 1), settings.max_retry)


def _claim(job_id: int) -> bool:
    moment = now()
    result = cast(CursorResult[Any], db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.done_at.is_(None),
               or_(Job.claimed_until.is_(None), Job.claimed_until < moment))
        .values(claimed_until=moment + CLAIM)
    ))
    claimed = result.rowcount
    db.session.commit()
    return claimed == 1


def _run(job: Job) -> None:
    function = HANDLERS.get(job.kind)
    token = request_id_var.set(job.payload.get("request_id") or new_request_id())
    try:
        _run_handler(job, function)
    finally:
        request_id_var.reset(token)


def _run_handler(job: Job, function: Handler | None) -> None:
    try:
        if function is None:
            raise SendError(f"no handler for {job.kind!r}", retryable=False)
        set_locale(job.payload.get("locale") or current_app.config["IDP"].ui.default_locale)
        function(job.payload)
    except Exception as exc:  # a send that failed, or a bug: retried, then given up, never lost silently
        retryable = exc.retryable if isinstance(exc, SendError) else True
        reason = exc.reason if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, SendError):
            log.exception("job %s (%s) raised", job.id, job.kind)
        db.session.rollback()
        job = db.session.get(Job, job.id) or job
        job.attempts += 1
        job.last_error = reason[:500]
        job.claimed_until = None
        if not retryable or job.attempts >= current_app.config["IDP"].jobs.max_attempts:
            job.done_at = now()
            audit.record("job.given_up", kind=job.kind, attempts=job.attempts, reason=job.last_error)
        else:
            job.next_attempt_at = now() + _backoff(job.attempts)
            log.warning("job %s (%s) failed, retry at %s: %s", job.id, job.kind,
                        job.next_attempt_at.isoformat(timespec="seconds"), reason)
        db.session.commit()
        return
    job.attempts += 1
    job.done_at, job.claimed_until, job.last_error = now(), None, None
    db.session.commit()


def work_once(limit: int = 50) -> int:
    """Do the jobs that are due; return how many were attempted."""
    due = db.session.execute(
        db.select(Job.id)
        .where(Job.done_at.is_(None), Job.next_attempt_at <= now(),
               or_(Job.claimed_until.is_(None), Job.claimed_until < now()))
        .order_by(Job.next_attempt_at, Job.id)
        .limit(limit)
    ).scalars().all()
    db.session.commit()
    attempted = 0
    for job_id in due:
        if not _claim(job_id):
            continue  # another worker has it
        db.session.expire_all()  # each job reads the rows it needs as they are now
        job = db.session.get(Job, job_id)
        if job is None:
            continue
        with current_app.test_request_context("/", base_url=current_app.config["IDP"].issuer):
            _run(job)
        attempted += 1
    return attempted


def run_forever(app: Flask) -> None:
    """``idp worker``: work until SIGTERM or SIGINT, finishing the job in hand."""
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    from .messaging import warn_development_senders

    poll = app.config["IDP"].jobs.poll.total_seconds()
    warn_development_senders(app)
    log.info("worker started")
    while not stopping:
        with app.app_context():
            try:
                busy = work_once()
            except Exception:  # a database outage: wait and try again, never die
                log.exception("worker: could not work the queue")
                db.session.rollback()
                busy = 0
            finally:
                db.session.remove()
        if not busy:
            time.sleep(poll)
    log.info("worker stopped")
