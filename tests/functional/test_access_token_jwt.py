"""JWT access tokens (RFC 9068) beside opaque ones: what a resource server verifies with
the published keys, and what UserInfo, introspection and revocation do with them."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.errors import DecodeError
from joserfc.jwk import KeySet

ALL_GRANTS = ["authorization_code", "refresh_token", "client_credentials"]


@pytest.fixture
def global_format():
    """oidc.access_token_format of the running app; a test parametrizes it to change it."""
    return "opaque"


@pytest.fixture
def settings_overrides(settings_overrides, global_format):
    return {**settings_overrides, "oidc": {"access_token_format": global_format}}


def _published(actors) -> KeySet:
    return KeySet.import_key_set(actors.browser.get("/jwks.json").get_json())


def _verify(actors, token: str) -> jwt.Token:
    """As a resource server does: signature by a published key, then the header's type."""
    return jwt.decode(token, _published(actors), algorithms=["RS256", "ES256"])


def _is_jwt(actors, token: str) -> bool:
    try:
        _verify(actors, token)
    except (DecodeError, ValueError):
        return False
    return True


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _introspect(actors, client_id, secret, token):
    return actors.browser.post("/introspect", data={"token": token}, headers=_basic(client_id, secret)).get_json()


def _revoke(actors, client_id, secret, token, hint=None):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return actors.browser.post("/revoke", data=data, headers=_basic(client_id, secret))


def _userinfo(actors, token):
    return actors.browser.get("/userinfo", headers={"Authorization": f"Bearer {token}"})


def test_a_users_jwt_access_token_verifies_with_the_published_keys_and_says_how_they_logged_in(actors):
    identifier = actors.account()
    client_id, secret = actors.client(access_token_format="jwt", grant_types=ALL_GRANTS)
    tokens = actors.tokens_for(client_id, secret, identifier)

    decoded = _verify(actors, tokens["access_token"])
    id_token = _verify(actors, tokens["id_token"])
    assert decoded.header["typ"] == "at+jwt" and id_token.header["typ"] == "JWT"
    assert decoded.header["kid"] == id_token.header["kid"]  # the key that signs ID tokens
    claims = decoded.claims
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == claims["client_id"] == client_id
    assert claims["sub"] == id_token.claims["sub"]
    assert (claims["auth_time"], claims["acr"], claims["amr"]) == (
        id_token.claims["auth_time"], id_token.claims["acr"], id_token.claims["amr"])
    assert claims["scope"] == tokens["scope"]
    assert claims["exp"] - claims["iat"] == tokens["expires_in"]
    jwt.JWTClaimsRegistry(exp={"essential": True}, iat={"essential": True},
                          jti={"essential": True}).validate(claims)
    # The ID token's at_hash is computed over the token the client actually received.
    from authlib.oidc.core.grants.util import create_half_hash
    assert id_token.claims["at_hash"] == create_half_hash(tokens["access_token"], "RS256").decode()


def test_userinfo_and_introspection_accept_a_jwt_access_token_until_it_is_revoked(actors):
    identifier = actors.account()
    client_id, secret = actors.client(access_token_format="jwt", grant_types=ALL_GRANTS)
    tokens = actors.tokens_for(client_id, secret, identifier)
    access = tokens["access_token"]
    sub = _verify(actors, access).claims["sub"]

    info = _userinfo(actors, access)
    assert info.status_code == 200 and info.get_json()["sub"] == sub
    introspected = _introspect(actors, client_id, secret, access)
    assert introspected["active"] is True
    assert (introspected["sub"], introspected["client_id"], introspected["token_type"]) == (sub, client_id, "Bearer")

    assert _revoke(actors, client_id, secret, access).status_code == 200
    assert _introspect(actors, client_id, secret, access) == {"active": False}
    assert _userinfo(actors, access).status_code == 401
    # The signature still verifies: only the provider knows the token is revoked.
    assert _verify(actors, access).claims["sub"] == sub
    # Revoking the access token alone leaves the grant's refresh token usable (as for opaque ones).
    refreshed = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert refreshed.status_code == 200 and _is_jwt(actors, refreshed.get_json()["access_token"])


def test_refresh_rotation_and_replay_detection_are_the_same_for_jwt_access_tokens(actors):
    identifier = actors.account()
    client_id, secret = actors.client(access_token_format="jwt", grant_types=ALL_GRANTS)
    first = actors.tokens_for(client_id, secret, identifier)
    second = actors.token(client_id, secret, grant_type="refresh_token",
                          refresh_token=first["refresh_token"]).get_json()
    assert _verify(actors, second["access_token"]).claims["auth_time"] == _verify(
        actors, first["access_token"]).claims["auth_time"]
    assert _introspect(actors, client_id, secret, second["access_token"])["active"] is True

    replay = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert replay.get_json()["error"] == "invalid_grant"
    assert _introspect(actors, client_id, secret, second["access_token"]) == {"active": False}
    assert _userinfo(actors, second["access_token"]).status_code == 401


