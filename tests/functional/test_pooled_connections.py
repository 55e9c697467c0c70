"""A pooled PostgreSQL connection that the server ended is never lent to a request: the
check before lending (idp.database) pings a suspect connection and opens a new one."""

import psycopg
import pytest
from sqlalchemy import text

from idp.extensions import db
from tests.conftest import POSTGRES_ADMIN


@pytest.fixture
def database_url(postgres_url):
    return postgres_url


def _server_pids(app) -> set[int]:
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
        db.session.remove()
    return {pid}


def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(app, browser):
    pids = _server_pids(app)
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # The server ended the session a moment ago: the connection came back to the pool
    # well within the idle time, so only its readable socket gives it away.
    answer = browser.post("/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": "Basic bm9ib2R5OnNlY3JldA=="})
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"
    assert _server_pids(app) != pids
