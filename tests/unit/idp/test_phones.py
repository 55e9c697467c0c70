"""Phone numbers as people type them, kept as E.164 with their line type (:mod:`idp.phones`)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idp.phones import PhoneError, check_destination, mask, parse_phone, readable


@pytest.mark.parametrize("text, e164, line_type", [
    ("06 12 34 56 78", "+33612345678", "mobile"),
    ("06.12.34.56.78", "+33612345678", "mobile"),
    ("+33 6 12 34 56 78", "+33612345678", "mobile"),
    ("0033612345678", "+33612345678", "mobile"),
    ("  06 12 34 56 78  ", "+33612345678", "mobile"),
    ("05 56 11 14 14", "+33556111414", "fixed_line"),
    ("01 23 45 67 89", "+33123456789", "fixed_line"),
    ("09 51 23 45 67", "+33951234567", "voip"),
    ("+1 650 253 0000", "+16502530000", "fixed_line_or_mobile"),
])
def test_line_types(text, e164, line_type):
    phone = parse_phone(text)
    assert (phone.e164, phone.line_type) == (e164, line_type)


@pytest.mark.parametrize("text, e164, line_type", [
    ("0692 12 34 56", "+262692123456", "mobile"),      # La Réunion
    ("0262 16 12 34", "+262262161234", "fixed_line"),  # La Réunion
    ("0639 01 23 45", "+262639012345", "mobile"),      # Mayotte
    ("0690 00 12 34", "+590690001234", "mobile"),      # Guadeloupe
    ("0590 12 34 56", "+590590123456", "fixed_line"),  # Guadeloupe
    ("0596 30 12 34", "+596596301234", "fixed_line"),  # Martinique: also a valid +33 5 number
    ("0269 60 12 34", "+262269601234", "fixed_line"),  # Mayotte: also a valid +33 2 number
    ("0696 20 12 34", "+596696201234", "mobile"),      # Martinique
    ("0694 20 12 34", "+594694201234", "mobile"),      # Guyane
])
def test_overseas_numbers_typed_the_national_way_get_their_own_country_code(text, e164, line_type):
    phone = parse_phone(text)
    assert (phone.e164, phone.line_type) == (e164, line_type)


@pytest.mark.parametrize("text", [
    "0899 23 45 67",  # premium rate
    "0800 12 34 56",  # toll free
    "0810 12 34 56",  # shared cost
    "0820 12 34 56",  # shared cost
])
def test_numbers_that_cannot_receive_a_code_are_refused(text):
    with pytest.raises(PhoneError, match="cannot receive a code"):
        parse_phone(text)


@pytest.mark.parametrize("text, problem", [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("+33 6 12 34 56 78 " + "0" * 20, "too long"),
    ("abc", "not a phone number"),
    ("12", "not a valid number"),
    ("3949", "not a valid number"),
    ("06 12 34 56 78 90", "not a valid number"),
])
def test_what_is_not_a_number_is_refused(text, problem):
    with pytest.raises(PhoneError, match=problem):
        parse_phone(text)


def test_a_phone_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_phone("abc")


@pytest.mark.parametrize("e164, masked", [
    ("+33612345678", "+336••••••78"),
    ("+262692123456", "+262•••••••56"),
    ("+16502530000", "+165••••••00"),
])
def test_masking_shows_the_start_and_the_last_two_digits_only(e164, masked):
    assert mask(e164) == masked
    assert len(mask(e164)) == len(e164)
    assert e164[4:-2] not in mask(e164)


# Every overseas national prefix that shares France's trunk "0", landline and mobile.
@pytest.mark.parametrize("text, e164, region, line_type", [
    ("0590 82 12 34", "+590590821234", "GP", "fixed_line"),   # Guadeloupe
    ("0690 12 34 56", "+590690123456", "GP", "mobile"),
    ("0691 28 12 34", "+590691281234", "GP", "mobile"),
    ("0590 27 12 34", "+590590271234", "BL", "fixed_line"),   # Saint-Barthélemy
    ("0590 87 12 34", "+590590871234", "BL", "fixed_line"),   # Saint-Martin (shares +590)
    ("0596 71 12 34", "+596596711234", "MQ", "fixed_line"),   # Martinique
    ("0696 12 34 56", "+596696123456", "MQ", "mobile"),
    ("0697 12 34 56", "+596697123456", "MQ", "mobile"),
    ("0594 30 12 34", "+594594301234", "GF", "fixed_line"),   # Guyane
    ("0694 20 12 34", "+594694201234", "GF", "mobile"),
    ("0262 12 34 56", "+262262123456", "RE", "fixed_line"),   # La Réunion
    ("0263 12 34 56", "+262263123456", "RE", "fixed_line"),
    ("0692 12 34 56", "+262692123456", "RE", "mobile"),
    ("0693 12 34 56", "+262693123456", "RE", "mobile"),
    ("0269 61 12 34", "+262269611234", "YT", "fixed_line"),   # Mayotte
    ("0639 69 12 34", "+262639691234", "YT", "mobile"),
    ("0508 41 12 34", "+508411234", "PM", "fixed_line"),      # Saint-Pierre-et-Miquelon
    ("0508 55 12 34", "+508551234", "PM", "mobile"),
    ("+681 72 12 34", "+681721234", "WF", "fixed_line_or_mobile"),      # Wallis-et-Futuna (international only)
])
def test_every_overseas_prefix_resolves_to_its_own_country_code(text, e164, region, line_type):
    phone = parse_phone(text)
    assert (phone.e164, phone.region, phone.line_type) == (e164, region, line_type)


FRANCE = ["FR", "GP", "BL", "MF", "MQ", "GF", "RE", "YT", "PM", "WF", "PF", "NC"]


@pytest.mark.parametrize("text", [
    "+7 916 123 45 67",      # Russia
    "+1 268 464 1234",       # Antigua
    "+234 802 123 4567",     # Nigeria
    "+882 16 1234 5678",     # Thuraya (satellite, no region)
    "+32 2 555 12 12",       # Belgium
])
def test_codes_go_only_to_the_allowed_regions(text):
    phone = parse_phone(text) if not text.startswith("+882") else None
    if phone is None:
        with pytest.raises(PhoneError):
            check_destination(parse_phone(text), FRANCE, "sms")
        return
    with pytest.raises(PhoneError) as refused:
        check_destination(phone, FRANCE, "sms")
    assert refused.value.reason == "destination"


def test_voice_calls_only_to_french_numbers_even_when_a_region_is_allowed():
    belgian_landline = parse_phone("+32 2 555 12 12")
    check_destination(belgian_landline, [*FRANCE, "BE"], "sms")
    with pytest.raises(PhoneError, match="voice calls go only to French numbers"):
        check_destination(belgian_landline, [*FRANCE, "BE"], "voice")
    check_destination(parse_phone("0596 71 12 34"), FRANCE, "voice")


@settings(max_examples=300, derandomize=True)
@given(st.text(max_size=40) | st.from_regex(r"\+?[0-9 .()\-]{0,20}", fullmatch=True))
def test_any_text_is_a_phone_or_a_phone_error(text):
    try:
        phone = parse_phone(text)
    except PhoneError as refused:
        assert refused.reason in ("invalid", "kind")
        return
    assert phone.e164.startswith("+") and phone.e164[1:].isdigit()
    assert parse_phone(phone.e164) == phone  # E.164 parses back to itself


@pytest.mark.parametrize("written, shown", [
    ("+33612345678", "06 12 34 56 78"),
    ("01.23.45.67.89", "01 23 45 67 89"),
    ("0690123456", "0690 12 34 56"),     # Guadeloupe: dialled with the 0 from France
    ("0639012345", "0639 01 23 45"),     # Mayotte
    ("0508411234", "+508 41 12 34"),     # Saint-Pierre-et-Miquelon: its own code, no trunk 0
    ("+32470123456", "+32 470 12 34 56"),
])
def test_a_number_is_shown_as_people_dial_it_from_france(written, shown):
    assert readable(parse_phone(written).e164) == shown


def test_nothing_to_show_and_a_stored_oddity_are_shown_as_they_are():
    assert readable(None) == "" and readable("") == ""
    assert readable("+33") == "+33"
