"""Refresh token rotation and replay (RFC 9700 4.14), revocation (RFC 7009) and
introspection (RFC 7662)."""

import base64

import pytest


@pytest.fixture
def issued(actors):
    identifier = actors.account()
    client_id, secret = actors.client()
    return client_id, secret, actors.tokens_for(client_id, secret, identifier)


def _call(actors, path, client_id, secret, token, hint=None):
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return actors.browser.post(path, data=data, headers={"Authorization": f"Basic {auth}"})


def _introspect(actors, *args, **kwargs):
    return _call(actors, "/introspect", *args, **kwargs)


def _revoke(actors, *args, **kwargs):
    return _call(actors, "/revoke", *args, **kwargs)


def test_refresh_rotates_and_keeps_auth_time(actors, issued):
    client_id, secret, tokens = issued
    original = actors.id_token_claims(tokens["id_token"])
    response = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert response.status_code == 200
    refreshed = response.get_json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    claims = actors.id_token_claims(refreshed["id_token"])
    assert claims["auth_time"] == original["auth_time"]
    assert claims["acr"] == original["acr"] and claims["sub"] == original["sub"]
    assert "nonce" not in claims
    introspected = _introspect(actors, client_id, secret, refreshed["access_token"]).get_json()
    assert introspected["auth_time"] == original["auth_time"]


def test_reusing_a_rotated_refresh_token_revokes_the_family(actors, issued):
    client_id, secret, tokens = issued
    second = actors.token(
        client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    ).get_json()
    replay = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_grant"
    # The legitimate holder's newer tokens are revoked too.
    newer = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert newer.get_json()["error"] == "invalid_grant"
    assert _introspect(actors, client_id, secret, second["access_token"]).get_json() == {"active": False}


def test_refresh_token_of_another_client_is_refused(actors, issued):
    _, _, tokens = issued
    other_id, other_secret = actors.client()
    response = actors.token(other_id, other_secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert response.get_json()["error"] == "invalid_grant"


def test_introspection_reports_acr_and_auth_time(actors, issued):
    client_id, secret, tokens = issued
    claims = actors.id_token_claims(tokens["id_token"])
    body = _introspect(actors, client_id, secret, tokens["access_token"]).get_json()
    assert body["active"] is True
    assert body["acr"] == "urn:peps:acr:mfa"  # first login: a code was verified
    assert body["auth_time"] == claims["auth_time"]
    assert body["sub"] == claims["sub"]
    assert body["client_id"] == client_id and body["aud"] == client_id
    assert body["peps_services"] == ["pensions"]  # the scope has peps: the account's rights
    assert body["amr"] == claims["amr"]
    assert body["iss"] == "http://localhost"
    assert body["exp"] > body["iat"]
    refresh = _introspect(actors, client_id, secret, tokens["refresh_token"], "refresh_token").get_json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert _introspect(actors, client_id, secret, "not-a-token").get_json() == {"active": False}


def test_revoked_access_token_is_inactive(actors, issued):
    client_id, secret, tokens = issued
    assert _revoke(actors, client_id, secret, tokens["access_token"]).status_code == 200
    assert _introspect(actors, client_id, secret, tokens["access_token"]).get_json() == {"active": False}
    assert actors.browser.get(
        "/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).status_code == 401
    # Revoking the access token leaves the refresh token usable.
    assert _introspect(actors, client_id, secret, tokens["refresh_token"]).get_json()["active"] is True


def test_revoked_refresh_token_revokes_the_grant(actors, issued):
    client_id, secret, tokens = issued
    assert _revoke(actors, client_id, secret, tokens["refresh_token"], "refresh_token").status_code == 200
    assert _introspect(actors, client_id, secret, tokens["refresh_token"]).get_json() == {"active": False}
    assert _introspect(actors, client_id, secret, tokens["access_token"]).get_json() == {"active": False}
    response = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert response.get_json()["error"] == "invalid_grant"


def test_another_client_cannot_revoke_a_token(actors, issued):
    client_id, secret, tokens = issued
    other_id, other_secret = actors.client()
    assert _revoke(actors, other_id, other_secret, tokens["access_token"]).status_code == 200
    assert _introspect(actors, client_id, secret, tokens["access_token"]).get_json()["active"] is True


def test_revocation_and_introspection_need_client_authentication(actors, issued):
    client_id, secret, tokens = issued
    assert actors.browser.post("/revoke", data={"token": tokens["access_token"]}).status_code == 401
    assert _introspect(actors, client_id, secret + "x", tokens["access_token"]).status_code == 401
    public_id, _ = actors.client(auth_method="none")
    response = actors.browser.post("/introspect", data={"token": tokens["access_token"], "client_id": public_id})
    assert response.status_code in (400, 401)
    assert "active" not in response.get_json()


def test_refresh_is_refused_once_the_right_to_the_service_is_removed(actors, app, issued):
    from idp.extensions import db
    from idp.models import AccountService

    client_id, secret, tokens = issued
    with app.app_context():
        db.session.execute(db.delete(AccountService))
        db.session.commit()
    response = actors.token(client_id, secret, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert response.get_json()["error"] == "invalid_grant"
