"""Numbers typed into pages (``web.form_values``): ASCII digits within the column's range,
None for anything else, never an exception."""

from __future__ import annotations

import pytest

from cxpulse.web.form_values import (
    MAX_ID,
    MAX_SMALL_ID,
    ascii_digits,
    over_length,
    parse_id,
    parse_whole,
    sheet_value,
)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        " ",
        "0",
        "-1",
        "+1",
        "1.0",
        "1e3",
        "0x10",
        "\u00b2",
        "\u0663",
        "\uff11",
        "1\u00b2",
        "1_000",
        str(MAX_ID + 1),
        "9" * 30,
        "9" * 5000,
        "1 2",
    ],
)
def test_what_names_no_id(text: str | None) -> None:
    assert parse_id(text) is None


@pytest.mark.parametrize(
    ("text", "value"), [("1", 1), (" 42 ", 42), ("007", 7), (str(MAX_ID), MAX_ID)]
)
def test_an_id(text: str, value: int) -> None:
    assert parse_id(text) == value


def test_a_survey_id_fits_a_32_bit_column() -> None:
    assert parse_id(str(MAX_SMALL_ID), MAX_SMALL_ID) == MAX_SMALL_ID
    assert parse_id(str(MAX_SMALL_ID + 1), MAX_SMALL_ID) is None


def test_a_whole_number_in_its_range() -> None:
    assert parse_whole("0", 0, 5) == 0
    assert parse_whole("6", 0, 5) is None
    assert parse_whole("\u00b2", 0, 5) is None
    assert not ascii_digits("\u00b2")
    assert ascii_digits("0123456789")


def test_a_sheet_is_a_number_or_a_name() -> None:
    assert sheet_value("") is None
    assert sheet_value(" 2 ") == 2
    assert sheet_value("\u00b2") == "\u00b2"
    assert sheet_value("Answers") == "Answers"
    assert sheet_value("9" * 30) == "9" * 30  # a name no workbook has: the engine says so


def test_a_declared_length() -> None:
    assert over_length("101", 100)
    assert not over_length("100", 100)
    assert over_length("9" * 5000, 100)  # too long for int(): still over, not an error
    assert not over_length("\u00b2", 100)
    assert not over_length(None, 100)
