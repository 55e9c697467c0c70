"""The job queue worked by ``idp worker`` (idp.jobs): recovery pages only queue, the worker
looks up and sends; a failing email server reschedules with backoff, then gives up,
audited (issue 8.7)."""

import socket
from datetime import timedelta

import pytest

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


def test_workers_claiming_at_once_share_the_jobs_out(actors, app):
    """Two workers (two connections) claim at the same moment: every job goes to one."""
    import threading

    from idp import jobs

    _queue(app, 30)
    barrier, claimed = threading.Barrier(2), []

    def worker():
        with app.app_context():
            barrier.wait()
            claimed.append([job.id for job in jobs._claim_due(20)])
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = claimed
    assert not set(first) & set(second)
    assert sorted(len(ids) for ids in claimed) == [10, 20], claimed


def test_a_job_whose_claim_ran_out_during_the_batch_is_left_to_the_next_claim(actors, app, monkeypatch):
    from idp import jobs

    _queue(app, 2)
    shift = {"by": timedelta(0)}
    real_now = jobs.now
    monkeypatch.setattr(jobs, "now", lambda: real_now() + shift["by"])
    # The first job outlasts the batch's claim.
    monkeypatch.setitem(jobs.HANDLERS, "test.nothing", lambda payload: shift.update(by=jobs.CLAIM))
    assert actors.run_jobs() == 1
    with app.app_context():
        done = db.session.execute(db.select(Job.done_at).order_by(Job.id)).scalars().all()
    assert done[0] is not None and done[1] is None
    assert actors.run_jobs() == 1  # claimed again, then done
    with app.app_context():
        assert None not in db.session.execute(db.select(Job.done_at)).scalars().all()


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
