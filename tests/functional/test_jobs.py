"""The job queue worked by ``idp worker`` (idp.jobs): recovery pages only queue, the worker
looks up and sends; a failing email server reschedules with backoff, then gives up,
audited (issue 8.7)."""

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from idp.clock import travel
from idp.extensions import db
from idp.models import AuditEvent, Job, PasswordReset
from tests.helpers import page_text


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings_overrides(settings_overrides):
    """Email through SMTP to a port where nothing listens: every send fails."""
    return {**settings_overrides,
            "messages": {**settings_overrides["messages"], "email": ["smtp"],
                         "smtp": {"host": "127.0.0.1", "port": _closed_port(), "sender": "PEP's <n@peps.test>",
                                  "starttls": False, "username": None, "timeout": "2s"}},
            "jobs": {"poll": "1s", "first_retry": "30s", "max_retry": "1m", "max_attempts": 3}}


def _ask(actors, identifier, email):
    return actors.post_form("/password/forgot", {"identifier": identifier, "email": email})


def test_known_and_unknown_requests_do_the_same_work(actors, app):
    identifier = actors.account(email="alice@mairie.example")
    known, unknown = _ask(actors, identifier, "alice@mairie.example"), _ask(actors, "ZZZ999999", "x@y.example")
    assert page_text(known) == page_text(unknown)
    with app.app_context():
        jobs = db.session.execute(db.select(Job).order_by(Job.id)).scalars().all()
        assert [job.kind for job in jobs] == ["recovery.password_reset"] * 2
        assert {tuple(sorted(job.payload)) for job in jobs} == {("email", "identifier", "ip", "locale", "request_id")}
        # Nothing about the account was touched by either page: the worker does that.
        assert db.session.execute(db.select(PasswordReset)).first() is None


def test_a_failing_email_server_is_retried_with_backoff_then_given_up(actors, app):
    identifier = actors.account(email="alice@mairie.example")
    _ask(actors, identifier, "alice@mairie.example")
    assert actors.run_jobs() == 1
    with app.app_context():
        job = db.session.execute(db.select(Job)).scalar_one()
        assert job.attempts == 1 and job.done_at is None and job.last_error
        first_retry = job.next_attempt_at
        assert db.session.execute(db.select(PasswordReset)).first() is None  # no link without an email
    assert actors.run_jobs() == 0  # not due yet
    with travel(timedelta(seconds=31)):
        assert actors.run_jobs() == 1
    with app.app_context():
        job = db.session.execute(db.select(Job)).scalar_one()
        assert job.attempts == 2 and job.next_attempt_at - first_retry >= timedelta(seconds=59)
    with travel(timedelta(minutes=3)):
        assert actors.run_jobs() == 1
        assert actors.run_jobs() == 0
    with app.app_context():
        job = db.session.execute(db.select(Job)).scalar_one()
        assert job.attempts == 3 and job.done_at is not None
        given_up = db.session.execute(db.select(AuditEvent).filter_by(event="job.given_up")).scalar_one()
        assert given_up.detail["kind"] == "recovery.password_reset" and given_up.detail["attempts"] == 3


def test_a_claimed_job_is_not_done_twice(actors, app):
    from idp import jobs

    _ask(actors, "ZZZ999999", "x@y.example")
    with app.app_context():
        job_id = db.session.execute(db.select(Job.id)).scalar_one()
        assert [job.id for job in jobs._claim_due(10)] == [job_id]
        assert jobs._claim_due(10) == []  # another worker holds it
    assert actors.run_jobs() == 0
    with travel(jobs.CLAIM + timedelta(seconds=1)):  # a worker that died: its claim runs out
        assert actors.run_jobs() == 1


def _queue(app, count):
    from idp import jobs

    with app.app_context():
        for index in range(count):
            jobs.enqueue("test.nothing", index=index)
        db.session.commit()


def test_a_claim_takes_at_most_its_batch_oldest_first(actors, app):
    from idp import jobs

    _queue(app, 30)
    with app.app_context():
        first, second = jobs._claim_due(20), jobs._claim_due(20)
    assert [job.id for job in first] == sorted(job.id for job in first)
    assert (len(first), len(second)) == (20, 10) and max(job.id for job in first) < min(job.id for job in second)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # two writers at once
def test_a_worker_claims_past_the_jobs_another_is_claiming(actors, app):
    """Another worker's claim of 20 jobs is under way (uncommitted): this worker's claim
    neither waits for it nor takes any of them; it takes the 10 others."""
    from sqlalchemy import text

    from idp import jobs

    _queue(app, 30)
    with app.app_context(), db.engine.connect() as other:
        first = [row.id for row in other.execute(text(
            "UPDATE jobs SET claimed_until = now() + interval '5 minutes' WHERE id IN "
            "(SELECT id FROM jobs ORDER BY id LIMIT 20) RETURNING id"))]
        db.session.execute(text("SET lock_timeout = '3s'"))  # waiting for the other would fail here
        second = [job.id for job in jobs._claim_due(20)]
        other.rollback()
    assert len(first) == 20 and len(second) == 10 and not set(first) & set(second)


