"""What a login flow remembers between its steps (:mod:`idp.login.state`)."""

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError

from idp.login.state import Authorization, FlowState, UpstreamAttempt
from idp.policy import Decision

DECISION = Decision(
    require_code=True,
    acr="urn:peps:acr:mfa",
    trusted_device_lifetime=timedelta(days=7),
    code_lifetime=timedelta(minutes=5, seconds=30),
    trace=("service rncps requires urn:peps:acr:mfa", "no code verified in this session yet: a code is required"),
)
FULL = FlowState(
    purpose="step_up",
    authorization=Authorization(
        client_id="rp", redirect_uri="https://rp.example.test/cb", scope="openid email",
        claims={"id_token": {"acr": {"essential": True, "value": "urn:peps:acr:mfa"}}},
    ),
    service="rncps",
    requested_acr="urn:peps:acr:mfa",
    login_method="federated",
    decision=DECISION,
    pending_phone="+33612345678",
    upstream=UpstreamAttempt(id="net-entreprises", state="st", nonce="n", verifier="v" * 43),
    reset_id=7,
)


def _through_json(data):
    return json.loads(json.dumps(data))


def test_every_field_survives_the_json_column():
    stored = _through_json(FULL.model_dump(mode="json"))
    again = FlowState.model_validate(stored)
    assert again == FULL
    assert again.decision == DECISION
    assert again.decision.code_lifetime == timedelta(minutes=5, seconds=30)
    assert again.decision.trusted_device_lifetime == timedelta(days=7)
    assert again.decision.trace == DECISION.trace and isinstance(again.decision.trace, tuple)


def test_the_stored_form_leaves_out_the_defaults_and_still_reads_back():
    # As LoginFlow.state stores it.
    stored = _through_json(FlowState(service="pensions").model_dump(mode="json", exclude_defaults=True))
    assert stored == {"service": "pensions"}
    state = FlowState.model_validate(stored)
    assert state.purpose == "login" and state.login_method == "local" and state.decision is None
    assert FlowState.model_validate(_through_json(FULL.model_dump(mode="json", exclude_defaults=True))) == FULL


def test_keys_it_no_longer_knows_are_ignored():
    stored = {**_through_json(FULL.model_dump(mode="json")), "retired_key": 1}
    stored["authorization"] = {**stored["authorization"], "old_param": "x"}
    assert FlowState.model_validate(stored) == FULL


@pytest.mark.parametrize("bad", [{"purpose": "sign_up"}, {"login_method": "magic"},
                                 {"decision": {"require_code": True}}, {"authorization": {"client_id": "rp"}}])
def test_a_state_that_does_not_fit_is_refused(bad):
    with pytest.raises(ValidationError):
        FlowState.model_validate(bad)


def test_the_state_is_immutable():
    with pytest.raises(ValidationError):
        FULL.service = "pensions"


def test_require_code_follows_the_decision():
    assert FlowState().require_code is False
    assert FlowState(decision=DECISION).require_code is True
    waived = Decision(False, "urn:peps:acr:pwd", timedelta(days=7), timedelta(minutes=5))
    assert FlowState(decision=waived).require_code is False
    assert FlowState.model_validate(_through_json(FlowState(decision=waived).model_dump(mode="json"))).require_code \
        is False
