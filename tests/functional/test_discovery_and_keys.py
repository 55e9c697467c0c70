"""Discovery (OIDC Discovery 1.0), JWKS and signing-key rotation with overlap."""

from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import KeySet

from idp import keys
from idp.clock import now, travel
from idp.extensions import db
from idp.models import SigningKey


def test_discovery_document(browser):
    doc = browser.get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == "http://localhost"
    for name in ("authorization", "token", "userinfo", "jwks", "revocation", "introspection"):
        key = f"{name}_endpoint" if name != "jwks" else "jwks_uri"
        assert doc[key].startswith("http://localhost/")
    assert doc["end_session_endpoint"] == "http://localhost/logout"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]
    assert doc["acr_values_supported"] == ["urn:peps:acr:pwd", "urn:peps:acr:mfa"]
    assert doc["claims_parameter_supported"] is True
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt"}
    assert {"openid", "profile", "email", "phone", "peps"} <= set(doc["scopes_supported"])


def test_jwks_publishes_a_2048_bit_rsa_key_without_private_parts(browser):
    jwks = browser.get("/jwks.json").get_json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
    import base64
    modulus = base64.urlsafe_b64decode(key["n"] + "==")
    assert len(modulus) * 8 >= 2048


def test_rotation_publishes_first_signs_later_and_keeps_the_old_key_published(actors, app):
    identifier = actors.account()
    client_id, secret = actors.client()
    old_token = actors.tokens_for(client_id, secret, identifier)["id_token"]
    old_kid = jwt.decode(old_token, KeySet.import_key_set(actors.browser.get("/jwks.json").get_json())).header["kid"]

    with app.app_context():
        new = keys.rotate("ES256", 2048, app.config["IDP"].oidc.id_token_lifetime)
        db.session.commit()
        new_kid = new.kid

    def kid_of(token: str, key_set: KeySet) -> str:
        return jwt.decode(token, key_set, algorithms=["RS256", "ES256"]).header["kid"]

    # Within the refresh period this process still serves the key set it holds, and
    # the old key still signs: nothing is signed with a key a relying party cannot find.
    assert [k["kid"] for k in actors.browser.get("/jwks.json").get_json()["keys"]] == [old_kid]
    key_set = KeySet.import_key_set(actors.browser.get("/jwks.json").get_json())
    assert kid_of(actors.tokens_for(client_id, secret, identifier)["id_token"], key_set) == old_kid

    with travel(keys.JWKS_REFRESH + timedelta(seconds=1)):  # every process has reread the keys
        jwks = actors.browser.get("/jwks.json").get_json()
        assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
        key_set = KeySet.import_key_set(jwks)
        jwt.decode(old_token, key_set)  # what the old key signed still verifies
        assert kid_of(actors.tokens_for(client_id, secret, identifier, prompt="login")["id_token"],
                      key_set) == old_kid
    with travel(keys.PUBLISH_AHEAD + timedelta(seconds=1)):  # and relying parties' copies too
        new_token = actors.tokens_for(client_id, secret, identifier, prompt="login")["id_token"]
        decoded = jwt.decode(new_token, key_set, algorithms=["ES256"])
        assert decoded.header["kid"] == new_kid and decoded.header["alg"] == "ES256"

    with app.app_context():
        old = db.session.execute(db.select(SigningKey).filter_by(kid=old_kid)).scalar_one()
        assert old.publish_until >= now() + app.config["IDP"].oidc.id_token_lifetime
        old.publish_until = now() - timedelta(seconds=1)
        db.session.commit()
    with travel(2 * keys.PUBLISH_AHEAD):
        assert [k["kid"] for k in actors.browser.get("/jwks.json").get_json()["keys"]] == [new_kid]
