"""The default policy's scenarios, and how scenario files are read and compared
(:mod:`idp.policy.scenarios`)."""

from datetime import timedelta

import pytest

from idp.policy import Context, Decision, evaluate, load_policy
from idp.policy.scenarios import ScenarioError, load_scenarios, mismatches, run
from tests.unit.support import DEFAULT_POLICY as DEFAULT
from tests.unit.support import default_scenarios

SCENARIOS = default_scenarios()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_default_policy_scenarios(scenario):
    decision = evaluate(load_policy(DEFAULT), scenario.context)
    assert mismatches(decision, scenario.expect) == [], decision.explain()


def _scenario_file(tmp_path, text):
    path = tmp_path / "scenarios.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_file_is_read_with_its_lines_and_durations(tmp_path):
    path = _scenario_file(tmp_path, """\
- name: first
  context: {profile: administrator, trusted_device_age: 3h}
  expect: {require_code: false, trusted_device_lifetime: 1d}
- name: second
  context: {}
  expect: {acr: urn:peps:acr:mfa}
""")
    first, second = load_scenarios(path)
    assert (first.name, first.line, first.file) == ("first", 1, str(path))
    assert first.context == Context(profile="administrator", trusted_device_age=timedelta(hours=3))
    assert (second.name, second.line, second.context) == ("second", 4, Context())


@pytest.mark.parametrize("text, key, problem", [
    ("name: not a list\n", "(file)", "must be a list"),
    ("- [unclosed\n", "(file)", "cannot be read"),
    ("- name: x\n  context: {}\n", "[0]", "needs name, context and expect"),
    ("- name: x\n  context: {}\n  expect: {colour: red}\n", "[0].expect", "unknown keys ['colour']"),
    ("- name: x\n  context: {weather: rain}\n  expect: {}\n", "[0].context", "unknown context keys: weather"),
    ("- name: x\n  context: {trusted_device_age: soon}\n  expect: {}\n", "[0].context", "duration"),
])
def test_a_malformed_scenario_file_names_the_entry_and_the_problem(tmp_path, text, key, problem):
    path = _scenario_file(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenarios(path)
    assert caught.value.file == str(path) and caught.value.key == key
    assert problem in caught.value.problem


def test_mismatches_name_each_difference_and_read_durations():
    decision = Decision(True, "urn:peps:acr:mfa", timedelta(days=7), timedelta(minutes=5))
    assert mismatches(decision, {"require_code": True, "trusted_device_lifetime": "7d", "code_lifetime": 300}) == []
    assert mismatches(decision, {"require_code": False, "acr": "urn:peps:acr:pwd", "code_lifetime": "10m"}) == [
        "require_code: expected False, got True",
        "acr: expected urn:peps:acr:pwd, got urn:peps:acr:mfa",
        "code_lifetime: expected 0:10:00, got 0:05:00",
    ]


def test_run_returns_only_the_failures(tmp_path):
    path = _scenario_file(tmp_path, """\
- name: passes
  context: {first_login: true}
  expect: {require_code: true}
- name: fails
  context: {first_login: true}
  expect: {require_code: false}
""")
    failures = run(load_policy(DEFAULT), load_scenarios(path))
    assert [(scenario.name, problems) for scenario, problems, _ in failures] == [
        ("fails", ["require_code: expected False, got True"])]
    assert "first login: a code is required" in failures[0][2].trace
