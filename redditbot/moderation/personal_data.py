"""Detectors for personal data a reply must never carry.

Phone numbers come from libphonenumber's matcher (the ``phonenumbers`` package): a number must
be valid in a numbering plan, or written exactly the way its region groups phone numbers, so a
Unix timestamp or a grouped order number is not one. IBANs and card numbers are validated with
``python-stdnum`` (IBAN country formats and mod-97, Luhn), so that ordinary numbers are not
flagged. The regexes here only find candidates.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn as stdnum_luhn

# Regions whose national numbers (written without +country code) are recognised by default;
# international numbers (+33 ...) are recognised whatever the regions.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "AU")

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Country code, check digits, then up to 30 alphanumerics in groups; case-insensitive because
# people write IBANs in lower case too. Trailing words ("... 00 OK thanks") are trimmed later.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){11,30}", re.IGNORECASE)
_IBAN_MIN, _IBAN_MAX = 15, 34
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
# "0049 30 ..." is how Europe dials +49: the matcher knows only "+" for a region-free number.
_INTERNATIONAL_00 = re.compile(r"(?<![\w+])00(?=[1-9]\d)")
_PHONE_MIN_DIGITS = 7
_VALID, _POSSIBLE = phonenumbers.Leniency.VALID, phonenumbers.Leniency.POSSIBLE
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")

Detector = Callable[[str], list[str]]


def digits_of(text: str) -> str:
    """Only the digits of a string."""
    return re.sub(r"\D", "", text)


def luhn_valid(number: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    return stdnum_luhn.is_valid(number)


def iban_valid(candidate: str) -> bool:
    """An IBAN of a known country with its length, format and mod-97 check (any case)."""
    return stdnum_iban.is_valid(candidate)


def find_emails(text: str) -> list[str]:
    """E-mail addresses."""
    return _EMAIL.findall(text)


def find_cards(text: str) -> list[str]:
    """Payment card numbers: 13 to 19 digits, optionally grouped, passing the Luhn check."""
    return [m for m in _CARD.findall(text) if 13 <= len(digits_of(m)) <= 19 and _card_like(m)]


def find_phones(text: str, regions: Iterable[str] = DEFAULT_PHONE_REGIONS) -> list[str]:
    """Phone numbers: international ones (``+33 1 23 45 67 89``, ``0049 30 ...``) and national
    ones of ``regions`` that libphonenumber finds valid, and numbers written exactly the way a
    region groups its phone numbers even in an unassigned or fictional range (``555 123 4567``,
    ``07700 900461``: a reader takes them for a number, and a made-up one may exist elsewhere).
    Digits that belong to a card or IBAN do not count."""
    if len(digits_of(text)) < _PHONE_MIN_DIGITS:
        return []  # the matcher costs about 1 ms a region; most replies have no such digits
    text = _INTERNATIONAL_00.sub("+", text)
    longer = [digits_of(n) for n in (*find_cards(text), *find_ibans(text))]
    found: dict[str, None] = {}
    for region in (*regions, None):
        for raw in _phone_matches(text, region):
            if not any(digits_of(raw) in n for n in longer):
                found.setdefault(raw, None)
    return list(found)


def _phone_matches(text: str, region: str | None) -> list[str]:
    valid = [
        m.raw_string.strip() for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=_VALID)
    ]
    if region is None:
        return valid
    shaped = [
        m.raw_string.strip()
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=_POSSIBLE)
        if _written_like_a_phone(m)
    ]
    return [*valid, *shaped]


def _written_like_a_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """At least 10 digits, grouped exactly as the region formats its national numbers."""
    groups = _digit_groups(match.raw_string)
    national = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return sum(groups) >= 10 and len(groups) > 1 and groups == _digit_groups(national)


def _digit_groups(text: str) -> list[int]:
    return [len(g) for g in re.findall(r"\d+", text)]


def find_ibans(text: str) -> list[str]:
    """International bank account numbers, upper or lower case, grouped or not."""
    found = []
    for candidate in _IBAN.findall(text):
        valid = _longest_valid_iban(candidate)
        if valid:
            found.append(valid)
    return found


def find_ssns(text: str) -> list[str]:
    """US social security numbers written as AAA-GG-SSSS with a possible area, group and serial.

    Not python-stdnum's ``is_valid``: it also refuses numbers that were printed in
    advertisements (078-05-1120), and a reply must not carry those either."""
    return _SSN.findall(text)


def find_public_ips(text: str) -> list[str]:
    """IPv4 addresses on the public internet (private and example ranges are not personal)."""
    found = []
    for candidate in _IPV4.findall(text):
        try:
            address = ipaddress.IPv4Address(candidate)
        except ipaddress.AddressValueError:
            continue
        if address.is_global:
            found.append(candidate)
    return found


def detectors(phone_regions: Iterable[str] = DEFAULT_PHONE_REGIONS) -> Mapping[str, Detector]:
    """Every detector by kind, with the phone detector bound to ``phone_regions``."""
    regions = tuple(phone_regions)
    return MappingProxyType(
        {
            "email": find_emails,
            "phone": lambda text: find_phones(text, regions),
            "card": find_cards,
            "iban": find_ibans,
            "ssn": find_ssns,
            "ip": find_public_ips,
        }
    )


def phone_region_known(region: str) -> bool:
    """Whether libphonenumber knows this region code (for config validation)."""
    return region in phonenumbers.SUPPORTED_REGIONS


def _longest_valid_iban(candidate: str) -> str | None:
    """The longest prefix of the candidate that is a valid IBAN, ending on a whole character.

    The candidate regex is greedy, so "DE89 3704 ... 00 OK" arrives with " OK" attached."""
    ends = [i + 1 for i, ch in enumerate(candidate) if ch.isalnum()]
    for end in reversed(ends):
        prefix = candidate[:end]
        size = sum(ch.isalnum() for ch in prefix)
        if _IBAN_MIN <= size <= _IBAN_MAX and iban_valid(prefix):
            return prefix
    return None


def _card_like(candidate: str) -> bool:
    number = digits_of(candidate)
    return len(set(number)) > 1 and luhn_valid(number)