def test_a_client_credentials_jwt_names_the_client_as_subject(actors):
    client_id, secret = actors.client(access_token_format="jwt", grant_types=["client_credentials"],
                                      redirect_uris=[], scope="profile")
    response = actors.token(client_id, secret, grant_type="client_credentials", scope="profile")
    assert response.status_code == 200, response.get_json()
    access = response.get_json()["access_token"]
    claims = _verify(actors, access).claims
    assert claims["sub"] == claims["client_id"] == claims["aud"] == client_id
    assert claims["scope"] == "profile"
    assert not {"auth_time", "acr", "amr"} & claims.keys()
    introspected = _introspect(actors, client_id, secret, access)
    assert introspected["active"] is True and "sub" not in introspected
    # Two tokens asked for in the same second differ (jti): each has its own row.
    again = actors.token(client_id, secret, grant_type="client_credentials", scope="profile").get_json()["access_token"]
    assert again != access and _verify(actors, again).claims["jti"] != claims["jti"]


def test_opaque_by_default(actors):
    identifier = actors.account()
    client_id, secret = actors.client(grant_types=ALL_GRANTS)
    tokens = actors.tokens_for(client_id, secret, identifier)
    assert not _is_jwt(actors, tokens["access_token"])
    assert _introspect(actors, client_id, secret, tokens["access_token"])["active"] is True


@pytest.mark.parametrize("global_format", ["jwt"])
def test_the_global_setting_gives_jwts_unless_the_client_says_opaque(actors):
    identifier = actors.account()
    follows, follows_secret = actors.client(grant_types=ALL_GRANTS)
    opaque, opaque_secret = actors.client(access_token_format="opaque", grant_types=ALL_GRANTS)
    assert _is_jwt(actors, actors.tokens_for(follows, follows_secret, identifier)["access_token"])
    access = actors.tokens_for(opaque, opaque_secret, identifier, prompt="login")["access_token"]
    assert not _is_jwt(actors, access)
    assert _userinfo(actors, access).status_code == 200


def test_the_discovery_document_advertises_nothing_new(actors):
    document = actors.browser.get("/.well-known/openid-configuration").get_json()
    assert not [key for key in document if "access_token" in key]


def _rows_of(app, client_id):
    from idp.extensions import db
    from idp.models import Token
    with app.app_context():
        counted = db.select(db.func.count()).select_from(Token).filter_by(client_id=client_id)
        return db.session.execute(counted).scalar_one()


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
@pytest.mark.parametrize("path", ["ahead of Flask", "Authlib's grant"])
def test_a_clients_own_token_is_stored_nowhere_yet_introspection_reads_it_until_it_is_revoked(
        actors, app, monkeypatch, path, token_format):
    from idp.extensions import db
    from idp.models import RevokedAccessToken
    from idp.oidc import fast_tokens
    if path == "Authlib's grant":
        monkeypatch.setattr(fast_tokens, "answer", lambda *args: None)
    client_id, secret = actors.client(access_token_format=token_format, grant_types=["client_credentials"],
                                      redirect_uris=[], scope="profile peps")
    other_id, other_secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    issued = actors.token(client_id, secret, grant_type="client_credentials", scope="peps").get_json()
    access = issued["access_token"]
    assert _rows_of(app, client_id) == 0
    if token_format == "jwt":
        claims = _verify(actors, access).claims
    else:  # sealed: nothing of it reads without the provider's key
        assert not _is_jwt(actors, access) and "~" in access and client_id not in access
        claims = None

    # Any confidential client may introspect (a resource server with its own credentials).
    introspected = _introspect(actors, other_id, other_secret, access)
    assert introspected.pop("exp") - introspected.pop("iat") == issued["expires_in"]
    assert introspected == {"active": True, "iss": "http://localhost", "client_id": client_id, "aud": client_id,
                            "scope": "peps", "token_type": "Bearer"}
    if claims is not None:
        full = _introspect(actors, other_id, other_secret, access)
        assert (full["iat"], full["exp"]) == (claims["iat"], claims["exp"])
    # UserInfo wants a user: the token names none.
    assert _userinfo(actors, access).status_code in (401, 403)

    # RFC 7009 2.1: another client's revocation leaves it alone, and is answered 200.
    assert _revoke(actors, other_id, other_secret, access).status_code == 200
    assert _introspect(actors, client_id, secret, access)["active"] is True
    assert _revoke(actors, client_id, secret, access).status_code == 200
    assert _introspect(actors, other_id, other_secret, access) == {"active": False}
    assert _revoke(actors, client_id, secret, access, hint="refresh_token").status_code == 200  # again: no-op
    with app.app_context():
        revoked = db.session.execute(db.select(RevokedAccessToken)).scalars().all()
    assert [r.client_id for r in revoked] == [client_id]
    if claims is not None:
        assert revoked[0].jti == claims["jti"]
        assert revoked[0].expires_at == datetime.fromtimestamp(claims["exp"], UTC).replace(tzinfo=None)
    # The client's next token is another one, untouched.
    again = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
    assert _introspect(actors, client_id, secret, again)["active"] is True


