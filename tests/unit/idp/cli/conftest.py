"""The `idp` command, run as a script would, against a throwaway SQLite instance."""

import pytest
from click.testing import CliRunner

from idp.cli import main


@pytest.fixture
def idp(tmp_path, monkeypatch):
    overlay = tmp_path / "cli.yaml"
    overlay.write_text(
        f"instance_path: {tmp_path / 'instance'}\ndatabase_url: sqlite:///{tmp_path / 'cli.sqlite3'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("IDP_CONFIG", str(overlay))
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) is ok, result.output
        return result

    run("init")
    return run
