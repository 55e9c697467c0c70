"""`idp accounts update|renew|delete|audit|import|export` (:mod:`idp.cli.accounts_admin`):
the directory's rules from the shell, refusals included."""

import csv
import io
from datetime import date, timedelta

import pytest

from tests.unit.support import json_output as _json

SIRET = "21330063500017"
OTHER_SIRET = "21330063500025"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


@pytest.fixture
def town(idp):
    """An establishment with two services; returns a helper creating accounts in it."""
    idp("establishments", "create", "--siret", SIRET, "--name", "Mairie")
    idp("services", "create", "--code", "pensions", "--name", "Retraites")
    idp("services", "create", "--code", "rncps", "--name", "RNCPS")

    def account(last, first, *extra, siret=SIRET):
        return _json(idp("accounts", "create", "--establishment", siret, "--last-name", last, "--first-name", first,
                         "--email", f"{first}.{last}@mairie.example".lower(), *extra, "--json"))

    return account


def _edit(**changes_by_identifier):
    """Change accounts behind the rules' back (to make what the rules refuse)."""
    from idp import create_app
    from idp.extensions import db
    from idp.models import Account

    with create_app().app_context():
        for identifier, changes in changes_by_identifier.items():
            account = db.session.execute(db.select(Account).filter_by(identifier=identifier)).scalar_one()
            for name, value in changes.items():
                setattr(account, name, value)
        db.session.commit()


def _identifiers(idp, siret=None):
    args = ("--establishment", siret) if siret else ()
    return [a["identifier"] for a in _json(idp("accounts", "list", *args, "--json"))]


# --- update, renew, delete ------------------------------------------------------------------


def test_update_changes_what_is_given_and_says_what_changed(idp, town):
    agent = town("Martin", "Paul", "--phone", "06 12 34 56 78", "--service", "pensions")
    result = _json(idp("accounts", "update", agent["identifier"].lower(), "--email", "P.Martin@Mairie.example",
                       "--phone", "06 98 76 54 32", "--landline", "05 56 00 00 00", "--function", "Agent d'état civil",
                       "--civility", "M", "--until", TOMORROW, "--service", "rncps", "--service", "pensions,rncps",
                       "--json"))
    assert sorted(result["changed"]) == ["civility", "email", "function", "landline", "phone", "services",
                                         "valid_until"]
    account = result["account"]
    assert (account["email"], account["phone"], account["landline"]) == (
        "p.martin@mairie.example", "+33698765432", "+33556000000")
    assert account["services"] == ["pensions", "rncps"] and account["valid_until"] == TOMORROW
    assert _json(idp("accounts", "update", agent["identifier"], "--email", "p.martin@mairie.example",
                     "--json"))["changed"] == []
    unchanged = idp("accounts", "update", agent["identifier"], "--function", "Agent d'état civil").output
    assert "nothing changed" in unchanged
    cleared = _json(idp("accounts", "update", agent["identifier"], "--phone", "", "--landline", "", "--function", "",
                        "--service", "", "--json"))
    assert sorted(cleared["changed"]) == ["function", "landline", "phone", "services"]
    assert cleared["account"]["phone"] is None and cleared["account"]["services"] == []
    assert "nothing to change" in idp("accounts", "update", agent["identifier"], ok=False).output
    assert "no account" in idp("accounts", "update", "XXX999999", "--function", "x", ok=False).output
    assert "no service" in idp("accounts", "update", agent["identifier"], "--service", "nope", ok=False).output


def test_update_refuses_what_the_rules_refuse(idp, town):
    first = town("Durand", "Anne", "--phone", "0611111111")
    second = town("Petit", "Luc")
    output = idp("accounts", "update", second["identifier"], "--email", "accueil@mairie.example", ok=False).output
    assert "generic account" in output and "accueil" in output
    assert "generic account" in idp("accounts", "update", second["identifier"], "--last-name", "Secrétariat",
                                    ok=False).output
    assert "another account" in idp("accounts", "update", second["identifier"], "--phone", "06 11 11 11 11",
                                    ok=False).output
    assert "in the past" in idp("accounts", "update", second["identifier"], "--until", YESTERDAY, ok=False).output
    assert "not a phone number" in idp("accounts", "update", first["identifier"], "--landline", "12", ok=False).output
    # nothing of a refused update was kept
    after = {a["identifier"]: a for a in _json(idp("accounts", "list", "--json"))}[second["identifier"]]
    assert after["email"] == second["email"] and after["last_name"] == "Petit" and after["phone"] is None


