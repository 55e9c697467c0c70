"""client_credentials: the plain request answered in two statements (idp.oidc.client_credentials)
gives what Authlib's grant gives for it, and everything else still goes to Authlib."""

import base64

import psycopg
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import event

from idp.extensions import db
from idp.oidc import client_credentials
from tests.conftest import POSTGRES_ADMIN


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@pytest.fixture
def clients(actors):
    make = actors.client
    return {
        "basic": make(grant_types=["client_credentials"], redirect_uris=[], scope="peps profile"),
        "post": make(grant_types=["client_credentials"], redirect_uris=[], scope="peps",
                     auth_method="client_secret_post"),
        "jwt": make(grant_types=["client_credentials"], redirect_uris=[], scope="peps",
                    access_token_format="jwt"),
        "code only": make(grant_types=["authorization_code"], scope="openid peps"),
    }


def _requests(clients):
    basic_id, basic_secret = clients["basic"]
    post_id, post_secret = clients["post"]
    jwt_id, jwt_secret = clients["jwt"]
    code_id, code_secret = clients["code only"]
    grant = {"grant_type": "client_credentials"}
    return {
        "basic": (grant, _basic(basic_id, basic_secret)),
        "basic, a scope": ({**grant, "scope": "peps"}, _basic(basic_id, basic_secret)),
        "basic, scopes repeated and not registered": (
            {**grant, "scope": "profile openid peps profile"}, _basic(basic_id, basic_secret)),
        "basic, only unknown scopes": ({**grant, "scope": "admin"}, _basic(basic_id, basic_secret)),
        "post": ({**grant, "client_id": post_id, "client_secret": post_secret}, {}),
        "jwt": ({**grant, "scope": "peps"}, _basic(jwt_id, jwt_secret)),
        "wrong secret": (grant, _basic(basic_id, basic_secret + "x")),
        "unknown client": (grant, _basic("nobody", basic_secret)),
        "post for a basic client": ({**grant, "client_id": basic_id, "client_secret": basic_secret}, {}),
        "basic for a post client": (grant, _basic(post_id, post_secret)),
        "grant not registered": (grant, _basic(code_id, code_secret)),
        "both methods at once": ({**grant, "client_id": basic_id, "client_secret": basic_secret},
                                 _basic(basic_id, basic_secret)),
        "an extra parameter": ({**grant, "resource": "https://api.example"}, _basic(basic_id, basic_secret)),
        "no secret": ({**grant, "client_id": basic_id}, {}),
    }


FAST = {"basic", "basic, a scope", "basic, scopes repeated and not registered", "basic, only unknown scopes",
        "post", "jwt"}


def _shape(response, keyset):
    """What must not differ between the two paths: all but the random parts."""
    body = response.get_json()
    token = body.get("access_token")
    if token is not None:
        if token.count(".") == 2:
            decoded = jwt.decode(token, keyset)
            claims = {k: v for k, v in decoded.claims.items() if k not in ("jti", "iat", "exp")}
            body["access_token"] = ("jwt", decoded.header["typ"], tuple(sorted(claims.items())),
                                    decoded.claims["exp"] - decoded.claims["iat"])
        else:
            body["access_token"] = ("opaque", len(token) >= 43)
    headers = {name: response.headers.get(name) for name in ("Content-Type", "Cache-Control", "Pragma")}
    return response.status_code, body, headers


def test_the_plain_request_gets_what_authlib_gives(actors, clients, monkeypatch):
    keyset = KeySet.import_key_set(actors.browser.get("/jwks.json").get_json())
    requests = _requests(clients)
    answered = []
    real = client_credentials.answer

    def spy(*args):
        body = real(*args)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(client_credentials, "answer", spy)
    fast = {}
    for name, (form, headers) in requests.items():
        answered.clear()
        fast[name] = _shape(actors.browser.post("/token", data=form, headers=headers), keyset)
        assert answered == [name in FAST], name
    monkeypatch.setattr(client_credentials, "answer", lambda *args: None)
    for name, (form, headers) in requests.items():
        assert _shape(actors.browser.post("/token", data=form, headers=headers), keyset) == fast[name], name
    assert fast["basic"][0] == 200 and "scope" not in fast["basic"][1]
    assert fast["basic, scopes repeated and not registered"][1]["scope"] == "profile peps"
    assert fast["jwt"][1]["access_token"][1] == "at+jwt"
    assert fast["wrong secret"][0] == 401 and fast["wrong secret"][1]["error"] == "invalid_client"
    assert fast["grant not registered"][1]["error"] == "unauthorized_client"


