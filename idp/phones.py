"""Phone numbers: parse what people type, keep E.164, the line type and the region.

The line type chooses the channel (the policy maps mobile to SMS, landlines and VoIP to
voice). The overseas departments and collectivities that share France's ``0`` trunk
prefix each have their own country code: their national prefixes (0590, 0596, 0262,
0269, 0508…) are mapped to their region before parsing, because several of them are
also valid +33 numbers and would be stored, and called, wrongly.

Where codes may go is the policy's (``phones.allowed_regions``): :func:`check_destination`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from .policy.model import FRENCH_REGIONS

# National prefixes dialled with France's trunk "0" that belong to another country code.
OVERSEAS_PREFIXES: dict[str, tuple[str, ...]] = {
    "0590": ("GP", "BL", "MF"), "0690": ("GP", "BL", "MF"), "0691": ("GP", "BL", "MF"),  # +590
    "0596": ("MQ",), "0696": ("MQ",), "0697": ("MQ",),                                 # +596
    "0594": ("GF",), "0694": ("GF",),                                                  # +594
    "0262": ("RE",), "0263": ("RE",), "0692": ("RE",), "0693": ("RE",),                # +262
    "0269": ("YT",), "0639": ("YT",),                                                  # +262
}
SAINT_PIERRE = "0508"  # +508: six-digit numbers, written 0508 41 12 34 from France
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
    """The text is not a phone number that can receive a code. ``reason`` is ``invalid``,
    ``kind`` (premium, toll free…) or ``destination`` (a region the policy refuses)."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Phone:
    e164: str
    line_type: str
    region: str | None = None


def _parse(text: str) -> phonenumbers.PhoneNumber:
    compact = re.sub(r"[\s.\-()/]", "", text)
    try:
        if compact.startswith(SAINT_PIERRE) and len(compact) == 10:
            return phonenumbers.parse("+508" + compact[4:])
        regions = OVERSEAS_PREFIXES.get(compact[:4], ("FR",)) if compact.startswith("0") else ("FR",)
        number = None
        for region in regions:
            number = phonenumbers.parse(compact, region)
            if phonenumbers.is_valid_number(number):
                break
        return number
    except NumberParseException:
        raise PhoneError("not a phone number") from None


def parse_phone(text: str) -> Phone:
    text = (text or "").strip()
    if not text or len(text) > 32:
        raise PhoneError("empty or too long")
    number = _parse(text)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("not a valid number")
    kind = phonenumbers.number_type(number)
    if kind in REFUSED:
        raise PhoneError("this kind of number cannot receive a code", "kind")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164, LINE_TYPES.get(kind, "other"), phonenumbers.region_code_for_number(number))


def check_destination(phone: Phone, allowed_regions: Iterable[str], channel: str) -> None:
    """Refuse a number outside the policy's regions, and a voice call abroad (toll fraud
    goes through premium and satellite destinations, voice above all)."""
    allowed = set(allowed_regions)
    if phone.region not in allowed:
        raise PhoneError(f"codes are not sent to numbers of region {phone.region or 'unknown'}", "destination")
    if channel == "voice" and phone.region not in FRENCH_REGIONS:
        raise PhoneError("voice calls go only to French numbers", "destination")


def mask(e164: str) -> str:
    """Show a number without giving it away: +33 6 •• •• •• 78."""
    return e164[:4] + "•" * max(0, len(e164) - 6) + e164[-2:]


def readable(e164: str | None) -> str:
    """A number written as people dial it from France: ``06 12 34 56 78``, ``0690 12 34 56``
    overseas, and the international form where no leading 0 reaches it (``+508 41 12 34``)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164)
    except NumberParseException:
        return e164
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    region = phonenumbers.region_code_for_number(number)
    if national.startswith("0") and region in FRENCH_REGIONS and region != "PM":  # PM: own trunk code
        return national
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
