"""The population register: fødselsnummer validation and adding people."""

from __future__ import annotations

from datetime import date

from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.no import fodselsnummer

from app.clock import oslo_today

# Synthetic test numbers (Skatteetaten/NAV test data) add 80 to the month.
SYNTHETIC_MONTH_OFFSET = 80


class InvalidFodselsnummer(ValueError):
    """Why a fødselsnummer was refused; `code` is stable, the message is for logs."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def is_synthetic(number: str) -> bool:
    return len(number) == 11 and number.isdigit() and int(number[2:4]) > SYNTHETIC_MONTH_OFFSET


def fodselsnummer_validate(value: str, *, allow_synthetic: bool) -> str:
    """The compact, valid fødselsnummer, or InvalidFodselsnummer.

    Check digits and the birth date are checked by python-stdnum. A synthetic number
    (month + 80) is accepted only when `allow_synthetic` is set (demo and tests); its
    birth date is checked with the month restored.
    """
    number = fodselsnummer.compact(value or "")
    if len(number) != 11 or not number.isdigit():
        raise InvalidFodselsnummer("format")
    if is_synthetic(number):
        if not allow_synthetic:
            raise InvalidFodselsnummer("synthetic")
        if number[9] != fodselsnummer.calc_check_digit1(number) or number[
            10
        ] != fodselsnummer.calc_check_digit2(number):
            raise InvalidFodselsnummer("checksum")
        try:
            born = fodselsnummer.get_birth_date(_restore_month(number))
        except ValidationError:
            raise InvalidFodselsnummer("birth_date") from None
        if born > oslo_today():
            raise InvalidFodselsnummer("birth_date")
        return number
    try:
        return fodselsnummer.validate(number)
    except InvalidChecksum:
        raise InvalidFodselsnummer("checksum") from None
    except ValidationError:
        raise InvalidFodselsnummer("birth_date") from None


def fodselsnummer_birth_date(number: str) -> date:
    """Birth date of a number already validated (synthetic or not)."""
    if is_synthetic(number):
        number = _restore_month(number)
    return fodselsnummer.get_birth_date(number)


def _restore_month(number: str) -> str:
    month = int(number[2:4]) - SYNTHETIC_MONTH_OFFSET
    return f"{number[:2]}{month:02d}{number[4:]}"
