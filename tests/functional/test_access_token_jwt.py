"""JWT access tokens (RFC 9068) beside opaque ones: what a resource server verifies with
the published keys, and what UserInfo, introspection and revocation do with them."""

import base64

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
