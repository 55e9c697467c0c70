"""Claims by scope and by ``claims`` request (:mod:`idp.oidc.claims`)."""

import json
from datetime import datetime

import pytest

from idp.clock import epoch
from idp.models import Account, AccountService, Establishment, Service
from idp.oidc.claims import CLAIMS_SUPPORTED, SCOPE_CLAIMS, essential_acr_values, parse_claims_request, select

UPDATED = datetime(2025, 3, 14, 12, 0, 0)


def _account(phone="+33612345678"):
    return Account(
        identifier="JDU000001", first_name="Jeanne", last_name="Dupont", email="jeanne.dupont@mairie.example",
        phone=phone, profile="administrator", updated_at=UPDATED,
        establishment=Establishment(siret="21330063500017", name="Mairie de Test"),
        rights=[AccountService(service=Service(code="rncps")), AccountService(service=Service(code="pensions"))],
    )


# --- parse_claims_request --------------------------------------------------------------

@pytest.mark.parametrize("raw", [None, ""])
def test_no_claims_parameter(raw):
    assert parse_claims_request(raw) is None


def test_a_well_formed_claims_request_is_returned_as_is():
    request = {"userinfo": {"email": None, "phone_number": {"essential": True}},
               "id_token": {"acr": {"essential": True, "values": ["urn:peps:acr:mfa"]}}, "other": 1}
    assert parse_claims_request(json.dumps(request)) == request
    assert parse_claims_request('{"userinfo": null}') == {"userinfo": None}


@pytest.mark.parametrize("raw, message", [
    ("{not json", "not valid JSON"),
    ("{'userinfo': {}}", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ('"userinfo"', "must be a JSON object"),
    ("null", "must be a JSON object"),
    ('{"userinfo": []}', "'claims.userinfo' member is malformed"),
    ('{"userinfo": {"email": true}}', "'claims.userinfo' member is malformed"),
    ('{"id_token": "acr"}', "'claims.id_token' member is malformed"),
    ('{"id_token": {"acr": ["urn:peps:acr:mfa"]}}', "'claims.id_token' member is malformed"),
])
def test_malformed_claims_requests_say_what_is_wrong(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_claims_request(raw)


# --- essential_acr_values -------------------------------------------------------------

@pytest.mark.parametrize("request_, values", [
    (None, []),
    ({}, []),
    ({"id_token": None}, []),
    ({"id_token": {"acr": None}}, []),
    ({"id_token": {"acr": {"values": ["a", "b"]}}}, []),                       # voluntary
    ({"id_token": {"acr": {"essential": False, "value": "a"}}}, []),
    ({"id_token": {"acr": {"essential": True}}}, []),                          # essential, but no value
    ({"id_token": {"acr": {"essential": True, "values": ["a", "b"]}}}, ["a", "b"]),
    ({"id_token": {"acr": {"essential": True, "value": "a"}}}, ["a"]),
    ({"id_token": {"acr": {"essential": True, "value": 3}}}, ["3"]),
    ({"userinfo": {"acr": {"essential": True, "value": "a"}}}, []),            # only the ID token's
])
def test_essential_acr_values(request_, values):
    assert essential_acr_values(request_) == values


# --- select ---------------------------------------------------------------------------

def test_scope_claims_are_released_by_scope():
    account = _account()
    assert select(account, "openid email", None, "userinfo", True) == {
        "email": "jeanne.dupont@mairie.example", "email_verified": False}
    assert select(account, "openid profile", None, "userinfo", True) == {
        "name": "Jeanne Dupont", "given_name": "Jeanne", "family_name": "Dupont",
        "preferred_username": "JDU000001", "updated_at": epoch(UPDATED)}
    assert select(account, "openid peps", None, "userinfo", True) == {
        "peps_siret": "21330063500017", "peps_establishment": "Mairie de Test",
        "peps_profile": "administrator", "peps_services": ["pensions", "rncps"]}
    assert select(account, "openid phone", None, "userinfo", True) == {
        "phone_number": "+33612345678", "phone_number_verified": True}


def test_without_scope_claims_only_requested_ones_are_released():
    account = _account()
    assert select(account, "openid email profile", None, "id_token", False) == {}
    request = {"id_token": {"email": {"essential": True}, "given_name": None}}
    assert select(account, "openid email profile", request, "id_token", False) == {
        "email": "jeanne.dupont@mairie.example", "given_name": "Jeanne"}
    # what was asked for the ID token is not released in userinfo, and the other way round
    assert select(account, "openid email profile", request, "userinfo", False) == {}


def test_a_claims_request_never_reaches_beyond_the_granted_scopes():
    account = _account()
    request = {"userinfo": {"phone_number": None, "peps_siret": {"essential": True}, "email": None}}
    assert select(account, "openid email", request, "userinfo", True) == {
        "email": "jeanne.dupont@mairie.example", "email_verified": False}
    assert select(account, "openid", request, "userinfo", False) == {}


@pytest.mark.parametrize("scope", ["openid", *(f"openid {s}" for s in SCOPE_CLAIMS), "openid nonsense"])
@pytest.mark.parametrize("member", ["userinfo", "id_token"])
def test_asking_for_every_claim_gives_only_the_scope_claims(scope, member):
    everything = {member: {name: {"essential": True} for name in [*CLAIMS_SUPPORTED, "nir", "password_hash"]}}
    granted = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    for include_scope_claims in (True, False):
        released = select(_account(), scope, everything, member, include_scope_claims)
        assert set(released) == granted


def test_claims_without_a_value_are_left_out():
    released = select(_account(phone=None), "openid phone", {"userinfo": {"phone_number": None}}, "userinfo", True)
    assert released == {"phone_number_verified": False}