def test_demoting_or_expiring_one_of_the_last_administrators_is_refused(idp, town):
    first = town("Martin", "Alice", "--profile", "administrator")
    town("Martin", "Bruno", "--profile", "administrator")
    output = idp("accounts", "update", first["identifier"], "--profile", "user", ok=False).output
    assert "would have 1 administrator(s)" in output and "at least 2" in output
    assert "at least 2" in idp("accounts", "update", first["identifier"], "--until", date.today().isoformat(),
                               "--profile", "user", ok=False).output
    assert _json(idp("accounts", "list", "--json"))[0]["profile"] == "administrator"
    town("Martin", "Chloé", "--profile", "administrator")
    assert _json(idp("accounts", "update", first["identifier"], "--profile", "user", "--json"))["changed"] == [
        "profile"]


def test_renew(idp, town):
    agent = town("Leroy", "Marc")
    _edit(**{agent["identifier"]: {"valid_until": date(2020, 1, 1)}})  # expired (a creation refuses it)
    assert "in the past" in idp("accounts", "renew", agent["identifier"], "--until", YESTERDAY, ok=False).output
    assert "Missing option '--until'" in idp("accounts", "renew", agent["identifier"], ok=False).output
    assert "%Y-%m-%d" in idp("accounts", "renew", agent["identifier"], "--until", "01/01/2030", ok=False).output
    renewed = _json(idp("accounts", "renew", agent["identifier"], "--until", "2031-12-31", "--json"))
    assert renewed["valid_until"] == "2031-12-31"
    assert "valid until 2031-12-31" in idp("accounts", "renew", agent["identifier"], "--until", "2031-12-31").output


def test_delete_needs_yes_and_keeps_the_administrator_minimum(idp, town):
    user = town("Roux", "Léa", "--service", "pensions")
    admin = town("Chef", "Alain", "--profile", "administrator")
    town("Chef", "Berthe", "--profile", "administrator")

    output = idp("accounts", "delete", user["identifier"], ok=False).output
    assert "--yes" in output and f"would delete {user['identifier']}" in output and "1 service rights" in output
    preview = _json(idp("accounts", "delete", user["identifier"], "--json", ok=False))
    assert preview["deleted"] is False and preview["would_delete"]["identifier"] == user["identifier"]
    assert user["identifier"] in _identifiers(idp)

    deleted = _json(idp("accounts", "delete", user["identifier"], "--yes", "--json"))
    assert deleted["deleted"] is True and deleted["linked"]["service_rights"] == 1
    assert user["identifier"] not in _identifiers(idp)
    assert "no account" in idp("accounts", "delete", user["identifier"], "--yes", ok=False).output

    for args in ((), ("--yes",)):
        output = idp("accounts", "delete", admin["identifier"], *args, ok=False).output
        assert "at least 2" in output
    assert admin["identifier"] in _identifiers(idp)


# --- audit ----------------------------------------------------------------------------------


