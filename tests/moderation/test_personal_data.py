"""Personal-data detectors: checksums and the look-alikes they must leave alone."""

from __future__ import annotations

import pytest

from redditbot.moderation.personal_data import (
    find_cards,
    find_emails,
    find_ibans,
    find_phones,
    find_public_ips,
    find_ssns,
    iban_valid,
    luhn_valid,
)


def test_luhn():
    assert luhn_valid("4111111111111111") and luhn_valid("378282246310005")
    assert not luhn_valid("4111111111111112")


def test_cards_need_a_valid_checksum_and_length():
    assert find_cards("pay with 4111-1111-1111-1111 now") == ["4111-1111-1111-1111"]
    assert find_cards("order 4111 1111 1111 1112") == []
    assert find_cards("0000 0000 0000 0000") == []  # Luhn-valid but not a card
    assert find_cards("id 411111111111") == []  # 12 digits


def test_iban_checksum():
    assert iban_valid("GB82WEST12345698765432")
    assert find_ibans("to DE89 3704 0044 0532 0130 00 please") == ["DE89 3704 0044 0532 0130 00"]
    assert find_ibans("GB82 WEST 1234 5698 7654 33") == []


def test_emails():
    assert find_emails("write to a.b+c@mail.example.co.uk.") == ["a.b+c@mail.example.co.uk"]
    assert find_emails("the @decorator and user@localhost") == []


@pytest.mark.parametrize(
    "text", ["(415) 555-2671", "+44 20 7946 0958", "212-555-0187", "555 123 4567", "+16175550123"]
)
def test_phone_numbers(text):
    assert find_phones(f"call {text} today")


@pytest.mark.parametrize(
    "text",
    [
        "call 555-0100",
        "in 2019-2020",
        "version 3.11.7",
        "1,234,567 people",
        "ISBN 978-0-306-40615-7",
    ],
)
def test_things_that_are_not_phone_numbers(text):
    assert find_phones(text) == []


def test_card_digits_are_not_also_reported_as_a_phone():
    assert find_phones("card 4111 1111 1111 1111") == []


def test_ssn_excludes_impossible_area_numbers():
    assert find_ssns("ssn 123-45-6789") == ["123-45-6789"]
    assert find_ssns("000-12-3456 666-12-3456 900-12-3456 123-00-4567") == []


def test_only_public_ips_count():
    assert find_public_ips("from 81.2.69.160 and 192.168.1.1 and 10.0.0.8") == ["81.2.69.160"]
    assert find_public_ips("version 1.2.3.4.5 and 999.1.1.1") == []
