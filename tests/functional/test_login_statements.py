"""What a login with a code asks of the database, request by request: a budget of SQL
statements, so that a lazy load or a second read of the same row slipping into the login
path shows here (``make bench`` measures its time)."""

import re

import pytest
import sqlalchemy as sa
from flask import request, request_started

from idp.extensions import db

# A login on a new workstation, after the first (phone and confirmation done): the
# authorization request (which answers with the password page), the password form, the
# code page (the code sent) and form, the resumed authorization (session, code) and the
# token exchange.
BUDGET = {
    "GET /authorize": 2,            # the client; the flow stored (the page needs nothing more)
    "POST /login": 5,               # the flow, both address limits, the account, the trail, the flow saved
    "GET /login/code": 8,           # flow+account, code, lock, code again, limits, trail, hits, the code
    "POST /login/code": 6,          # flow+account, code, used, trail, account, flow
    # flow+account, rights, delegations, client, the flow claimed (one finish), then what it writes
    "GET /authorize/resume": 12,
    "POST /token": 4,               # the client, the code, the token, the code used
}


@pytest.fixture
def statements(app):
    """The statements sent, each under the request that sent it. Rows inserted into one
    table together count once: PostgreSQL gets them in one statement, SQLite one each."""
    log: list[tuple[str, str]] = []
    current = ["outside"]

    def sent(conn, cursor, statement, parameters, context, executemany):
        entry = (current[0], re.sub(r"\s+", " ", statement))
        if not (log and entry == log[-1] and entry[1].startswith("INSERT")):
            log.append(entry)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", sent)

    def mark(sender, **extra):
        current[0] = f"{request.method} {request.path}"

    request_started.connect(mark, app)
    yield log
    request_started.disconnect(mark, app)
    sa.event.remove(engine, "before_cursor_execute", sent)


def test_a_login_with_a_code_keeps_to_its_statement_budget(actors, browser, statements):
    identifier = actors.account()
    client_id, secret = actors.client()
    actors.tokens_for(client_id, secret, identifier)  # the first login: phone known, data confirmed
    browser._cookies.clear()                          # a new workstation: a code is asked again
    del statements[:]

    actors.tokens_for(client_id, secret, identifier)

    by_request: dict[str, list[str]] = {}
    for name, statement in statements:
        by_request.setdefault(name, []).append(statement)
    assert set(by_request) == set(BUDGET), sorted(by_request)
    for name, budget in BUDGET.items():
        assert len(by_request[name]) <= budget, (name, [s[:90] for s in by_request[name]])
    # No row loaded on its own by its key (a lazy load) that a join already brings.
    lazy = [s for _, s in statements
            if re.match(r"SELECT (establishments|services|accounts)\.id, .* FROM \1 WHERE \1\.id = ", s)]
    assert not lazy, lazy
    assert sum(len(found) for found in by_request.values()) <= sum(BUDGET.values()) == 37
