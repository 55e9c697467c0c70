"""The directory's rules: SIRET checks and generated identifiers (:mod:`idp.directory`)."""

import pytest

from idp.directory import AccountError, check_siret, create_account, create_establishment, luhn_valid, new_identifier
from idp.extensions import db


@pytest.mark.parametrize("digits, valid", [
    ("21330063500017", True),
    ("21330063500018", False),
    ("21330063500025", True),
    ("35600000000048", True),
    ("0", True),
    ("18", True),
    ("17", False),
    ("79927398713", True),   # the classic example
    ("79927398710", False),
])
def test_luhn(digits, valid):
    assert luhn_valid(digits) is valid


def test_luhn_catches_every_single_digit_error_and_swapped_neighbours():
    siret = "21330063500017"
    for position in range(len(siret)):
        for digit in "0123456789":
            if digit != siret[position]:
                assert not luhn_valid(siret[:position] + digit + siret[position + 1:])
    assert not luhn_valid("23130063500017")  # the second and third digits swapped
    assert not luhn_valid("12330063500017")  # the first two swapped


@pytest.mark.parametrize("text", ["21330063500017", "213 300 635 00017", " 21330063500017\n", "213\t30063500017"])
def test_check_siret_returns_the_fourteen_digits(text):
    assert check_siret(text) == "21330063500017"


@pytest.mark.parametrize("text", [
    "21330063500018",     # fails the Luhn check
    "2133006350001",      # 13 digits
    "213300635000170",    # 15 digits, passing Luhn
    "2133006350001A",
    "21330-063500017",
    "",
    "000000000000000",
])
def test_check_siret_refuses_and_names_the_rule(text):
    with pytest.raises(AccountError, match="14 digits passing the Luhn check"):
        check_siret(text)


def test_an_account_error_is_a_value_error():
    assert issubclass(AccountError, ValueError)


def _account(establishment, first_name, last_name, n):
    return create_account(establishment, profile="user", first_name=first_name, last_name=last_name,
                          email=f"agent{n}@mairie.example")


def test_new_identifier_prefix_rules(app):
    with app.app_context():
        assert new_identifier("Jeanne", "Dupont") == "JDU000001"
        assert new_identifier("jeanne", "dupont") == "JDU000001"      # upper case
        assert new_identifier("Élodie", "Ôzil") == "EOZ000001"        # accents dropped
        assert new_identifier("Jean-Luc", "O'Neil") == "JON000001"    # only letters count
        assert new_identifier("Anne Marie", "Le Gall") == "ALE000001"
        assert new_identifier("Li", "Y") == "LYX000001"               # padded with X
        assert new_identifier("Ø", "Ø") == "XXX000001"
        assert new_identifier("李", "王") == "XXX000001"


def test_new_identifier_counts_per_prefix_from_the_highest_number(app):
    with app.app_context():
        establishment = create_establishment("21330063500017", "Mairie")
        first = _account(establishment, "Jeanne", "Dupont", 1)
        assert first.identifier == "JDU000001"
        assert _account(establishment, "Jules", "Dumas", 2).identifier == "JDU000002"
        assert _account(establishment, "Marc", "Durand", 3).identifier == "MDU000001"  # its own count
        first.identifier = "JDU000041"  # a gap: the next one follows the highest, never fills in
        db.session.flush()
        assert new_identifier("Jacques", "Dubois") == "JDU000042"
        assert new_identifier("Jacques", "Dubosc") == "JDU000042"  # only stored accounts count
        assert new_identifier("Marc", "Dumont") == "MDU000002"
        assert new_identifier("Jeanne", "Dupont").startswith("JDU")
        db.session.rollback()
