"""MFA policy files from the shell: check, explain, test (no database needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import emit, json_option, main


@main.group()
def policy() -> None:
    """Check, explain and test MFA policy files (no database needed)."""


def _policy_path(path: Path | None) -> Path:
    if path is not None:
        return path
    from ..config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return settings.path(settings.policy_file)


def _load_policy(path: Path | None):
    from ..policy import PolicyError, load_policy

    try:
        return load_policy(_policy_path(path))
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


policy_option = click.option(
    "--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Policy file (default: the configuration's policy_file).",
)


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def policy_check(file: Path, as_json: bool) -> None:
    """Validate FILE: exit status 1 with file, line, key and problem if it is invalid."""
    from ..policy import PolicyError, load_policy

    try:
        loaded = load_policy(file)
    except PolicyError as exc:
        if as_json:
            click.echo(json.dumps({"valid": False, "file": exc.file, "line": exc.line,
                                   "key": exc.key, "problem": exc.problem}))
            sys.exit(1)
        raise click.ClickException(str(exc)) from None
    emit(as_json, {"valid": True, "file": str(file), "rules": len(loaded.rules)},
          f"{file}: valid ({len(loaded.rules)} rules)")


@policy.command("explain")
@policy_option
@click.option("--context", "context_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of context values; options below override it.")
@click.option("--action")
@click.option("--login-method", type=click.Choice(["local", "federated"]))
@click.option("--profile", type=click.Choice(["administrator", "user"]))
@click.option("--client")
@click.option("--service")
@click.option("--establishment")
@click.option("--first-login", is_flag=True, default=None)
@click.option("--trusted-device-age", help="Age of the browser's trusted device, e.g. 3d.")
@click.option("--code-in-session", is_flag=True, default=None)
@click.option("--requested-acr")
@json_option
def policy_explain(policy_file, context_file, as_json, **options) -> None:
    """Show the decision for a context and the rules that produced it."""
    import yaml

    from ..policy import evaluate
    from ..policy.scenarios import context_from

    values = yaml.safe_load(context_file.read_text(encoding="utf-8")) if context_file else {}
    if not isinstance(values, dict):
        raise click.ClickException(f"{context_file}: must be a mapping of context values")
    values.update({k: v for k, v in options.items() if v is not None})
    try:
        context = context_from(values)
    except (TypeError, ValueError) as exc:
        raise click.ClickException(f"context: {exc}") from None
    decision = evaluate(_load_policy(policy_file), context)
    data = {
        "require_code": decision.require_code,
        "acr": decision.acr,
        "trusted_device_lifetime": int(decision.trusted_device_lifetime.total_seconds()),
        "code_lifetime": int(decision.code_lifetime.total_seconds()),
        "trace": list(decision.trace),
    }
    emit(as_json, data, decision.explain())


@policy.command("test")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@policy_option
@json_option
def policy_test(directory: Path, policy_file, as_json: bool) -> None:
    """Run the scenario files (*.yaml) in DIRECTORY against the policy."""
    from ..policy.scenarios import ScenarioError, load_scenarios, run

    loaded = _load_policy(policy_file)
    scenarios = []
    try:
        for path in sorted(directory.glob("*.yaml")):
            scenarios.extend(load_scenarios(path))
    except ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    failures = run(loaded, scenarios)
    data = {
        "scenarios": len(scenarios),
        "failed": [
            {"file": s.file, "line": s.line, "name": s.name, "problems": problems,
             "trace": list(decision.trace)}
            for s, problems, decision in failures
        ],
    }
    lines = [f"{len(scenarios) - len(failures)} passed, {len(failures)} failed"]
    for s, problems, decision in failures:
        lines.append(f"FAIL {s.file}:{s.line} {s.name}: {'; '.join(problems)}")
        lines.extend(f"    {step}" for step in decision.trace)
    emit(as_json, data, "\n".join(lines))
    if failures or not scenarios:
        sys.exit(1)
