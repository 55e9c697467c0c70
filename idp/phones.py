"""Phone numbers: parse what people type, keep E.164 and the line type.

The line type chooses the channel (the policy maps mobile to SMS, landlines and VoIP to
voice). French overseas numbers (0692…, 0590…) are invalid when parsed as metropolitan
France, so the overseas regions are tried in turn.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

REGIONS = ("FR", "RE", "GP", "MQ", "GF", "YT", "PM", "BL", "MF")
LINE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
}
# Numbers that cannot receive a code: premium rate, shared cost, toll free, pagers…
REFUSED = {
    PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL,
}


class PhoneError(ValueError):
    """The text is not a phone number that can receive a code."""


@dataclass(frozen=True)
class Phone:
    e164: str
    line_type: str


def parse_phone(text: str) -> Phone:
    text = (text or "").strip()
    if not text or len(text) > 32:
        raise PhoneError("empty or too long")
    for region in REGIONS:
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException:
            raise PhoneError("not a phone number") from None
        if phonenumbers.is_valid_number(number):
            break
    else:
        raise PhoneError("not a valid number")
    kind = phonenumbers.number_type(number)
    if kind in REFUSED:
        raise PhoneError("this kind of number cannot receive a code")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, LINE_TYPES.get(kind, "other"))


def mask(e164: str) -> str:
    """Show a number without giving it away: +33 6 •• •• •• 78."""
    return e164[:4] + "•" * max(0, len(e164) - 6) + e164[-2:]
