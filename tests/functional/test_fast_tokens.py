"""client_credentials: the plain request answered in two statements (idp.oidc.fast_tokens)
gives what Authlib's grant gives for it, and everything else still goes to Authlib."""

import base64
import io
import threading
from datetime import date

import psycopg
import pytest
from authlib.oidc.core.grants.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import event, text

from idp.extensions import db
from idp.models import Account, AccountService
from idp.oidc import fast_tokens, token_statements
from tests.conftest import POSTGRES_ADMIN
from tests.helpers import REDIRECT_URI, Actors


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
    real = fast_tokens.answer

    def spy(*args):
        body = real(*args)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(fast_tokens, "answer", spy)
    fast = {}
    for name, (form, headers) in requests.items():
        answered.clear()
        fast[name] = _shape(actors.browser.post("/token", data=form, headers=headers), keyset)
        assert answered == [name in FAST], name
    monkeypatch.setattr(fast_tokens, "answer", lambda *args: None)
    for name, (form, headers) in requests.items():
        assert _shape(actors.browser.post("/token", data=form, headers=headers), keyset) == fast[name], name
    assert fast["basic"][0] == 200 and "scope" not in fast["basic"][1]
    assert fast["basic, scopes repeated and not registered"][1]["scope"] == "profile peps"
    assert fast["jwt"][1]["access_token"][1] == "at+jwt"
    assert fast["wrong secret"][0] == 401 and fast["wrong secret"][1]["error"] == "invalid_client"
    assert fast["grant not registered"][1]["error"] == "unauthorized_client"


def test_one_statement_outside_a_transaction_and_the_token_works(actors, clients, app, monkeypatch):
    """SQLite through SQLAlchemy in autocommit mode; PostgreSQL on the process's own
    psycopg connection, which SQLAlchemy never sees. The token is sealed, not stored."""
    basic_id, basic_secret = clients["basic"]
    # The process reads its signing keys once, at its first token.
    assert actors.token(basic_id, basic_secret, grant_type="client_credentials").status_code == 200
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
        assert through_psycopg == [("SELECT", True)]
    else:
        assert through_sqlalchemy == [("SELECT", "AUTOCOMMIT")]

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
    real = fast_tokens.answer
    monkeypatch.setattr(fast_tokens, "answer", lambda *args: answered.append(1) or real(*args))
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


# --- refresh with rotation ------------------------------------------------------------------

def _signed_in(actors, **client_options):
    """A new person in a new browser, and a new client."""
    identifier = actors.account(siret=actors.siret)
    client_id, secret = actors.client(**client_options)
    browser = Actors(actors.app, actors.app.test_client())
    return browser, client_id, secret, identifier


def _refresh_request(client_id, secret, refresh_token, post=False, **more):
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **more}
    if post:
        return {**form, "client_id": client_id, "client_secret": secret}, {}
    return form, _basic(client_id, secret)


def _change_account(app, identifier, **values):
    with app.app_context():
        db.session.execute(db.update(Account).where(Account.identifier == identifier).values(**values))
        db.session.commit()


def _plain(actors, post=False, **options):
    actors, client_id, secret, identifier = _signed_in(
        actors, **({"auth_method": "client_secret_post"} if post else {}), **options)
    if post:
        code, verifier = actors.login_and_get_code(client_id, identifier)
        tokens = actors.browser.post("/token", data={
            "grant_type": "authorization_code", "code": code, "code_verifier": verifier, "redirect_uri": REDIRECT_URI,
            "client_id": client_id, "client_secret": secret}).get_json()
    else:
        tokens = actors.tokens_for(client_id, secret, identifier)
    return actors, (client_id, secret), _refresh_request(client_id, secret, tokens["refresh_token"], post)