def test_audit_finds_each_category(idp, town):
    idp("establishments", "create", "--siret", OTHER_SIRET, "--name", "Syndicat")
    admins = [town("Martin", name, "--profile", "administrator", "--phone", phone)
              for name, phone in (("Alice", "0611000001"), ("Bruno", "0611000002"))]
    generic = town("Nommé", "Agent", "--phone", "0611000003")
    no_phone = town("Sans", "Téléphone")
    sharing = [town("Partage", name, "--phone", phone) for name, phone in (("Un", "0611000004"),
                                                                          ("Deux", "0611000005"))]
    expired = town("Passé", "Pierre", "--phone", "0611000006")
    locked = town("Bloqué", "Bob", "--phone", "0611000007")
    lonely_admin = town("Seul", "Sam", "--profile", "administrator", "--phone", "0611000008", siret=OTHER_SIRET)
    _edit(**{generic["identifier"]: {"email": "accueil@mairie.example"},
             sharing[1]["identifier"]: {"phone": "+33611000004"},
             locked["identifier"]: {"status": "locked"},
             expired["identifier"]: {"valid_until": date(2020, 6, 30)}})

    report = _json(idp("accounts", "audit", "--json"))
    assert [e["identifier"] for e in report["generic"]] == [generic["identifier"]]
    assert "accueil" in report["generic"][0]["problem"]
    assert [e["identifier"] for e in report["without_phone"]] == [no_phone["identifier"]]
    assert report["shared_numbers"] == [{"phone": "+33611000004",
                                         "identifiers": sorted(a["identifier"] for a in sharing)}]
    assert report["establishments_below_minimum"] == [
        {"siret": OTHER_SIRET, "name": "Syndicat", "administrators": 1, "minimum": 2}]
    assert [(e["identifier"], e["valid_until"]) for e in report["expired"]] == [(expired["identifier"], "2020-06-30")]
    assert [e["identifier"] for e in report["locked"]] == [locked["identifier"]]
    assert report["accounts"] == 9 and admins

    text = idp("accounts", "audit").output
    for heading in ("Generic accounts: 1", "Accounts without a phone: 1", "Shared numbers (sharing not allowed",
                    "Establishments below 2 usable administrator(s): 1", "Expired accounts: 1", "Locked accounts: 1"):
        assert heading in text
    assert "+33611000004: " in text and OTHER_SIRET in text

    other = _json(idp("accounts", "audit", "--establishment", OTHER_SIRET, "--json"))
    assert other["accounts"] == 1 and other["generic"] == other["shared_numbers"] == other["locked"] == []
    assert [e["siret"] for e in other["establishments_below_minimum"]] == [OTHER_SIRET]
    assert lonely_admin["identifier"] not in str(other["without_phone"])
    mine = _json(idp("accounts", "audit", "--establishment", SIRET, "--json"))
    assert mine["establishments_below_minimum"] == [] and len(mine["shared_numbers"]) == 1


def test_audit_of_a_clean_directory_says_none(idp, town):
    text = idp("accounts", "audit").output
    assert "Audit of 0 account(s)" in text and "Generic accounts: 0 (none)" in text
    assert "no establishment" in idp("accounts", "audit", "--establishment", OTHER_SIRET, ok=False).output


# --- import and export ----------------------------------------------------------------------

HEADER = "civility,last_name,first_name,email,phone,landline,function,profile,services,valid_until\n"


