"""`idp init` and what every command does first: load the configuration (:mod:`idp.cli`)."""

from click.testing import CliRunner

from idp.cli import main
from tests.unit.support import json_output as _json


def test_bad_configuration_stops_the_command(tmp_path, monkeypatch):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("oidc:\n  signing_alg: none\n", encoding="utf-8")
    monkeypatch.setenv("IDP_CONFIG", str(overlay))
    result = CliRunner().invoke(main, ["keys", "list"])
    assert result.exit_code != 0
    assert str(overlay) in result.output and "oidc.signing_alg" in result.output


def test_init_demo_creates_the_demo_once(idp):
    first = _json(idp("init", "--demo", "--json"))["demo"]
    assert [a["profile"] for a in first["accounts"]] == ["administrator", "administrator", "user"]
    assert first["client"]["client_id"] == "demo" and first["rncps"]["client_id"] == "rncps"
    again = _json(idp("init", "--demo", "--json"))["demo"]
    assert again == first  # not created twice