def _unverified(token, part):
    """The header (0) or the claims (1) of a JWT, read without checking anything."""
    segment = token.split(".")[part]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _signed(actors, app, header_changes=None, claim_changes=None, key=None):
    """A client_credentials JWT as the provider would sign it, with some parts changed."""
    from idp import keys
    client_id, _ = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    with app.app_context():
        signer = keys.signer()
        payload = {"iss": "http://localhost", "exp": int(time.time()) + 600, "aud": client_id, "sub": client_id,
                   "client_id": client_id, "iat": int(time.time()), "jti": "j" * 22, "scope": "peps",
                   **(claim_changes or {})}
        payload = {name: value for name, value in payload.items() if value is not None}
        header = {"alg": signer.alg, "kid": signer.kid, "typ": "at+jwt", **(header_changes or {})}
        return jwt.encode(header, payload, key or signer.key_set, algorithms=[header["alg"]]), client_id


def test_introspection_takes_no_jwt_it_did_not_issue_to_a_client_for_itself(actors, app):
    from joserfc.jwk import RSAKey

    from idp.extensions import db
    from idp.models import Client
    client_id, secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    genuine, _ = _signed(actors, app)
    assert _introspect(actors, client_id, secret, genuine)["active"] is True  # the forger below is otherwise right
    foreign_key = RSAKey.generate_key(2048, parameters={"kid": _unverified(genuine, 0)["kid"]})
    head, body, signature = genuine.split(".")
    forged = {
        "another key, same kid": _signed(actors, app, key=foreign_key)[0],
        "payload changed": head + "." + base64.urlsafe_b64encode(
            json.dumps({**_unverified(genuine, 1), "scope": "admin"}).encode()).rstrip(b"=").decode()
            + "." + signature,
        "an ID token's type": _signed(actors, app, header_changes={"typ": "JWT"})[0],
        "another issuer": _signed(actors, app, claim_changes={"iss": "https://elsewhere.example"})[0],
        "expired": _signed(actors, app, claim_changes={"exp": int(time.time()) - 1})[0],
        "a user as subject": _signed(actors, app, claim_changes={"sub": "someone"})[0],
        "a user's, by auth_time": _signed(actors, app, claim_changes={"auth_time": int(time.time())})[0],
        "no jti": _signed(actors, app, claim_changes={"jti": None})[0],
        "a jti too long": _signed(actors, app, claim_changes={"jti": "j" * 65})[0],
        "exp as text": _signed(actors, app, claim_changes={"exp": str(int(time.time()) + 600)})[0],
        "alg none": head + "." + body + ".",
        "three dots": "a.b.c",
        "huge": "a." + "b" * 5000 + ".c",
    }
    sealed = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
    assert _introspect(actors, client_id, secret, sealed)["active"] is True
    kid, _, box = sealed.partition("~")
    forged.update({
        "sealed, a character changed": kid + "~" + box[:30] + ("A" if box[30] != "A" else "B") + box[31:],
        "sealed, under an unknown kid": "x" + sealed,
        "sealed, cut short": sealed[:-2],
        "sealed, huge": sealed + "A" * 5000,
        "sealed, nothing after the kid": kid + "~",
        "sealed, twice": sealed + "~" + box,
    })
    gone, gone_client = _signed(actors, app)
    with app.app_context():
        db.session.execute(db.delete(Client).filter_by(client_id=gone_client))
        db.session.commit()
    forged["its client deleted"] = gone
    for name, token in forged.items():
        response = actors.browser.post("/introspect", data={"token": token}, headers=_basic(client_id, secret))
        assert (response.status_code, response.get_json()) == (200, {"active": False}), name
        assert _revoke(actors, client_id, secret, token).status_code == 200, name