def _write(tmp_path, text, name="accounts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _stored(identifiers):
    """Accounts as stored, password hash included (the commands never print it)."""
    from idp import create_app
    from idp.extensions import db
    from idp.models import Account

    with create_app().app_context():
        found = db.session.execute(db.select(Account).where(Account.identifier.in_(identifiers))).scalars()
        return {a.identifier: (a.password_hash, a.landline, a.function, a.service_codes) for a in found}


def test_import_creates_every_row_without_passwords(idp, town, tmp_path):
    path = _write(tmp_path, HEADER
                  + "Mme,Dupont,Jeanne,Jeanne.Dupont@mairie.example,06 20 00 00 01,05 56 00 00 01,Secrétaire générale,"
                    "administrator,pensions rncps,\n"
                  + "\n"
                  + f"M,Dumas,Jules,jules.dumas@mairie.example,,,,,\"pensions, rncps\",{TOMORROW}\n"
                  + "M,Durand,Hugo,hugo.durand@mairie.example,06 20 00 00 03,,,user,,\n")
    dry = _json(idp("accounts", "import", path, "--establishment", SIRET, "--dry-run", "--json"))
    assert dry["created"] == [] and dry["rejected"] == [] and dry["dry_run"] is True
    assert dry["would_create"] == ["JDU000001", "JDU000002", "HDU000001"]
    assert _identifiers(idp) == []
    text = idp("accounts", "import", path, "--establishment", SIRET, "--dry-run").output
    assert "Dry run, nothing written: 3 of 3 row(s)" in text and "line 4: JDU000002" in text
    assert _identifiers(idp) == []

    result = _json(idp("accounts", "import", path, "--establishment", SIRET, "--json"))
    assert result["created"] == ["JDU000001", "JDU000002", "HDU000001"] and result["rejected"] == []
    listed = {a["identifier"]: a for a in _json(idp("accounts", "list", "--json"))}
    assert listed["JDU000001"]["profile"] == "administrator" and listed["JDU000001"]["phone"] == "+33620000001"
    assert listed["JDU000002"]["services"] == ["pensions", "rncps"] and listed["JDU000002"]["valid_until"] == TOMORROW
    assert listed["HDU000001"]["email"] == "hugo.durand@mairie.example"
    from idp import create_app
    from idp.extensions import db
    from idp.models import AuditEvent

    with create_app().app_context():
        events = db.session.execute(db.select(AuditEvent).filter_by(event="account.imported")).scalars().all()
        assert [(e.detail["actor"], e.detail["identifiers"]) for e in events] == [("cli", result["created"])]
    stored = _stored(result["created"])
    assert all(password_hash is None for password_hash, *_ in stored.values())
    assert stored["JDU000001"][1:] == ("+33556000001", "Secrétaire générale", ["pensions", "rncps"])


def test_import_is_all_or_nothing_with_a_line_by_line_report(idp, town, tmp_path):
    town("Existant", "Eric", "--phone", "0630000000")
    path = _write(tmp_path, HEADER
                  + "Mme,Dupont,Jeanne,jeanne.dupont@mairie.example,0620000001,,,,pensions,\n"  # line 2: fine
                  + "M,Accueil,Mairie,accueil@mairie.example,,,,,,\n"                           # 3: generic
                  + "M,Dumas,Jules,JEANNE.DUPONT@mairie.example,,,,,,\n"                         # 4: same email as 2
                  + "M,Durand,Hugo,hugo@mairie.example,06 20 00 00 01,,,,,\n"                    # 5: same phone as 2
                  + "M,Leroy,Marc,marc@mairie.example,0630000000,,,,,\n"                         # 6: phone taken
                  + "M,Blanc,Léo,leo@mairie.example,,,,,nope,\n"                                # 7: no service
                  + "M,Noir,Lia,lia@mairie.example,,,,,,31/12/2030\n"                           # 8: bad date
                  + "X,Vert,Max,max@mairie.example,,,,user,,\n"                                  # 9: civility
                  + "M,Gris,Zoé,zoe@mairie.example,,,,\n"                                        # 10: 8 fields
                  + "M,Brun,Noé,noe@mairie.example,,,,,,\n")                                     # 11: fine
    before = _identifiers(idp)
    for extra in ((), ("--dry-run",)):
        result = _json(idp("accounts", "import", path, "--establishment", SIRET, "--json", *extra, ok=False))
        assert result["created"] == []
        problems = {r["line"]: r["problem"] for r in result["rejected"]}
        assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9, 10]
        assert problems[3].startswith("generic account")
        assert "same email as line 2" in problems[4] and "same phone as line 2" in problems[5]
        assert "another account" in problems[6] and "no service" in problems[7]
        assert "YYYY-MM-DD" in problems[8] and "civility" in problems[9] and "8 field(s)" in problems[10]
        assert _identifiers(idp) == before
    assert result["would_create"] == ["JDU000001", "NBR000001"]

    text = idp("accounts", "import", path, "--establishment", SIRET, ok=False).output
    assert "8 of 10 row(s) rejected; nothing was written" in text
    assert "  line 3: generic account" in text and "  line 9: civility" in text
    assert _identifiers(idp) == before

    # one bad row, last: the good rows before it are not kept either
    last_bad = _write(tmp_path, HEADER + "M,Brun,Noé,noe@mairie.example,,,,,,\n"
                      + "Mme,Dupont,Jeanne,jeanne@mairie.example,,,,,,\n"
                      + "M,Standard,Tel,tel@mairie.example,,,,,,\n", name="last.csv")
    result = _json(idp("accounts", "import", last_bad, "--establishment", SIRET, "--json", ok=False))
    assert [r["line"] for r in result["rejected"]] == [4] and result["created"] == []
    assert _identifiers(idp) == before


