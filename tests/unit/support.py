"""What several unit test modules share: the project's files and ways to edit a copy of them."""

from __future__ import annotations

import json
from pathlib import Path

from idp.policy.scenarios import Scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = ROOT / "policies" / "default.yaml"
SCENARIO_DIR = ROOT / "policies" / "scenarios"


def default_scenarios() -> list[Scenario]:
    return [s for path in sorted(SCENARIO_DIR.glob("*.yaml")) for s in load_scenarios(path)]


def edited_policy(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the default policy with ``old`` replaced by ``new``."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def json_output(result):
    """The JSON a command printed with ``--json``."""
    return json.loads(result.stdout)
