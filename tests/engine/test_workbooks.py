"""Excel workbooks: sheets by name or number, cells read as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxpulse.engine import (
    FileInputError,
    InvalidScoresError,
    InvalidValues,
    histograms_from_file,
    read_columns,
)
from cxpulse.metrics.histogram import Histogram

from .samples import FIVE, HEADER, ROWS
from .writers import write_xlsx


def test_xlsx_sheet_by_name_or_number(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "answers.xlsx", HEADER, ROWS, title="Answers", before=["Notes"])
    by_name = histograms_from_file(path, score="score", scale=FIVE, sheet="Answers")
    by_number = histograms_from_file(path, score="score", scale=FIVE, sheet=1)
    assert by_name.total() == by_number.total() == Histogram({1: 1, 2: 1, 3: 1, 4: 1, 5: 3})
    assert read_columns(path) == ["other"]
    assert read_columns(path, sheet="Answers") == HEADER
    with pytest.raises(FileInputError, match=r"sheet 'Nope' not found .*: Notes, Answers"):
        histograms_from_file(path, score="score", scale=FIVE, sheet="Nope")
    with pytest.raises(FileInputError, match="no sheet number 5"):
        read_columns(path, sheet=5)


def test_xlsx_text_cells_among_numbers_are_reported_not_dropped(tmp_path: Path) -> None:
    rows = [(i, 5, "a") for i in range(1, 30)] + [(30, "n/a", "a"), (31, "  ", "a")]
    path = write_xlsx(tmp_path / "answers.xlsx", ["id", "score", "segment"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid == InvalidValues(count=1, values=["n/a"], lines=[31])
    found = histograms_from_file(path, score="score", scale=FIVE, skip_invalid=True)
    assert found.blank == 1
    assert found.total() == Histogram({5: 29})


def test_xlsx_numbers_as_group_keys_read_as_written(tmp_path: Path) -> None:
    rows = [(1, 5, 101), (2, 4, 102.5), (3, 3, "x"), (4, 2, None)]
    path = write_xlsx(tmp_path / "answers.xlsx", ["id", "score", "store"], rows)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["store"])
    assert set(found.groups) == {("101",), ("102.5",), ("x",), (None,)}
