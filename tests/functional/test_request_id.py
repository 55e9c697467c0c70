"""The request id: in the ``X-Request-Id`` header, on the audit events and in the log lines
of the request, and of the worker's job that the request queued (idp.observability)."""

from __future__ import annotations

import io
import json
import logging
import re
from contextlib import contextmanager

import pytest

from idp import create_app
from idp.extensions import db
from idp.models import AuditEvent, Job
from tests.helpers import pkce_pair

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def rp(actors):
    return actors.client()


@contextmanager
def idp_log_lines():
    """What the ``idp`` loggers write, one line each, as the operator's log collector reads it."""
    handler = next(h for h in logging.getLogger("idp").handlers if getattr(h, "idp_handler", False))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    lines: list[str] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(buffer.getvalue().splitlines())


def _events(app, name):
    with app.app_context():
        return db.session.execute(db.select(AuditEvent).filter_by(event=name).order_by(AuditEvent.id)).scalars().all()


def test_each_response_has_its_own_id_and_the_audit_events_carry_it(actors, app, rp):
    identifier = actors.account()
    first, second = actors.browser.get("/healthz"), actors.browser.get("/healthz")
    assert HEX_ID.fullmatch(first.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]

    _, challenge = pkce_pair()
    login_url = actors.at(actors.authorize(rp[0], challenge))
    failed = actors.submit_login(login_url, identifier, "wrong password!")
    assert failed.status_code == 401
    [event] = _events(app, "login.failure")
    assert event.detail["request_id"] == failed.headers["X-Request-Id"]
    assert actors.browser.get("/no-such-page").headers["X-Request-Id"]  # error pages too


def test_a_token_request_flask_takes_over_keeps_the_id_it_got_ahead_of_flask(actors, app, monkeypatch):
    """The database fails while the token endpoint answers ahead of Flask: the warning
    written there and Flask's answer carry one id."""
    import base64

    from sqlalchemy.exc import OperationalError

    from idp.oidc import fast_tokens

    client_id, secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")

    def database_down(*args):
        raise OperationalError("SELECT", {}, Exception("the database went away"))

    monkeypatch.setattr(fast_tokens, "answer", database_down)
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    with idp_log_lines() as lines:
        answer = actors.browser.post("/token", data={"grant_type": "client_credentials"},
                                     headers={"Authorization": f"Basic {credentials}"})
    assert answer.status_code == 200  # Authlib's grant, in Flask
    request_id = answer.headers["X-Request-Id"]
    assert HEX_ID.fullmatch(request_id)
    [warning] = [line for line in lines if "failed ahead of Flask" in line]
    assert f"[{request_id}]" in warning


def test_json_log_lines_carry_the_request_id(settings_overrides, actors, rp):
    identifier = actors.account()
    create_app({**settings_overrides, "logging": {"format": "json"}})  # the log format is the process's
    try:
        _, challenge = pkce_pair()
        login_url = actors.at(actors.authorize(rp[0], challenge))
        with idp_log_lines() as lines:
            failed = actors.submit_login(login_url, identifier, "wrong password!")
        assert failed.status_code == 401
        entries = [json.loads(line) for line in lines]  # every line is one JSON object
        audit = [e for e in entries if e["logger"] == "idp.audit" and "login.failure" in e["message"]]
        assert audit and audit[0]["request_id"] == failed.headers["X-Request-Id"]
        assert audit[0]["level"] == "INFO" and audit[0]["time"].endswith("+00:00")
    finally:
        create_app(settings_overrides)  # text lines again for the tests that follow


def test_the_worker_logs_and_audits_a_job_under_the_id_of_the_request_that_queued_it(actors, app):
    asked = actors.post_form("/password/forgot", {"identifier": "ZZZ999999", "email": "nobody@mairie.example"})
    request_id = asked.headers["X-Request-Id"]
    with app.app_context():
        job = db.session.execute(db.select(Job)).scalar_one()
        assert job.payload["request_id"] == request_id
    with idp_log_lines() as lines:
        assert actors.run_jobs() == 1
    [event] = _events(app, "recovery.password_unknown")
    assert event.detail["request_id"] == request_id
    assert any(f"[{request_id}]" in line and "recovery.password_unknown" in line for line in lines)


@pytest.mark.parametrize("sent", ["", "x" * 65, "<script>", "a b", "id;drop", "-leading-dash", "é"])
def test_a_malformed_incoming_id_is_replaced(settings_overrides, sent):
    client = create_app({**settings_overrides, "trusted_proxies": 1}).test_client()
    answered = client.get("/healthz", headers={"X-Request-Id": sent})
    assert HEX_ID.fullmatch(answered.headers["X-Request-Id"]) and answered.headers["X-Request-Id"] != sent


def test_a_well_formed_id_is_kept_only_behind_a_trusted_proxy(settings_overrides):
    sent = "3f2a6c1e-9b1d-4c4e-8f7a-2d5b9e0c1a7f"
    behind_proxy = create_app({**settings_overrides, "trusted_proxies": 1}).test_client()
    assert behind_proxy.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"] == sent
    facing_clients = create_app(settings_overrides).test_client()  # trusted_proxies: 0
    answered = facing_clients.get("/healthz", headers={"X-Request-Id": sent}).headers["X-Request-Id"]
    assert answered != sent and HEX_ID.fullmatch(answered)
