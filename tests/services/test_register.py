"""Fødselsnummer validation (python-stdnum), with synthetic numbers only when allowed."""

from datetime import date

import pytest
from stdnum.no import fodselsnummer

from app.services.register import (
    InvalidFodselsnummer,
    fodselsnummer_birth_date,
    fodselsnummer_validate,
)
from tests.factories import real_fnr, synthetic_fnr

DEMO_NUMBERS = {
    "12833810241": date(1938, 3, 12),  # Kari Nordmann
    "05896820194": date(1968, 9, 5),  # Ola Nordmann
    "21817121036": date(1971, 1, 21),  # Eva Nordmann
    "02874430563": date(1944, 7, 2),  # Nils Hansen
    "14868540266": date(1985, 6, 14),  # Lise Berg
    "03901652170": date(2016, 10, 3),  # Emil Berg
    "30915032067": date(1950, 11, 30),  # Marit Olsen
    "09820960103": date(2009, 2, 9),  # Knut Knutsen
    "17884133351": date(1941, 8, 17),  # Per Pettersen
}


def test_a_valid_ordinary_number_is_accepted_with_or_without_synthetic_numbers():
    number = real_fnr(date(1986, 10, 15))
    for allow in (True, False):
        assert fodselsnummer_validate(number, allow_synthetic=allow) == number


def test_spaces_and_dashes_are_ignored():
    number = real_fnr(date(1986, 10, 15))
    spaced = f"{number[:6]} {number[6:]}"
    assert fodselsnummer_validate(spaced, allow_synthetic=False) == number


def test_a_bad_check_digit_is_refused():
    number = real_fnr(date(1986, 10, 15))
    broken = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidFodselsnummer) as refused:
        fodselsnummer_validate(broken, allow_synthetic=True)
    assert refused.value.code == "checksum"


@pytest.mark.parametrize("value", ["", "1234567890", "123456789012", "1283381024x", "abc"])
def test_wrong_length_or_letters_are_refused(value):
    with pytest.raises(InvalidFodselsnummer) as refused:
        fodselsnummer_validate(value, allow_synthetic=True)
    assert refused.value.code == "format"


@pytest.mark.parametrize(("number", "born"), DEMO_NUMBERS.items())
def test_the_demo_casts_synthetic_numbers_are_valid_when_allowed(number, born):
    assert fodselsnummer_validate(number, allow_synthetic=True) == number
    assert fodselsnummer_birth_date(number) == born


@pytest.mark.parametrize("number", DEMO_NUMBERS)
def test_synthetic_numbers_are_refused_when_not_allowed(number):
    with pytest.raises(InvalidFodselsnummer) as refused:
        fodselsnummer_validate(number, allow_synthetic=False)
    assert refused.value.code == "synthetic"


def test_a_synthetic_number_with_a_bad_check_digit_is_refused():
    number = synthetic_fnr(date(1960, 4, 1))
    broken = number[:-2] + str((int(number[-2]) + 1) % 10) + number[-1]
    with pytest.raises(InvalidFodselsnummer) as refused:
        fodselsnummer_validate(broken, allow_synthetic=True)
    assert refused.value.code == "checksum"


def test_a_synthetic_number_with_an_impossible_date_is_refused():
    # 31 February, month 02 + 80 = 82; check digits computed so only the date is wrong.
    base = "318260123"
    k1 = fodselsnummer.calc_check_digit1(base)
    number = base + k1 + fodselsnummer.calc_check_digit2(base + k1)
    assert len(number) == 11
    with pytest.raises(InvalidFodselsnummer) as refused:
        fodselsnummer_validate(number, allow_synthetic=True)
    assert refused.value.code == "birth_date"
