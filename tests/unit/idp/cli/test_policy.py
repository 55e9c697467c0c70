"""`idp policy check`, `explain` and `test` (:mod:`idp.cli.policy`)."""

from click.testing import CliRunner

from idp.cli import main
from tests.unit.support import DEFAULT_POLICY as DEFAULT
from tests.unit.support import ROOT, default_scenarios
from tests.unit.support import edited_policy as _edited

SCENARIOS = default_scenarios()


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
