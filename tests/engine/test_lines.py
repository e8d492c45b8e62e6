"""Line numbers of reported rows: empty lines, quoted line breaks, preambles, JSON lines."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from cxpulse.engine import (
    InvalidScoresError,
    InvalidValues,
    LineFinder,
    histograms_from_file,
    open_source,
    record_lines,
)

from .samples import FIVE
from .writers import write_csv, write_table


def test_invalid_lines_count_empty_lines_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("score,segment\n5,a\n\n4,a\n\n\n9,b\n", encoding="utf-8")
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid.lines == [7]


def test_invalid_lines_after_quoted_fields_that_span_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text(
        'score,comment\r\n5,"one\r\ntwo"\r\n4,"a ""quoted""\nthree\nlines"\r\n\r\n9,"x,\ny"\r\n',
        encoding="utf-8",
    )
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE, by=["comment"])
    assert raised.value.invalid.lines == [8]


def test_invalid_lines_count_lines_before_the_header(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("Export of 2020-01-01\nscore;segment\n5;a\n9;b\n", encoding="utf-8")
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid.lines == [4]


def test_invalid_lines_in_a_one_column_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("score\n5\n\n9\n", encoding="utf-8")
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid.lines == [4]


def test_invalid_lines_of_json_lines_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_text('{"score": 5}\n\n{"score": "bad"}\n', encoding="utf-8")
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid == InvalidValues(count=1, values=["bad"], lines=[3])
    assert raised.value.invalid.describe() == "1 invalid score (value: 'bad') on line 3"


def test_invalid_lines_in_a_large_file_read_in_parallel(tmp_path: Path) -> None:
    rng = random.Random(7)
    bad = sorted(rng.sample(range(1, 300_001), 12))
    bad_set = set(bad)
    rows = [(i, "x" if i in bad_set else rng.randint(1, 5), i % 7) for i in range(1, 300_001)]
    path = write_csv(tmp_path / "answers.csv", ["id", "score", "segment"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert raised.value.invalid.count == 12
    assert raised.value.invalid.lines == [i + 1 for i in bad[:10]]
    assert raised.value.invalid.values == ["x"]


# --------------------------------------------------------------------------- LineFinder


def _lines_of(path: Path, rows: list[int]) -> dict[int, int]:
    with open_source(path) as source:
        return record_lines(source, rows)


def test_record_lines_count_a_preamble_quoted_breaks_and_empty_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('Export\nof today\nscore;comment\n5;"a\nb"\n\n4;c\n3;d\n', encoding="utf-8")
    assert _lines_of(path, [3, 1, 2]) == {1: 4, 2: 7, 3: 8}


def test_record_lines_of_each_kind(tmp_path: Path) -> None:
    rows = [(1, 5, "a"), (2, 4, "b"), (3, 3, "c")]
    header = ["id", "score", "segment"]
    assert _lines_of(write_table(tmp_path / "a.xlsx", header, rows), [1, 3]) == {1: 2, 3: 4}
    assert _lines_of(write_table(tmp_path / "a.parquet", header, rows), [1, 3]) == {1: 1, 3: 3}
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"score": 5}\n\n\n{"score": 4}\n', encoding="utf-8")
    assert _lines_of(jsonl, [1, 2]) == {1: 1, 2: 4}


def test_rows_past_the_end_get_a_guess(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score"], [(5,), (4,)])
    assert _lines_of(path, [2, 5]) == {2: 3, 5: 6}


def test_line_finder_walks_on_and_starts_again_for_earlier_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "x"], [(i, "y") for i in range(50)])
    with open_source(path) as source, LineFinder(source) as finder:
        assert finder.lines([]) == {}
        assert finder.lines([2, 5]) == {2: 3, 5: 6}
        assert finder.lines([5, 40]) == {5: 6, 40: 41}
        assert finder.lines([1]) == {1: 2}
        assert source.lines([3, 1]) == [4, 2]