def _scenario(name, creator, app):
    """(actors, client, request) for one case, from a fresh login."""
    if name in ("basic", "post", "jwt access token"):
        options = {"access_token_format": "jwt"} if name == "jwt access token" else {}
        return _plain(creator, post=name == "post", **options)
    actors, client_id, secret, identifier = _signed_in(creator)
    if name == "claims for the id token":
        claims = '{"id_token": {"email": null}}'
        tokens = actors.tokens_for(client_id, secret, identifier, claims=claims)
    else:
        tokens = actors.tokens_for(client_id, secret, identifier)
    request = _refresh_request(client_id, secret, tokens["refresh_token"])
    if name == "a narrower scope":
        request = _refresh_request(client_id, secret, tokens["refresh_token"], scope="openid peps")
    elif name == "a wider scope":
        request = _refresh_request(client_id, secret, tokens["refresh_token"], scope="openid peps admin")
    elif name == "a blank scope for a token without one":
        first = actors.browser.post("/token", data={**request[0], "scope": " "}, headers=request[1]).get_json()
        request = _refresh_request(client_id, secret, first["refresh_token"], scope=" ")
    elif name == "no refresh token":
        request = ({"grant_type": "refresh_token"}, _basic(client_id, secret))
    elif name == "used twice":
        assert actors.browser.post("/token", data=request[0], headers=request[1]).status_code == 200
    elif name == "another client's token":
        other_id, other_secret = creator.client()
        request = _refresh_request(other_id, other_secret, tokens["refresh_token"])
    elif name == "account disabled":
        _change_account(app, identifier, status="disabled")
    elif name == "account past its end date":
        _change_account(app, identifier, valid_until=date(2000, 1, 1))
    elif name == "right to the service removed":
        with app.app_context():
            db.session.execute(db.delete(AccountService))
            db.session.commit()
    elif name == "revoked":
        revoked = actors.browser.post("/revoke", data={"token": tokens["refresh_token"]}, headers=_basic(
            client_id, secret))
        assert revoked.status_code == 200
    return actors, (client_id, secret), request


REFRESH_FAST = ["basic", "post", "jwt access token", "a narrower scope"]
REFRESH_AUTHLIB = ["claims for the id token", "a wider scope", "a blank scope for a token without one",
                   "no refresh token", "used twice",
                   "another client's token", "account disabled", "account past its end date",
                   "right to the service removed", "revoked"]


def _refresh_shape(actors, response):
    keyset = KeySet.import_key_set(actors.browser.get("/jwks.json").get_json())
    body = response.get_json()
    shape = {key: body[key] for key in ("error", "scope", "token_type", "expires_in") if key in body}
    if "access_token" in body:
        token = body["access_token"]
        shape["access_token"] = "jwt" if token.count(".") == 2 else "opaque"
        shape["refresh_token"] = len(body["refresh_token"]) >= 43
    if "id_token" in body:
        claims = jwt.decode(body["id_token"], keyset).claims
        assert claims.pop("at_hash") == create_half_hash(body["access_token"], "RS256").decode()
        varying = ("iat", "exp", "auth_time", "sub", "aud", "sid")  # each run is its own login
        shape["id_token"] = {k: v for k, v in claims.items() if k not in varying}
    return response.status_code, shape


@pytest.mark.parametrize("name", REFRESH_FAST + REFRESH_AUTHLIB)
def test_a_refresh_gets_what_authlib_gives(app, actors, monkeypatch, name):
    creator = actors
    creator.siret = creator.establishment()
    real = fast_tokens.answer
    answered = []

    def spy(*args):
        body = real(*args)
        answered.append(body is not None)
        return body

    monkeypatch.setattr(fast_tokens, "answer", spy)
    actors, client, (form, headers) = _scenario(name, creator, app)
    answered.clear()
    fast = actors.browser.post("/token", data=form, headers=headers)
    assert answered == [name in REFRESH_FAST]
    monkeypatch.setattr(fast_tokens, "answer", lambda *args: None)
    slow_actors, _, (form, headers) = _scenario(name, creator, app)
    slow = slow_actors.browser.post("/token", data=form, headers=headers)
    assert _refresh_shape(actors, fast) == _refresh_shape(slow_actors, slow)
    if name in REFRESH_FAST:
        assert fast.status_code == 200 and "id_token" in fast.get_json()
        # The new refresh token works once, through either path, and the old one is spent.
        monkeypatch.setattr(fast_tokens, "answer", spy)
        again = _refresh_request(*client, fast.get_json()["refresh_token"], post=name == "post")
        assert actors.browser.post("/token", data=again[0], headers=again[1]).status_code == 200
        replay = actors.browser.post("/token", data=again[0], headers=again[1])
        assert replay.get_json()["error"] == "invalid_grant"
    else:
        assert fast.status_code in (400, 401) or name == "claims for the id token"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # workers really run at once there
