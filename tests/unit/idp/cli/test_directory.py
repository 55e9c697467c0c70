"""The `idp` command, run as a script would, against a throwaway SQLite instance."""

import json
import re

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


def _json(result):
    return json.loads(result.stdout)


def test_establishment_account_and_client(idp, tmp_path):
    assert "Luhn" in idp("establishments", "create", "--siret", "21330063500018", "--name", "X", ok=False).output
    idp("establishments", "create", "--siret", "213 300 635 00017", "--name", "Mairie")
    idp("services", "create", "--code", "pensions", "--name", "Retraites")
    account = _json(idp(
        "accounts", "create", "--establishment", "21330063500017", "--profile", "administrator",
        "--last-name", "Dupont", "--first-name", "Jeanne", "--email", "Jeanne.Dupont@Mairie.example",
        "--service", "pensions", "--json",
    ))
    assert re.fullmatch(r"JDU\d{6}", account["identifier"])
    assert account["email"] == "jeanne.dupont@mairie.example"
    assert len(account["password"]) >= 12
    second = _json(idp(
        "accounts", "create", "--establishment", "21330063500017", "--last-name", "Dumas",
        "--first-name", "Jules", "--email", "jules@mairie.example", "--password", "a long enough one", "--json",
    ))
    assert second["identifier"] == "JDU000002" and "password" not in second
    assert "at least 12" in idp(
        "accounts", "create", "--establishment", "21330063500017", "--last-name", "A",
        "--first-name", "B", "--email", "b@mairie.example", "--password", "short", ok=False,
    ).output
    listed = _json(idp("accounts", "list", "--json"))
    assert [a["identifier"] for a in listed] == [account["identifier"], "JDU000002"]

    client = _json(idp(
        "clients", "create", "--name", "RP", "--service", "pensions",
        "--redirect-uri", "https://rp.example.test/cb", "--json",
    ))
    assert len(client["client_secret"]) >= 40
    assert client["client_secret"] not in idp("clients", "list", "--json").output
    database = (tmp_path / "cli.sqlite3").read_bytes()
    assert client["client_secret"].encode() not in database
    assert "https" in idp(
        "clients", "create", "--name", "Bad", "--redirect-uri", "http://rp.example.test/cb", ok=False
    ).output


def test_keys_rotate_and_list(idp):
    before = _json(idp("keys", "list", "--json"))
    assert len(before) == 1 and before[0]["signing"]
    rotated = _json(idp("keys", "rotate", "--json"))
    after = {k["kid"]: k for k in _json(idp("keys", "list", "--json"))}
    assert after[rotated["kid"]]["signing"]
    old = after[before[0]["kid"]]
    assert not old["signing"] and old["published"] and old["publish_until"]


def test_bad_configuration_stops_the_command(tmp_path, monkeypatch):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("oidc:\n  signing_alg: none\n", encoding="utf-8")
    monkeypatch.setenv("IDP_CONFIG", str(overlay))
    result = CliRunner().invoke(main, ["keys", "list"])
    assert result.exit_code != 0
    assert str(overlay) in result.output and "oidc.signing_alg" in result.output


def test_unlock_set_phone_and_wipe_phones(idp):
    idp("establishments", "create", "--siret", "21330063500017", "--name", "Mairie")
    first = _json(idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Un",
                      "--first-name", "Agent", "--email", "un@mairie.example", "--phone", "06 11 11 11 11", "--json"))
    assert first["phone"] == "+33611111111"
    second = _json(idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Deux",
                       "--first-name", "Agent", "--email", "deux@mairie.example", "--json"))
    assert "another account" in idp("accounts", "set-phone", second["identifier"], "0611111111", ok=False).output
    changed = _json(idp("accounts", "set-phone", second["identifier"], "05 56 11 14 14", "--json"))
    assert changed["phone"] == "+33556111414"
    assert _json(idp("accounts", "unlock", first["identifier"], "--json"))["status"] == "active"
    assert _json(idp("accounts", "wipe-phones", "--json")) == {"would_wipe": 2}
    assert _json(idp("accounts", "wipe-phones", "--yes", "--json")) == {"wiped": 2}
    assert all(a["phone"] is None for a in _json(idp("accounts", "list", "--json")))


def test_init_demo_creates_the_demo_once(idp):
    first = _json(idp("init", "--demo", "--json"))["demo"]
    assert [a["profile"] for a in first["accounts"]] == ["administrator", "administrator", "user"]
    assert first["client"]["client_id"] == "demo" and first["rncps"]["client_id"] == "rncps"
    again = _json(idp("init", "--demo", "--json"))["demo"]
    assert again == first  # not created twice


def test_administrators_see_and_remove_upstream_links(idp, tmp_path):
    from idp import create_app
    from idp.extensions import db
    from idp.models import Account, UpstreamLink

    idp("establishments", "create", "--siret", "21330063500017", "--name", "Mairie")
    account = _json(idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Lien",
                        "--first-name", "Lou", "--email", "lou@mairie.example", "--json"))
    app = create_app()
    with app.app_context():
        account_id = db.session.execute(db.select(Account.id)).scalar_one()
        db.session.add(UpstreamLink(issuer="https://ne.example", subject="u-1", account_id=account_id))
        db.session.commit()
    links = _json(idp("accounts", "links", account["identifier"], "--json"))
    assert [(link["issuer"], link["sub"]) for link in links] == [("https://ne.example", "u-1")]
    assert "no such link" in idp("accounts", "unlink", account["identifier"], "--issuer", "https://ne.example",
                                 "--sub", "u-2", ok=False).output
    idp("accounts", "unlink", account["identifier"], "--issuer", "https://ne.example", "--sub", "u-1")
    assert _json(idp("accounts", "links", account["identifier"], "--json")) == []