@pytest.mark.parametrize("token_format", ["jwt", "opaque"])
def test_a_token_made_before_a_rotation_stays_active_while_its_key_is_published(actors, app, token_format):
    from idp import keys
    from idp.extensions import db
    from idp.models import SigningKey
    client_id, secret = actors.client(access_token_format=token_format, grant_types=["client_credentials"],
                                      redirect_uris=[], scope="peps")
    access = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
    kid = _unverified(access, 0)["kid"] if token_format == "jwt" else access.partition("~")[0]
    with app.app_context():
        settings = app.config["IDP"].oidc
        keys.rotate(settings.signing_alg, settings.rsa_key_size, settings.access_token_lifetime)
        db.session.commit()
    assert _introspect(actors, client_id, secret, access)["active"] is True
    with app.app_context():
        old = db.session.execute(db.select(SigningKey).filter_by(kid=kid)).scalar_one()
        old.publish_until = old.retired_at = keys.now()
        db.session.commit()
    # Unpublished: each process believes it for at most the JWKS refresh time more.
    from idp.clock import travel
    with travel(keys.JWKS_REFRESH + timedelta(seconds=1)):
        assert _introspect(actors, client_id, secret, access) == {"active": False}


def test_two_revocations_of_one_client_jwt_at_once_both_succeed(actors, app, monkeypatch):
    """The other request writes the jti down first, between this one's reading it as live
    and its own insert: this one inserts nothing and answers 200 all the same."""
    from idp.clock import now
    from idp.extensions import db
    from idp.models import RevokedAccessToken
    from idp.oidc import tokens
    client_id, secret = actors.client(access_token_format="jwt", grant_types=["client_credentials"],
                                      redirect_uris=[], scope="peps")
    access = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
    revoke = tokens.OwnToken.revoke

    def overtaken(token):
        with db.engine.begin() as other:
            other.execute(db.insert(RevokedAccessToken).values(
                jti=token.jti, client_id=token.client_id, expires_at=token.access_expires_at, revoked_at=now()))
        revoke(token)

    monkeypatch.setattr(tokens.OwnToken, "revoke", overtaken)
    assert _revoke(actors, client_id, secret, access).status_code == 200
    assert _introspect(actors, client_id, secret, access) == {"active": False}


def test_introspecting_a_sealed_token_reads_neither_tokens_nor_keys(actors, app):
    """The process holds the published keys; the client and the revocation come in one
    statement; there is no row of the token to look for."""
    from sqlalchemy import event

    from idp.extensions import db
    client_id, secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    sealed = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
    assert _introspect(actors, client_id, secret, sealed)["active"] is True
    statements = []
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen := lambda *args: statements.append(args[2]))
    try:
        assert _introspect(actors, client_id, secret, sealed)["active"] is True
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not [s for s in statements if " tokens" in s or "signing_keys" in s], statements
    assert len([s for s in statements if "revoked_access_tokens" in s]) == 1, statements


def test_revoking_a_clients_tokens_ends_its_own_and_its_users_and_spares_what_comes_after(actors, app):
    """`idp clients revoke-tokens` (its secret leaked, say): the tokens it holds, stored or
    not, stop at once; the next ones work."""
    from idp import clients
    from idp.clock import travel
    from idp.extensions import db
    identifier = actors.account()
    client_id, secret = actors.client(access_token_format="jwt", grant_types=ALL_GRANTS, scope="openid profile peps")
    other_id, other_secret = actors.client(grant_types=["client_credentials"], redirect_uris=[], scope="peps")
    own = actors.token(client_id, secret, grant_type="client_credentials", scope="peps").get_json()["access_token"]
    others = actors.token(other_id, other_secret, grant_type="client_credentials").get_json()["access_token"]
    users = actors.tokens_for(client_id, secret, identifier)
    for token in (own, others, users["access_token"]):
        assert _introspect(actors, other_id, other_secret, token)["active"] is True
    with app.app_context():
        assert clients.revoke_tokens(client_id) == {"tokens": 1, "codes": 0}
        db.session.commit()
    assert _introspect(actors, other_id, other_secret, own) == {"active": False}
    assert _introspect(actors, other_id, other_secret, users["access_token"]) == {"active": False}
    refused = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=users["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert _introspect(actors, other_id, other_secret, others)["active"] is True  # another client's
    with travel(timedelta(seconds=1)):  # tokens issued up to the revocation's second are void
        fresh = actors.token(client_id, secret, grant_type="client_credentials").get_json()["access_token"]
        assert _introspect(actors, other_id, other_secret, fresh)["active"] is True
