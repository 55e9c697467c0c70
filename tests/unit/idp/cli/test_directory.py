"""`idp establishments`, `idp services`, `idp accounts` and `idp clients`: the directory
from the shell (:mod:`idp.cli.directory`)."""

import re

from tests.unit.support import json_output as _json


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
    repeated = _json(idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Roux",
                         "--first-name", "Léa", "--email", "lea@mairie.example", "--service", "pensions",
                         "--service", "pensions", "--json"))
    assert repeated["services"] == ["pensions"]

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


def test_numbers_abroad_are_refused_with_a_clear_message(idp):
    idp("establishments", "create", "--siret", "21330063500017", "--name", "Mairie")
    for number in ("+7 916 123 45 67", "+1 268 464 1234", "+234 802 123 4567"):
        output = idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Loin",
                     "--first-name", "Léa", "--email", "lea@mairie.example", "--phone", number, ok=False).output
        assert "cannot receive codes" in output and "region" in output
    created = _json(idp("accounts", "create", "--establishment", "21330063500017", "--last-name", "Proche",
                        "--first-name", "Léo", "--email", "leo@mairie.example", "--phone", "0596 71 12 34",
                        "--json"))
    assert "refused" not in str(created)
    assert "cannot receive codes" in idp("accounts", "set-phone", created["identifier"], "+7 916 123 45 67",
                                         ok=False).output