def test_one_refresh_token_sent_eight_times_at_once_gives_one_answer_and_revokes_the_family(app, actors):
    actors.siret = actors.establishment()
    browser, (client_id, secret), (form, headers) = _plain(actors)
    start, answers = threading.Barrier(8), []

    def send():
        client = app.test_client()
        start.wait()
        answers.append(client.post("/token", data=form, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [answer for answer in answers if answer.status_code == 200]
    assert len(winners) == 1
    assert {answer.get_json()["error"] for answer in answers if answer.status_code != 200} == {"invalid_grant"}
    # The others were replays of a spent token: the whole family, the winner's new one too, is revoked.
    again = _refresh_request(client_id, secret, winners[0].get_json()["refresh_token"])
    assert browser.browser.post("/token", data=again[0], headers=again[1]).get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # the direct connection is PostgreSQL's
@pytest.mark.parametrize("committed", [True, False])
def test_a_rotation_whose_outcome_is_unknown_is_settled_by_looking(app, actors, monkeypatch, committed):
    """The connection fails during the statement that consumes the old token and inserts
    the new one: the answer follows what the database holds, never a false replay."""
    actors.siret = actors.establishment()
    browser, (client_id, secret), (form, headers) = _plain(actors)
    real = token_statements.PsycopgStatements.rotate

    def failing(statements, old_id, values):
        if committed:
            real(statements, old_id, values)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(token_statements.PsycopgStatements, "rotate", failing)
    answer = browser.browser.post("/token", data=form, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    monkeypatch.undo()
    again = _refresh_request(client_id, secret, answer.get_json()["refresh_token"])
    assert browser.browser.post("/token", data=again[0], headers=again[1]).status_code == 200
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL")).scalar() == 0


def test_a_nul_in_credentials_is_refused_without_touching_the_database(actors, clients, app):
    basic_id, basic_secret = clients["basic"]
    before = app.wsgi_app.statements.connection if app.wsgi_app.statements else None
    for headers, form in (
        (_basic(basic_id + "\x00", basic_secret), {"grant_type": "client_credentials"}),
        ({}, {"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "s"}),
        (_basic(basic_id, basic_secret), {"grant_type": "refresh_token", "refresh_token": "a\x00b"}),
    ):
        answer = actors.browser.post("/token", data=form, headers=headers)
        assert answer.status_code in (400, 401), answer.status_code
    after = app.wsgi_app.statements.connection if app.wsgi_app.statements else None
    assert before is after


@pytest.mark.parametrize("length, extra", [("+29", {}), ("2_9", {}), (" 29", {}),
                                           ("29", {"HTTP_TRANSFER_ENCODING": "chunked"})])
def test_a_content_length_werkzeug_would_not_read_goes_to_flask(actors, clients, app, monkeypatch, length, extra):
    basic_id, basic_secret = clients["basic"]
    answered = []
    monkeypatch.setattr(fast_tokens, "answer", lambda *args: answered.append(1))
    body = b"grant_type=client_credentials"
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/token", "CONTENT_TYPE": "application/x-www-form-urlencoded",
               "CONTENT_LENGTH": length, "wsgi.input": io.BytesIO(body), "QUERY_STRING": "",
               "HTTP_AUTHORIZATION": _basic(basic_id, basic_secret)["Authorization"], "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "SERVER_PROTOCOL": "HTTP/1.1", **extra}
    statuses = []
    b"".join(app.wsgi_app(environ, lambda status, headers: statuses.append(status)))
    assert not answered and not statuses[0].startswith("5")