def test_a_claimed_job_is_begun_only_while_half_its_claim_is_left(actors, app, monkeypatch):
    from idp import jobs

    _queue(app, 2)
    shift = {"by": timedelta(0)}
    real_now = jobs.now
    monkeypatch.setattr(jobs, "now", lambda: real_now() + shift["by"])
    # The first job takes half the batch's claim.
    monkeypatch.setitem(jobs.HANDLERS, "test.nothing", lambda payload: shift.update(by=shift["by"] + jobs.CLAIM / 2))
    assert actors.run_jobs() == 1
    with app.app_context():
        rows = db.session.execute(db.select(Job.done_at, Job.claimed_until).order_by(Job.id)).all()
    assert rows[0].done_at is not None
    assert (rows[1].done_at, rows[1].claimed_until) == (None, None)  # given back at once
    assert actors.run_jobs() == 1  # claimed again, then done
    with app.app_context():
        assert None not in db.session.execute(db.select(Job.done_at)).scalars().all()


@pytest.mark.parametrize("retryable", [True, False])
def test_a_failure_is_not_written_over_the_claim_of_another_worker(actors, app, caplog, retryable):
    """A worker whose claim ran out (the job since claimed by another) leaves the job as
    the other holds it, gives nothing up, and says so in its log."""
    from flask import current_app

    from connectors.senders import SendError
    from idp import jobs

    _queue(app, 1)
    with app.app_context():
        job = jobs._claim_due(1)[0]
        theirs = job.claimed_until + timedelta(minutes=1)
        db.session.execute(sa.update(Job).values(claimed_until=theirs))
        db.session.commit()

        def fails(payload):
            raise SendError("the mail server is down", retryable=retryable)

        with current_app.test_request_context("/"):
            jobs._run_handler(job, fails)
        after = db.session.execute(db.select(Job)).scalar_one()
        given_up = db.session.execute(db.select(AuditEvent).filter_by(event="job.given_up")).first()
    assert (after.claimed_until, after.attempts, after.last_error, after.done_at) == (theirs, 0, None, None)
    assert given_up is None
    assert "after its claim ran out" in caplog.text


def test_a_worker_that_fails_mid_batch_gives_back_the_jobs_it_has_not_begun(actors, app, monkeypatch):
    from idp import jobs

    _queue(app, 3)

    def outcome_not_written(job, function):
        raise sa.exc.OperationalError("UPDATE jobs", {}, Exception("the database went away"))

    monkeypatch.setattr(jobs, "_run_handler", outcome_not_written)
    with app.app_context(), pytest.raises(sa.exc.OperationalError):
        jobs.work_once()
    with app.app_context():
        claims = db.session.execute(db.select(Job.claimed_until).order_by(Job.id)).scalars().all()
    assert claims[0] is not None and claims[1:] == [None, None]  # the first waits out its claim


def test_a_worker_told_to_stop_gives_back_the_jobs_it_has_not_begun(actors, app, monkeypatch):
    from idp import jobs

    _queue(app, 3)
    begun = []
    monkeypatch.setitem(jobs.HANDLERS, "test.nothing", lambda payload: begun.append(payload["index"]))
    with app.app_context():
        assert jobs.work_once(stopping=lambda: len(begun) == 1) == 1
        db.session.remove()
    with app.app_context():
        rows = db.session.execute(db.select(Job.done_at, Job.claimed_until).order_by(Job.id)).all()
    assert rows[0].done_at is not None
    assert [(row.done_at, row.claimed_until) for row in rows[1:]] == [(None, None), (None, None)]
    assert actors.run_jobs() == 2 and begun == [0, 1, 2]


def test_the_link_is_committed_before_its_email_leaves(actors, app, monkeypatch):
    """A person may click the link the moment it arrives: another connection (a gunicorn
    worker) must already see it."""
    from sqlalchemy import select

    from idp import messaging

    identifier = actors.account(email="alice@mairie.example")
    _ask(actors, identifier, "alice@mairie.example")
    seen = []

    def send(message):
        with db.engine.connect() as other:  # not the worker's session
            seen.append(other.execute(select(PasswordReset.id)).all())

    monkeypatch.setattr(messaging, "send", send)
    assert actors.run_jobs() == 1
    assert len(seen) == 1 and len(seen[0]) == 1