def test_import_refuses_unreadable_files_cleanly(idp, town, tmp_path):
    def refused(text, name="bad.csv"):
        return idp("accounts", "import", _write(tmp_path, text, name), "--establishment", SIRET, ok=False).output

    assert "missing column(s) email" in refused("last_name,first_name\nA,B\n")
    assert "unknown column(s) 'mail'" in refused("last_name,first_name,mail\nA,B,c@d.example\n")
    assert "no rows to import" in refused(HEADER)
    assert "empty file" in refused("")
    assert "no establishment" in idp("accounts", "import", _write(tmp_path, HEADER), "--establishment",
                                     OTHER_SIRET, ok=False).output
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("last_name,first_name,email\nBérénice,Zoé,z@mairie.example\n".encode("latin-1"))
    assert "not UTF-8" in idp("accounts", "import", str(latin1), "--establishment", SIRET, ok=False).output
    # a spreadsheet's CSV: semicolons, a BOM, a CRLF and capitalised headers
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes("\ufeffLast Name;First-Name;Email;Services\r\nMoreau;Inès;ines@mairie.example;pensions,rncps\r\n"
                      .encode("utf-8"))
    created = _json(idp("accounts", "import", str(sheet), "--establishment", SIRET, "--json"))["created"]
    assert _json(idp("accounts", "list", "--json"))[0]["services"] == ["pensions", "rncps"] and len(created) == 1
    # an export's identifier column: an account that exists is refused (update it instead)
    output = refused(f"identifier,last_name,first_name,email\n{created[0]},Moreau,Inès,autre@mairie.example\n")
    assert f"account {created[0]} exists already" in output


def test_export_then_import_elsewhere_gives_the_same_rows(idp, town, tmp_path, monkeypatch):
    town("Dupont", "Jeanne", "--profile", "administrator", "--civility", "Mme", "--phone", "0620000001",
         "--function", "Secrétaire, générale", "--service", "rncps", "--service", "pensions",
         "--valid-until", "2031-01-31")
    second = town("Dumas", "Jules")
    idp("accounts", "update", second["identifier"], "--landline", "05 56 00 00 02")
    exported = idp("accounts", "export", "--establishment", SIRET).output
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == ["identifier", "civility", "last_name", "first_name", "email", "phone", "landline",
                             "function", "profile", "services", "valid_until", "status"]
    assert rows[0]["services"] == "pensions rncps" and rows[0]["function"] == "Secrétaire, générale"
    assert rows[1]["landline"] == "+33556000002" and rows[1]["status"] == "active" and rows[1]["valid_until"] == ""
    as_json = _json(idp("accounts", "export", "--establishment", SIRET, "--json"))
    assert [r["identifier"] for r in as_json] == [r["identifier"] for r in rows]
    assert as_json[0]["services"] == ["pensions", "rncps"] and as_json[1]["phone"] is None
    path = _write(tmp_path, exported, "export.csv")

    # a second, empty instance with the same establishment and services
    overlay = tmp_path / "other.yaml"
    overlay.write_text(f"instance_path: {tmp_path / 'other'}\ndatabase_url: sqlite:///{tmp_path / 'other.sqlite3'}\n",
                       encoding="utf-8")
    monkeypatch.setenv("IDP_CONFIG", str(overlay))
    idp("init")
    idp("establishments", "create", "--siret", SIRET, "--name", "Mairie")
    for code in ("pensions", "rncps"):
        idp("services", "create", "--code", code, "--name", code)
    assert _identifiers(idp) == []
    result = _json(idp("accounts", "import", path, "--establishment", SIRET, "--json"))
    assert result["created"] == [r["identifier"] for r in rows]
    assert idp("accounts", "export", "--establishment", SIRET).output == exported


def test_export_needs_an_establishment(idp, town):
    assert "Missing option '--establishment'" in idp("accounts", "export", ok=False).output
    assert idp("accounts", "export", "--establishment", SIRET).output == (
        "identifier,civility,last_name,first_name,email,phone,landline,function,profile,services,valid_until,status\n")
    assert _json(idp("accounts", "export", "--establishment", SIRET, "--json")) == []
