"""Policy scenarios: files of contexts with the decision a security team expects.

Each file holds a list of ``{name, context, expect}`` entries; ``expect`` may name
``require_code``, ``acr``, ``trusted_device_lifetime`` and ``code_lifetime``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from ..durations import parse_duration
from ..yamlfile import FileProblem, key_lines
from .engine import Context, Decision, evaluate
from .model import Policy

EXPECTABLE = ("require_code", "acr", "trusted_device_lifetime", "code_lifetime")


class ScenarioError(FileProblem):
    """A malformed scenario file."""


@dataclass(frozen=True)
class Scenario:
    file: str
    line: int | None
    name: str
    context: Context
    expect: dict[str, Any]


def context_from(data: dict[str, Any]) -> Context:
    """Build a :class:`Context` from plain values (durations as ``2d``); ValueError if bad."""
    known = {f.name for f in fields(Context)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown context keys: {', '.join(sorted(unknown))}")
    values = dict(data)
    if values.get("trusted_device_age") is not None:
        values["trusted_device_age"] = parse_duration(values["trusted_device_age"])
    return Context(**values)


def load_scenarios(path: Path) -> list[Scenario]:
    try:
        text = path.read_text(encoding="utf-8")
        entries = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(str(path), "(file)", f"cannot be read: {exc}") from None
    if not isinstance(entries, list):
        raise ScenarioError(str(path), "(file)", "must be a list of scenarios")
    lines = key_lines(text)
    scenarios = []
    for index, entry in enumerate(entries):
        line = lines.get((index,))
        if not isinstance(entry, dict) or not {"name", "context", "expect"} <= entry.keys():
            raise ScenarioError(str(path), f"[{index}]", "needs name, context and expect", line)
        bad = set(entry["expect"]) - set(EXPECTABLE)
        if bad:
            raise ScenarioError(str(path), f"[{index}].expect", f"unknown keys {sorted(bad)}", line)
        try:
            context = context_from(entry["context"] or {})
        except (TypeError, ValueError) as exc:
            raise ScenarioError(str(path), f"[{index}].context", str(exc), line) from None
        scenarios.append(Scenario(str(path), line, str(entry["name"]), context, entry["expect"]))
    return scenarios


def mismatches(decision: Decision, expect: dict[str, Any]) -> list[str]:
    problems = []
    for key, wanted in expect.items():
        actual = getattr(decision, key)
        if key.endswith("lifetime"):
            wanted = parse_duration(wanted)
        if actual != wanted:
            problems.append(f"{key}: expected {wanted}, got {actual}")
    return problems


def run(policy: Policy, scenarios: list[Scenario]) -> list[tuple[Scenario, list[str], Decision]]:
    """Evaluate every scenario; return the failures with the decision's trace."""
    failures = []
    for scenario in scenarios:
        decision = evaluate(policy, scenario.context)
        problems = mismatches(decision, scenario.expect)
        if problems:
            failures.append((scenario, problems, decision))
    return failures
