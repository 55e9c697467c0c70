"""Loading a policy file: the default policy's numbers, and every problem named by file,
line, key and problem (:mod:`idp.policy.loader`)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idp.policy import PolicyError, load_policy
from tests.unit.support import DEFAULT_POLICY as DEFAULT
from tests.unit.support import edited_policy as _edited


def test_the_default_policy_states_the_brief():
    policy = load_policy(DEFAULT)
    assert policy.codes.length == 6
    assert policy.codes.lifetime.total_seconds() == 300
    assert policy.trusted_device.lifetime.days == 7
    assert policy.lockout.local.max_failures == 5
    assert policy.channels.mobile == "sms" and policy.channels.fixed_line == "voice"
    assert policy.channels.voip == "voice"
    assert policy.administrators.minimum_per_establishment == 2
    assert "rncps" in policy.sensitive.services
    assert policy.acr_values == ["urn:peps:acr:pwd", "urn:peps:acr:mfa"]


@pytest.mark.parametrize(
    "old, new, key, problem",
    [
        ("  length: 6 ", "  length: 4 ", "codes.length", "greater than or equal to 6"),
        ("  lifetime: 5m ", "  lifetime: soon ", "codes.lifetime", "duration"),
        ("  mobile: sms", "  mobile: pigeon", "channels.mobile", "'sms' or 'voice'"),
        ("    max_failures: 5      # password", "    max_failure: 5      # password", "lockout.local.max_failure",
         "not a known key"),
        ("    - self.change_email", "    - self.change_mail", "sensitive.actions.2", "admin.create_account"),
    ],
)
def test_invalid_policy_names_file_line_key_and_problem(tmp_path, old, new, key, problem):
    path = _edited(tmp_path, old, new)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key
    assert problem in error.problem
    wrong_line = path.read_text(encoding="utf-8").splitlines()[error.line - 1]
    assert new.split(":")[0].strip().lstrip("- ") in wrong_line


def test_a_bad_rule_names_its_key_and_line(tmp_path):
    path = _edited(tmp_path, "rules: []", "rules:\n  - name: admins\n    when:\n      profile: admin\n"
                                          "    set: {require_code: true}")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.key == "rules.0.when.profile" and "administrator" in caught.value.problem
    assert "profile: admin" in path.read_text(encoding="utf-8").splitlines()[caught.value.line - 1]


def test_a_missing_section_is_reported(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8").replace("trusted_device:\n  lifetime: 7d", "")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="trusted_device: is required"):
        load_policy(path)


def test_trusted_networks_are_checked_and_give_their_addresses_their_own_ceilings(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8").replace("trusted_networks: []", """trusted_networks:
  - name: mairie
    networks: [192.0.2.0/24, "2001:db8::/32"]
    failed_logins: {count: 1000, window: 15m}
    code_sends: {count: 500, window: 1h}""")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    inside, v6, outside = (policy.limits_for_address(a) for a in ("192.0.2.7", "2001:db8::1", "198.51.100.1"))
    assert (inside.network, inside.failed_logins.count, inside.code_sends.count) == ("mairie", 1000, 500)
    assert v6.network == "mairie"
    assert outside.network is None and outside.failed_logins == policy.lockout.per_ip
    assert policy.limits_for_address(None).code_sends == policy.codes.send_limits.per_ip
    path.write_text(text.replace("192.0.2.0/24", "192.0.2.300/24"), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.key == "trusted_networks.0.networks.0"


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10_000) | st.text(max_size=12)
    | st.sampled_from(["5m", "7d", "0s", "-1s", "sms", "voice", "urn:x", "FR", "999.1.1.1/8"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(path=st.lists(st.sampled_from(["codes", "lifetime", "send_limits", "per_ip", "count", "window", "lockout",
                                      "federated", "phones", "allowed_regions", "rules", "0", "when", "set",
                                      "trusted_networks", "acr", "channels", "mobile", "sensitive", "actions"]),
                     min_size=1, max_size=4), value=YAML_VALUES)
def test_any_edit_loads_or_names_its_problem(tmp_path_factory, path, value):
    """An edited policy either loads or raises PolicyError naming the file and a key."""
    import yaml

    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    node = data
    for key in path[:-1]:
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = {}
            if isinstance(node, dict):
                node[key] = child
        node = child
    if isinstance(node, dict):
        node[path[-1]] = value
    target = tmp_path_factory.mktemp("fuzz") / "policy.yaml"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load_policy(target)
    except PolicyError as problem:
        assert problem.file == str(target) and problem.key and problem.problem
