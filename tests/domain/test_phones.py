from __future__ import annotations

import pytest

from survey.phones import normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "+7 (912) 345-67-89",
        "8 912 345 67 89",
        "89123456789",
        "79123456789",
        "+79123456789",
        "9123456789",
        "8(912)345-67-89",
        "79123456789.0",
    ],
)
def test_russian_formats_are_the_same_number(raw: str) -> None:
    assert normalise_phone(raw) == "+79123456789"


@pytest.mark.parametrize("raw", ["", "12345", "8 912 345 67 8", "phone", "8912345678", "+7912"])
def test_not_phone_numbers(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_foreign_numbers_keep_their_country_code() -> None:
    assert normalise_phone("+375 29 123-45-67") == "+375291234567"
