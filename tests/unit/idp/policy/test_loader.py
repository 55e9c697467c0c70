"""The policy engine, its validation and its reloading; the default policy's scenarios."""

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.cli import main
from idp.policy import Context, PolicyError, evaluate, load_policy
from idp.policy.scenarios import load_scenarios, mismatches
from idp.policy_store import PolicyStore

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "policies" / "default.yaml"
SCENARIOS = [s for path in sorted((ROOT / "policies" / "scenarios").glob("*.yaml")) for s in load_scenarios(path)]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_default_policy_scenarios(scenario):
    decision = evaluate(load_policy(DEFAULT), scenario.context)
    assert mismatches(decision, scenario.expect) == [], decision.explain()


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


def _edited(tmp_path, old, new):
    text = DEFAULT.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old, new, key, problem",
    [
        ("  length: 6 ", "  length: 4 ", "codes.length", "greater than or equal to 6"),
        ("  lifetime: 5m ", "  lifetime: soon ", "codes.lifetime", "duration"),
        ("  mobile: sms", "  mobile: pigeon", "channels.mobile", "'sms' or 'voice'"),
        ("    max_failures: 5      # password", "    max_failure: 5      # password", "lockout.local.max_failure",
         "not a known key"),
        ("      profile: administrator", "      profile: admin", "rules.0.when.profile", "administrator"),
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


def test_a_missing_section_is_reported(tmp_path):
    text = DEFAULT.read_text(encoding="utf-8").replace("trusted_device:\n  lifetime: 7d", "")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="trusted_device: is required"):
        load_policy(path)


def test_edits_are_picked_up_and_a_bad_edit_never_weakens_the_policy(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT.read_text(encoding="utf-8"), encoding="utf-8")
    store = PolicyStore(path)
    assert store.current().lockout.local.max_failures == 5

    path.write_text(path.read_text().replace("max_failures: 5      # password", "max_failures: 3      # password"))
    assert store.current().lockout.local.max_failures == 3

    path.write_text(path.read_text().replace("max_failures: 3      # password", "max_failures: none   # password"))
    assert store.current().lockout.local.max_failures == 3  # the last valid policy holds
    assert store.last_error is not None and store.last_error.key == "lockout.local.max_failures"

    path.unlink()
    assert store.current().lockout.local.max_failures == 3


def test_rules_can_target_an_establishment_and_a_client(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(DEFAULT.read_text(encoding="utf-8") + """
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


def test_cli_check_explain_and_test(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["policy", "check", str(DEFAULT)])
    assert ok.exit_code == 0 and "valid" in ok.output

    bad = _edited(tmp_path, "  length: 6 ", "  length: 4 ")
    result = runner.invoke(main, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:12: codes.length" in result.output

    explained = runner.invoke(main, ["policy", "explain", "--policy", str(DEFAULT), "--service", "rncps",
                                     "--trusted-device-age", "1h"])
    assert explained.exit_code == 0
    assert "require_code: true" in explained.output and "service rncps requires" in explained.output

    context = tmp_path / "context.yaml"
    context.write_text("profile: administrator\ntrusted_device_age: 3h\n")
    explained = runner.invoke(
        main, ["policy", "explain", "--policy", str(DEFAULT), "--context", str(context), "--json"]
    )
    assert '"require_code": false' in explained.output

    passed = runner.invoke(main, ["policy", "test", str(ROOT / "policies" / "scenarios"), "--policy", str(DEFAULT)])
    assert passed.exit_code == 0 and f"{len(SCENARIOS)} passed, 0 failed" in passed.output

    weakened = _edited(tmp_path, "    - rncps", "    - nothing")
    failed = runner.invoke(main, ["policy", "test", str(ROOT / "policies" / "scenarios"), "--policy", str(weakened)])
    assert failed.exit_code == 1
    assert "FAIL" in failed.output and "RNCPS service needs a code" in failed.output
