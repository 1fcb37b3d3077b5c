"""Phone numbers: parsing to E.164 and line facts read from the numbering plan.

Uses ``phonenumbers`` (offline metadata). R-C-01 asks that the consent record's
number equals the destination after E.164 normalisation, so every number in the
system passes through :func:`parse` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers import timezone as pn_timezone


class InvalidNumber(ValueError):
    """The text is not a valid, dialable phone number."""


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    e164: str
    region: str | None
    number_type: str

    @property
    def last4(self) -> str:
        return self.e164[-4:]

    @property
    def is_toll_free(self) -> bool:
        return self.number_type == "toll_free"

    @property
    def is_landline(self) -> bool:
        return self.number_type == "fixed_line"

    @property
    def area_code(self) -> str | None:
        """NANP area code (the three digits after +1), else None."""
        if self.e164.startswith("+1") and len(self.e164) == 12:
            return self.e164[2:5]
        return None


_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def parse(text: str, default_region: str = "US") -> PhoneNumber:
    """Parse any common format into E.164, or raise :class:`InvalidNumber`."""
    if not isinstance(text, str):
        raise InvalidNumber("empty phone number")
    found = _parse_cached(text, default_region)
    if isinstance(found, str):
        raise InvalidNumber(found)
    return found


@lru_cache(maxsize=65536)
def _parse_cached(text: str, default_region: str) -> PhoneNumber | str:
    """Parsing costs tens of microseconds and every message is parsed at accept and at
    hand-off, so results (or the error text) are memoised; the inputs are immutable."""
    try:
        return _parse(text, default_region)
    except InvalidNumber as exc:
        return str(exc)


def _parse(text: str, default_region: str) -> PhoneNumber:
    if not text.strip():
        raise InvalidNumber("empty phone number")
    if len(text) > 40:
        raise InvalidNumber("phone number too long")
    try:
        num = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        raise InvalidNumber(str(exc)) from exc
    if not phonenumbers.is_valid_number(num):
        raise InvalidNumber(f"{text!r} is not a valid number")
    e164 = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(num)
    kind = _TYPES.get(phonenumbers.number_type(num), "unknown")
    return PhoneNumber(e164=e164, region=region, number_type=kind)


def try_parse(text: str, default_region: str = "US") -> PhoneNumber | None:
    try:
        return parse(text, default_region)
    except InvalidNumber:
        return None


@lru_cache(maxsize=65536)
def candidate_zones(e164: str) -> tuple[str, ...]:
    """All IANA zones the numbering plan associates with this number."""
    try:
        num = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ()
    zones = tuple(z for z in pn_timezone.time_zones_for_number(num) if z != "Etc/Unknown")
    return zones


def is_short_code(text: str) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit())
    return not text.strip().startswith("+") and 3 <= len(digits) <= 8
