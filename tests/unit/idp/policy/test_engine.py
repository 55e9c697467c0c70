"""The policy engine: rules matched against the context (:mod:`idp.policy.engine`)."""

from datetime import timedelta

from idp.policy import Context, evaluate, load_policy
from tests.unit.support import DEFAULT_POLICY as DEFAULT


def test_rules_can_target_an_establishment_and_a_client(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT.read_text(encoding="utf-8").replace("rules: []", "rules:") + """
  - name: this town always wants a code
    when: {establishment: "21330063500017", client: [rp-a, rp-b]}
    set: {require_code: true}
""", encoding="utf-8")
    policy = load_policy(path)
    hour = timedelta(hours=1)
    decision = evaluate(policy, Context(establishment="21330063500017", client="rp-b", trusted_device_age=hour))
    assert decision.require_code
    assert any("this town always wants a code" in step for step in decision.trace)
    elsewhere = evaluate(policy, Context(establishment="11111111111111", client="rp-b", trusted_device_age=hour))
    assert not elsewhere.require_code
    other_client = evaluate(policy, Context(establishment="21330063500017", client="rp-c", trusted_device_age=hour))
    assert not other_client.require_code
