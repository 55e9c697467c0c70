"""How a user authenticated, carried from session to code to tokens (:mod:`idp.provenance`)."""

import json
from dataclasses import FrozenInstanceError

import pytest

from idp.provenance import Provenance

FULL = Provenance(
    auth_time=1_741_953_600,
    acr="urn:peps:acr:mfa",
    amr=("pwd", "otp", "sms", "mfa"),
    login_method="federated",
    sid="sid-123",
    claims={"id_token": {"acr": {"essential": True, "values": ["urn:peps:acr:mfa"]}}, "userinfo": {"email": None}},
)


def test_json_round_trip_keeps_every_field():
    stored = json.loads(json.dumps(FULL.as_json()))  # as a JSON column gives it back
    assert stored["amr"] == ["pwd", "otp", "sms", "mfa"]
    again = Provenance.from_json(stored)
    assert again == FULL
    assert isinstance(again.amr, tuple)


def test_as_json_is_plain_json():
    data = FULL.as_json()
    assert set(data) == {"auth_time", "acr", "amr", "login_method", "sid", "claims", "establishment"}
    assert json.loads(json.dumps(data)) == data


def test_unknown_keys_are_ignored_and_missing_ones_take_their_defaults():
    older = {"auth_time": 10, "acr": "urn:peps:acr:pwd", "amr": ["pwd"]}
    newer = {**older, "device": "laptop", "risk": 3}
    assert Provenance.from_json(newer) == Provenance.from_json(older)
    read = Provenance.from_json(older)
    assert read == Provenance(10, "urn:peps:acr:pwd", ("pwd",))
    assert read.login_method == "local" and read.sid is None and read.claims is None


@pytest.mark.parametrize("amr", [None, []])
def test_no_amr_reads_as_an_empty_tuple(amr):
    assert Provenance.from_json({"auth_time": 1, "acr": "a", "amr": amr}).amr == ()
    assert Provenance.from_json({"auth_time": 1, "acr": "a"}).amr == ()


def test_a_record_without_its_required_fields_is_refused():
    with pytest.raises(TypeError):
        Provenance.from_json({"acr": "urn:peps:acr:pwd", "amr": ["pwd"]})


def test_for_request_replaces_the_claims_only_and_leaves_the_session_alone():
    request_claims = {"userinfo": {"phone_number": None}}
    seen = FULL.for_request(request_claims)
    assert seen.claims == request_claims
    assert (seen.auth_time, seen.acr, seen.amr, seen.login_method, seen.sid) == (
        FULL.auth_time, FULL.acr, FULL.amr, FULL.login_method, FULL.sid)
    assert FULL.claims["userinfo"] == {"email": None}  # the session's own provenance is unchanged
    assert FULL.for_request(None).claims is None


def test_provenance_is_immutable():
    with pytest.raises(FrozenInstanceError):
        FULL.acr = "urn:peps:acr:pwd"
