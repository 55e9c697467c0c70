"""Work done outside the request: a durable queue in the database, worked by ``idp worker``.

Recovery emails leave the request this way. The page does the same work whether or not
an account exists (one row queued), so its timing tells nothing; the worker looks the
account up, then sends. A send that fails (an SMTP outage…) is retried with backoff
and given up only after ``jobs.max_attempts`` (configuration), which the audit trail records.

Any number of workers may run, on any nodes: jobs are claimed, a batch at a time, by one
atomic UPDATE.
"""

from __future__ import annotations

import logging
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask, current_app
from sqlalchemy import CursorResult, and_, or_, update

from connectors.senders import SendError

from . import audit
from .clock import now
from .extensions import db
from .i18n import set_locale
from .models import Job
from .observability import current_request_id, new_request_id, request_id_var

log = logging.getLogger("idp.jobs")

# How long a claim holds a job: a worker that dies with jobs claimed lets another take them
# after this. A claimed job is begun only while half of it is left (far more than a send's
# timeout); the rest of the batch is given back.
CLAIM = timedelta(minutes=5)

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


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds until ``claimed_until``: what running it needs."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime


def _claim_due(limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due jobs in one statement, oldest first.

    No two workers get the same job: on PostgreSQL the rows picked are locked, and another
    worker's pick skips them (``SKIP LOCKED``); the claim's conditions are also checked
    again on each row as it is updated, so a row claimed meanwhile is left alone; SQLite
    lets one writer at a time."""
    moment = now()
    claimable = and_(Job.done_at.is_(None), Job.next_attempt_at <= moment,
                     or_(Job.claimed_until.is_(None), Job.claimed_until < moment))
    # A CTE, computed once: as ``id IN (subquery)``, PostgreSQL may scan the subquery again
    # for each row, and its LIMIT then holds per scan, not for the statement.
    due = (db.select(Job.id).where(claimable).order_by(Job.next_attempt_at, Job.id).limit(limit)
           .with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED", dialect="postgresql"))
    rows = db.session.execute(
        update(Job).where(Job.id == due.c.id, claimable)
        .values(claimed_until=moment + CLAIM)
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.next_attempt_at, Job.claimed_until)
    ).all()
    db.session.commit()
    return sorted((Claimed(**row._asdict()) for row in rows), key=lambda job: (job.next_attempt_at, job.id))


def _run(job: Claimed) -> None:
    function = HANDLERS.get(job.kind)
    token = request_id_var.set(job.payload.get("request_id") or new_request_id())
    try:
        _run_handler(job, function)
    finally:
        request_id_var.reset(token)


def _run_handler(job: Claimed, function: Handler | None) -> None:
    done = update(Job).where(Job.id == job.id)
    try:
        if function is None:
            raise SendError(f"no handler for {job.kind!r}", retryable=False)
        set_locale(job.payload.get("locale") or current_app.config["IDP"].ui.default_locale)
        function(job.payload)
    except Exception as exc:  # a send that failed, or a bug: retried, then given up, never lost silently
        retryable = exc.retryable if isinstance(exc, SendError) else True
        reason = (exc.reason if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}")[:500]
        if not isinstance(exc, SendError):
            log.exception("job %s (%s) raised", job.id, job.kind)
        db.session.rollback()
        attempts = job.attempts + 1
        gives_up = not retryable or attempts >= current_app.config["IDP"].jobs.max_attempts
        outcome: dict[str, Any] = {"attempts": attempts, "last_error": reason, "claimed_until": None}
        if gives_up:
            outcome["done_at"] = now()
        else:
            outcome["next_attempt_at"] = now() + _backoff(attempts)
        # Written only while the claim is still this worker's: past it, the job is another's.
        ours = cast(CursorResult[Any], db.session.execute(
            done.where(Job.claimed_until == job.claimed_until).values(**outcome)))
        if ours.rowcount != 1:
            log.warning("job %s (%s) failed after its claim ran out, left to the worker holding it now: %s",
                        job.id, job.kind, reason)
        elif gives_up:
            audit.record("job.given_up", kind=job.kind, attempts=attempts, reason=reason)
        else:
            log.warning("job %s (%s) failed, retry at %s: %s", job.id, job.kind,
                        outcome["next_attempt_at"].isoformat(timespec="seconds"), reason)
        db.session.commit()
        return
    # Done whoever holds the claim now: a done job is never claimed again.
    db.session.execute(done.values(attempts=job.attempts + 1, done_at=now(), last_error=None))
    db.session.commit()


def work_once(limit: int = 10, stopping: Callable[[], bool] = lambda: False) -> int:
    """Do the jobs that are due; return how many were attempted. The jobs claimed but not
    begun are given back (another worker may take them at once) once ``stopping()``,
    once half of their claim has gone by, or when something here fails."""
    pending = deque(_claim_due(limit))
    attempted = 0
    try:
        while pending and not stopping() and now() < pending[0].claimed_until - CLAIM / 2:
            job = pending.popleft()
            db.session.expire_all()  # each job reads the rows it needs as they are now
            with current_app.test_request_context("/", base_url=current_app.config["IDP"].issuer):
                _run(job)
            attempted += 1
    finally:
        if pending:
            db.session.rollback()
            _release(list(pending))
    return attempted


def _release(jobs: list[Claimed]) -> None:
    """Give back claimed jobs (of one batch: one claim) that were not begun."""
    db.session.execute(update(Job).where(Job.id.in_([job.id for job in jobs]),
                                         Job.claimed_until == jobs[0].claimed_until)
                       .values(claimed_until=None))
    db.session.commit()


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
                busy = work_once(stopping=lambda: stopping)
            except Exception:  # a database outage: wait and try again, never die
                log.exception("worker: could not work the queue")
                db.session.rollback()
                busy = 0
            finally:
                db.session.remove()
        if not busy:
            time.sleep(poll)
    log.info("worker stopped")
