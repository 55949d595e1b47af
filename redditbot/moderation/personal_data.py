"""Detectors for personal data a reply must never carry, each with a validity check where one
exists (Luhn for cards, mod-97 for IBANs) so that ordinary numbers are not flagged."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_PHONE = re.compile(
    r"(?<![\w.+-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]?\d{3,4}[\s.-]?\d{3,5}(?![\w.]\d)"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def digits_of(text: str) -> str:
    """Only the digits of a string."""
    return re.sub(r"\D", "", text)


def luhn_valid(number: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN."""
    compact = candidate.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    as_digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(as_digits) % 97 == 1


def find_emails(text: str) -> list[str]:
    """E-mail addresses."""
    return _EMAIL.findall(text)


def find_cards(text: str) -> list[str]:
    """Payment card numbers: 13 to 19 digits, optionally grouped, passing the Luhn check."""
    return [m for m in _CARD.findall(text) if 13 <= len(digits_of(m)) <= 19 and _card_like(m)]


def find_phones(text: str) -> list[str]:
    """Phone numbers: 10 to 15 digits in the usual groupings (not parts of cards or IBANs)."""
    longer = [digits_of(n) for n in (*find_cards(text), *find_ibans(text))]
    return [
        m.strip()
        for m in _PHONE.findall(text)
        if 10 <= len(digits_of(m)) <= 15 and not any(digits_of(m) in n for n in longer)
    ]


def find_ibans(text: str) -> list[str]:
    """International bank account numbers that pass the mod-97 check."""
    return [m for m in _IBAN.findall(text) if iban_valid(m)]


def find_ssns(text: str) -> list[str]:
    """US social security numbers written as AAA-GG-SSSS."""
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


DETECTORS: Mapping[str, Callable[[str], list[str]]] = MappingProxyType(
    {
        "email": find_emails,
        "phone": find_phones,
        "card": find_cards,
        "iban": find_ibans,
        "ssn": find_ssns,
        "ip": find_public_ips,
    }
)


def _card_like(candidate: str) -> bool:
    number = digits_of(candidate)
    return len(set(number)) > 1 and luhn_valid(number)
