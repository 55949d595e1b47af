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


def test_an_iban_followed_by_words_is_still_found():
    # The old regex swallowed " OK" into the candidate, whose checksum then failed.
    text = "DE89 3704 0044 0532 0130 00 OK thanks"
    assert find_ibans(text) == ["DE89 3704 0044 0532 0130 00"]
    assert find_ibans("send it to FR14 2004 1010 0505 0001 3M02 606 and tell me") == [
        "FR14 2004 1010 0505 0001 3M02 606"
    ]


@pytest.mark.parametrize(
    "text", ["de89 3704 0044 0532 0130 00", "gb82west12345698765432", "Gb82 West 1234 5698 7654 32"]
)
def test_lower_and_mixed_case_ibans_are_found(text):
    assert find_ibans(f"my account: {text}.") == [text]


def test_iban_needs_the_country_format_not_only_mod97():
    # mod-97 alone accepts this (XX is no country); stdnum knows the country formats.
    assert find_ibans("code XX12 3456 7890 1234 56") == []
    assert find_ibans("the word is19 abcdefghijklmnop") == []


def test_emails():
    assert find_emails("write to a.b+c@mail.example.co.uk.") == ["a.b+c@mail.example.co.uk"]
    assert find_emails("the @decorator and user@localhost") == []


@pytest.mark.parametrize(
    "text",
    [
        "(415) 555-2671",
        "+44 20 7946 0958",
        "212-555-0187",
        "+16175550123",
        "+33 1 23 45 67 89",
        "+49 30 12345678",
        "020 7946 0958",
        "555 123 4567",  # no such area code, but written as a US number is
        "07700 900461",  # Ofcom's range for drama, written as a UK mobile
        "(02) 9876 5432",  # Sydney
    ],
)
def test_phone_numbers(text):
    assert find_phones(f"call {text} today") == [text]


def test_european_00_prefix_counts_as_international():
    assert find_phones("Personal number 0049 30 901820 in Berlin") == ["+49 30 901820"]
    assert find_phones("scored 0012 points, then 00 7 more") == []


def test_national_numbers_need_their_region():
    text = "appelle le 06 12 34 56 78 ce soir"  # a French mobile, written the French way
    assert find_phones(text) == []  # default regions US and GB
    assert find_phones(text, regions=["FR"]) == ["06 12 34 56 78"]
    assert find_phones("ruf +49 30 12345678 an", regions=[]) == ["+49 30 12345678"]


@pytest.mark.parametrize(
    "text",
    [
        "call 555-0100",
        "in 2019-2020",
        "version 3.11.7",
        "1,234,567 people",
        "ISBN 978-0-306-40615-7",
        "timestamp 1700000000",
        "order 2024 1234 5678",
        "epoch 1699999999 then 1234567890",
    ],
)
def test_things_that_are_not_phone_numbers(text):
    assert find_phones(text) == []


def test_card_digits_are_not_also_reported_as_a_phone():
    assert find_phones("card 4111 1111 1111 1111") == []


def test_ssn_excludes_impossible_area_numbers():
    assert find_ssns("ssn 123-45-6789") == ["123-45-6789"]
    assert find_ssns("000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000") == []
    assert find_ssns("the wallet card 078-05-1120") == ["078-05-1120"]


def test_only_public_ips_count():
    assert find_public_ips("from 81.2.69.160 and 192.168.1.1 and 10.0.0.8") == ["81.2.69.160"]
    assert find_public_ips("version 1.2.3.4.5 and 999.1.1.1") == []
