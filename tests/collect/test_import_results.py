"""Import results: invalid cells described, long values cut, the refusal message."""

from __future__ import annotations

from cxpulse.collect.import_results import (
    MAX_REPORTED_VALUE,
    BadCell,
    ImportResult,
    InvalidRowsError,
    cut_value,
)


def test_bad_cells_describe_themselves() -> None:
    cell = BadCell(4, "Rating", "score", "11", "is not on the 1-5 scale")
    assert cell.describe() == "line 4, column 'Rating': '11' is not on the 1-5 scale"
    missing = BadCell(7, "Date", "submitted_at", None, "has no date; each response needs one")
    assert missing.describe("row") == "row 7, column 'Date' has no date; each response needs one"


def test_long_values_are_cut() -> None:
    assert cut_value(None) is None
    assert cut_value(12) == "12"
    long = "x" * (MAX_REPORTED_VALUE + 5)
    assert cut_value(long) == "x" * MAX_REPORTED_VALUE + "…"


def test_invalid_rows_error_names_the_first_five_cells() -> None:
    cells = [BadCell(line, "Rating", "score", "9", "is off") for line in range(2, 9)]
    result = ImportResult(
        file="a.csv",
        survey="csat",
        rows=10,
        imported=0,
        already_present=0,
        duplicates=0,
        blank=0,
        invalid=7,
        invalid_rows=cells,
        unit="line",
        contacts_created=0,
        key="content hash",
        columns={"score": "Rating"},
        seconds=0.12345,
        stored=False,
    )
    message = str(InvalidRowsError(result))
    assert message.startswith("7 invalid rows in a.csv, so nothing was imported: line 2,")
    assert "line 6," in message
    assert "line 7," not in message
    assert message.endswith("; ...")
    assert result.as_dict()["seconds"] == 0.123