def test_two_statements_outside_a_transaction_and_the_token_works(actors, clients, app, monkeypatch):
    """SQLite through SQLAlchemy in autocommit mode; PostgreSQL on the process's own
    psycopg connection, which SQLAlchemy never sees."""
    basic_id, basic_secret = clients["basic"]
    through_sqlalchemy, through_psycopg = [], []

    def seen(conn, cursor, statement, parameters, context, executemany):
        through_sqlalchemy.append((statement.split()[0], conn.get_execution_options().get("isolation_level")))

    real_execute = psycopg.Cursor.execute

    def direct(cursor, query, *args, **kwargs):
        through_psycopg.append((query.split()[0], cursor.connection.autocommit))
        return real_execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", direct)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        response = actors.token(basic_id, basic_secret, grant_type="client_credentials", scope="peps")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    if engine.dialect.name == "postgresql":
        assert through_sqlalchemy == []
        assert through_psycopg == [("SELECT", True), ("INSERT", True)]
    else:
        assert through_sqlalchemy == [("SELECT", "AUTOCOMMIT"), ("INSERT", "AUTOCOMMIT")]

    token = response.get_json()["access_token"]
    resource_id, resource_secret = clients["post"]
    introspect = {"token": token, "client_id": resource_id, "client_secret": resource_secret}
    active = actors.browser.post("/introspect", data=introspect).get_json()
    assert active["active"] is True and active["client_id"] == basic_id and active["scope"] == "peps"
    revoked = actors.browser.post("/revoke", data={"token": token}, headers=_basic(basic_id, basic_secret))
    assert revoked.status_code == 200
    assert actors.browser.post("/introspect", data=introspect).get_json() == {"active": False}


def test_answered_ahead_of_flask_with_the_headers_flask_gives(actors, clients, app):
    basic_id, basic_secret = clients["basic"]
    fast = actors.token(basic_id, basic_secret, grant_type="client_credentials")
    error = actors.token(basic_id, basic_secret + "x", grant_type="client_credentials")  # through Flask
    assert fast.status_code == 200 and error.status_code == 401
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy",
                 "Cache-Control", "Pragma", "Content-Type"):
        assert fast.headers[name] == error.headers[name], name
    assert fast.headers["X-Request-Id"] and fast.headers["X-Request-Id"] != error.headers["X-Request-Id"]
    assert int(fast.headers["Content-Length"]) == len(fast.get_data())


@pytest.mark.parametrize("shape", ["query string", "charset", "large", "not utf-8", "json"])
def test_other_shapes_of_request_reach_flask_with_their_body(actors, clients, shape, monkeypatch):
    basic_id, basic_secret = clients["basic"]
    answered = []
    real = client_credentials.answer
    monkeypatch.setattr(client_credentials, "answer", lambda *args: answered.append(1) or real(*args))
    headers = {**_basic(basic_id, basic_secret), "Content-Type": "application/x-www-form-urlencoded"}
    body, path = "grant_type=client_credentials", "/token"
    if shape == "query string":
        path += "?scope=peps"
    elif shape == "charset":
        headers["Content-Type"] += "; charset=UTF-8"
    elif shape == "large":
        body += "&scope=" + "+".join(["peps"] * 600)
    elif shape == "not utf-8":
        body += "&scope=%FF\xff"
    else:
        headers["Content-Type"] = "application/json"
    response = actors.browser.post(path, data=body.encode("latin-1"), headers=headers)
    assert response.status_code < 500
    if shape == "charset":
        assert answered and response.status_code == 200
    else:
        assert not answered
    if shape in ("query string", "large"):
        # Flask read the same body: the grant type came through, and Authlib answered.
        assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the direct connection is PostgreSQL's
def test_a_lost_direct_connection_costs_no_request(actors, clients, app):
    basic_id, basic_secret = clients["basic"]
    assert actors.token(basic_id, basic_secret, grant_type="client_credentials").status_code == 200
    statements = app.wsgi_app.statements
    pid = statements.connection.info.backend_pid
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    # Flask answers the request whose connection failed; the next one opens a new connection.
    assert actors.token(basic_id, basic_secret, grant_type="client_credentials").status_code == 200
    assert statements.connection is None
    assert actors.token(basic_id, basic_secret, grant_type="client_credentials").status_code == 200
    assert statements.connection.info.backend_pid != pid
    with app.app_context():
        db.engine.dispose()
    assert statements.connection is None
