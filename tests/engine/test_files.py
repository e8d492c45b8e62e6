from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.engine.files import (
    FileHistograms,
    FileInputError,
    InvalidScoresError,
    InvalidValues,
    histograms_from_file,
    read_columns,
)
from cxpulse.engine.periods import Period, period_label
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Scale

from .writers import Row, write_csv, write_parquet, write_table, write_xlsx

FIVE = Scale(1, 5)
ELEVEN = Scale(0, 10)
ALL_FORMATS = [".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".jsonl", ".ndjson"]

HEADER = ["id", "score", "segment", "answered"]
ROWS: list[Row] = [
    (1, 5, "web", dt.datetime(2018, 3, 4, 10, 0)),
    (2, 4, "web", dt.datetime(2018, 3, 28, 23, 59)),
    (3, 1, "shop", dt.datetime(2018, 3, 1, 0, 0)),
    (4, None, "shop", dt.datetime(2018, 4, 2, 9, 30)),
    (5, 5, None, dt.datetime(2018, 4, 30, 12, 0)),
    (6, 3, "web", None),
    (7, 2, "shop", dt.datetime(2019, 1, 1, 8, 0)),
    (8, 5, "web", dt.datetime(2018, 4, 1, 0, 0)),
]


def as_counts(found: FileHistograms) -> dict[tuple[str | None, ...], dict[float, int]]:
    return {key: dict(histogram.counts) for key, histogram in found.groups.items()}


def classify(value: Any, scale: Scale) -> float | str | None:
    """What the engine must make of one raw answer: a score, "invalid" or None (blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        return "invalid"
    return number if scale.contains(number) else "invalid"


def expected_groups(
    rows: Sequence[Row],
    scale: Scale,
    key: Callable[[Row], tuple[str | None, ...]],
    score_index: int = 1,
) -> tuple[dict[tuple[str | None, ...], Histogram], int, int]:
    """The histograms, blank and invalid counts a pure-Python count gives."""
    values: dict[tuple[str | None, ...], list[float]] = {}
    blank = invalid = 0
    for row in rows:
        group = values.setdefault(key(row), [])
        kind = classify(row[score_index], scale)
        if kind is None:
            blank += 1
        elif kind == "invalid":
            invalid += 1
        else:
            assert isinstance(kind, float)
            group.append(kind)
    return {k: Histogram.from_values(v) for k, v in values.items()}, blank, invalid


def month_of(when: Any) -> str | None:
    return None if when is None else period_label(Period.MONTH, when)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_every_format_gives_the_same_histograms(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    found = histograms_from_file(
        path, score="score", scale=FIVE, by=["segment"], date="answered", period=Period.MONTH
    )
    assert found.group_columns == ["segment", "month"]
    assert as_counts(found) == {
        ("web", "2018-03"): {4: 1, 5: 1},
        ("shop", "2018-03"): {1: 1},
        ("shop", "2018-04"): {},
        (None, "2018-04"): {5: 1},
        ("web", None): {3: 1},
        ("shop", "2019-01"): {2: 1},
        ("web", "2018-04"): {5: 1},
    }
    assert found.blank == 1
    assert found.invalid is None
    assert found.rows == 8
    assert found.total() == Histogram({1: 1, 2: 1, 3: 1, 4: 1, 5: 3})
    assert list(found.groups) == [
        ("shop", "2018-03"),
        ("shop", "2018-04"),
        ("shop", "2019-01"),
        ("web", "2018-03"),
        ("web", "2018-04"),
        ("web", None),
        (None, "2018-04"),
    ]


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_read_columns_of_every_format(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    assert read_columns(path) == HEADER


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_without_groups_there_is_one_key(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    found = histograms_from_file(path, score="score", scale=FIVE)
    assert found.group_columns == []
    assert as_counts(found) == {(): {1: 1, 2: 1, 3: 1, 4: 1, 5: 3}}


@pytest.mark.parametrize(
    ("delimiter", "suffix"),
    [(",", ".csv"), (";", ".csv"), ("\t", ".csv"), ("|", ".txt"), (";", ".txt"), ("\t", ".tsv")],
)
def test_delimiters_are_detected(tmp_path: Path, delimiter: str, suffix: str) -> None:
    path = write_csv(tmp_path / f"answers{suffix}", HEADER, ROWS, delimiter=delimiter)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found)[("web",)] == {3: 1, 4: 1, 5: 2}


def test_windows_line_endings(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", HEADER, ROWS, newline="\r\n")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found)[("web",)] == {3: 1, 4: 1, 5: 2}


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


def test_parquet_keeps_types_and_turns_keys_into_text(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "score": pa.array([5.0, 4.0, None, 9.0], pa.float64()),
            "store": pa.array([7, 7, 8, None], pa.int32()),
            "vip": pa.array([True, False, True, None]),
            "day": pa.array(
                [dt.date(2021, 1, 3), dt.date(2021, 1, 4), None, dt.date(2020, 12, 31)]
            ),
        }
    )
    pq.write_table(table, tmp_path / "answers.parquet")
    found = histograms_from_file(
        tmp_path / "answers.parquet",
        score="score",
        scale=ELEVEN,
        by=["store", "vip"],
        date="day",
        period=Period.WEEK,
    )
    assert as_counts(found) == {
        ("7", "true", "2020-W53"): {5: 1},
        ("7", "false", "2021-W01"): {4: 1},
        ("8", "true", None): {},
        (None, None, "2020-W53"): {9: 1},
    }
    assert found.blank == 1


def test_parquet_timestamps_with_time_zone_count_in_utc(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    moments = [
        dt.datetime(2020, 1, 31, 23, 30, tzinfo=dt.UTC),
        dt.datetime(2020, 2, 1, 0, 30, tzinfo=dt.UTC),
    ]
    table = pa.table(
        {"score": [1, 2], "at": pa.array(moments, pa.timestamp("us", tz="Europe/Stockholm"))}
    )
    pq.write_table(table, tmp_path / "answers.parquet")
    found = histograms_from_file(
        tmp_path / "answers.parquet", score="score", scale=FIVE, date="at", period=Period.MONTH
    )
    assert as_counts(found) == {("2020-01",): {1: 1}, ("2020-02",): {2: 1}}


# --------------------------------------------------------------------------- encodings


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes("\ufeffscore,segment\n5,café\n4,Zürich\n".encode())
    assert read_columns(path) == ["score", "segment"]
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("Zürich",): {4: 1}}


def test_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    # é is 0xE9, € is 0x80 (not Latin-1), 0x81 is undefined in Windows-1252: read as Latin-1.
    path.write_bytes(b"score;segment\n5;caf\xe9\n4;\x80uro\n3;x\x81y\n2;caf\xe9\n")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {2: 1, 5: 1}, ("€uro",): {4: 1}, ("x\x81y",): {3: 1}}


def test_windows_1252_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_bytes(b"note;cat\xe9gorie\n5;a\n")
    assert read_columns(path) == ["note", "catégorie"]
    found = histograms_from_file(path, score="note", scale=FIVE, by=["catégorie"])
    assert as_counts(found) == {("a",): {5: 1}}


def test_windows_1252_byte_far_into_a_utf8_looking_file(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    body = b"score,segment\n" + b"5,plain\n" * 40_000 + b"4,\x80uro\n3,\x80uro\n"
    path.write_bytes(body)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("plain",): {5: 40_000}, ("€uro",): {3: 1, 4: 1}}


def test_windows_1252_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.jsonl"
    path.write_bytes(b'{"score": 5, "segment": "caf\xe9"}\n{"score": 4, "segment": "\x80"}\n')
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("€",): {4: 1}}


def test_utf16_export(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "answers.txt",
        ["score", "segment"],
        [(5, "café"), (4, "東京")],
        delimiter="\t",
        encoding="utf-16",
        newline="\r\n",
    )
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert as_counts(found) == {("café",): {5: 1}, ("東京",): {4: 1}}


# --------------------------------------------------------------------------- blanks, invalid


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".jsonl"])
def test_blank_answers_are_counted_not_scored(tmp_path: Path, suffix: str) -> None:
    rows = [(1, "5", "a"), (2, "", "a"), (3, "   ", "b"), (4, None, "b"), (5, " 4 ", "a")]
    path = write_table(tmp_path / f"answers{suffix}", ["id", "score", "segment"], rows)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    assert found.blank == 3
    assert found.rows == 5
    assert as_counts(found) == {("a",): {4: 1, 5: 1}, ("b",): {}}


def test_quoted_and_special_blanks_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('score,segment\n"",a\n" \t ",a\n\u00a05\u00a0,a\n"3",a\n', encoding="utf-8")
    found = histograms_from_file(path, score="score", scale=FIVE)
    assert found.blank == 2
    assert found.total() == Histogram({3: 1, 5: 1})


INVALID_ROWS: list[Row] = [
    (1, "5", "a"),
    (2, "4", "a"),
    (3, "11", "b"),
    (4, "abc", "b"),
    (5, "", "a"),
    (6, "7.5", "a"),
    (7, "abc", "a"),
    (8, "0", "b"),
]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".jsonl"])
def test_invalid_scores_raise_with_values_and_lines(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", ["id", "score", "segment"], INVALID_ROWS)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE, by=["segment"])
    invalid = raised.value.invalid
    # Header is line 1 in CSV and XLSX; JSON lines has no header.
    first_line = 1 if suffix == ".jsonl" else 2
    assert invalid == InvalidValues(
        count=5,
        values=["11", "abc", "7.5", "0"],
        lines=[first_line + i for i in (2, 3, 5, 6, 7)],
    )
    assert invalid.describe().startswith("5 invalid scores (values: 11, 'abc', 7.5, 0) on lines")
    assert "\n" not in str(raised.value)


def test_skip_invalid_leaves_them_out_and_reports_them(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", ["id", "score", "segment"], INVALID_ROWS)
    found = histograms_from_file(path, score="score", scale=FIVE, by=["segment"], skip_invalid=True)
    assert as_counts(found) == {("a",): {4: 1, 5: 1}, ("b",): {}}
    assert found.blank == 1
    assert found.rows == 8
    assert found.invalid == InvalidValues(
        count=5, values=["11", "abc", "7.5", "0"], lines=[4, 5, 7, 8, 9]
    )


def test_numeric_column_out_of_scale_and_fractions(tmp_path: Path) -> None:
    rows = [(1, 5.0), (2, 7.5), (3, 11.0), (4, None), (5, -1.0), (6, 10.0)]
    path = write_parquet(tmp_path / "answers.parquet", ["id", "score"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=ELEVEN)
    assert raised.value.invalid == InvalidValues(
        count=3, values=["7.5", "11.0", "-1.0"], lines=[2, 3, 5], unit="row"
    )
    assert raised.value.invalid.describe() == (
        "3 invalid scores (values: 7.5, 11.0, -1.0) on rows 2, 3, 5"
    )


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


def test_text_far_down_a_column_detected_as_numbers(tmp_path: Path) -> None:
    # DuckDB types columns from a sample; the score column is re-read as text when a value
    # further down does not fit.
    rows = [(i, 5) for i in range(1, 30_001)] + [(30_001, "abc"), (30_002, 4)]
    path = write_csv(tmp_path / "answers.csv", ["id", "score"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert raised.value.invalid == InvalidValues(count=1, values=["abc"], lines=[30_002])
    found = histograms_from_file(path, score="score", scale=FIVE, skip_invalid=True)
    assert found.total() == Histogram({4: 1, 5: 30_000})


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


def test_many_distinct_invalid_values_are_cut_at_ten(tmp_path: Path) -> None:
    rows = [(i, f"bad{i}") for i in range(1, 16)]
    path = write_csv(tmp_path / "answers.csv", ["id", "score"], rows)
    with pytest.raises(InvalidScoresError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    invalid = raised.value.invalid
    assert invalid.count == 15
    assert invalid.values == [f"bad{i}" for i in range(1, 11)]
    assert invalid.lines == list(range(2, 12))
    assert invalid.more_values
    assert invalid.describe().endswith("'bad10', ...) on lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ...")


def test_describe_examples() -> None:
    assert (
        InvalidValues(3, ["11", "abc", "7.5"], [4, 9, 12]).describe()
        == "3 invalid scores (values: 11, 'abc', 7.5) on lines 4, 9, 12"
    )
    assert InvalidValues(1, ["nan"], [2]).describe() == "1 invalid score (value: 'nan') on line 2"
    assert (
        InvalidValues(2, ["11"], [2, 3]).describe() == "2 invalid scores (value: 11) on lines 2, 3"
    )


# --------------------------------------------------------------------------- dates, periods


@pytest.mark.parametrize(
    ("period", "labels"),
    [
        (Period.DAY, ["2021-01-03", "2021-01-04", "2018-03-04"]),
        (Period.WEEK, ["2020-W53", "2021-W01", "2018-W09"]),
        (Period.MONTH, ["2021-01", "2021-01", "2018-03"]),
        (Period.QUARTER, ["2021-Q1", "2021-Q1", "2018-Q1"]),
        (Period.YEAR, ["2021", "2021", "2018"]),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".jsonl"])
def test_period_labels(tmp_path: Path, suffix: str, period: Period, labels: list[str]) -> None:
    days = [dt.datetime(2021, 1, 3, 23, 59), dt.datetime(2021, 1, 4, 0, 0), dt.datetime(2018, 3, 4)]
    rows = [(score, day) for score, day in zip((1, 2, 3), days, strict=True)]
    path = write_table(tmp_path / f"answers{suffix}", ["score", "when"], rows)
    found = histograms_from_file(path, score="score", scale=FIVE, date="when", period=period)
    assert found.group_columns == [period.value]
    expected: dict[tuple[str | None, ...], dict[float, int]] = {}
    for score, label in zip((1, 2, 3), labels, strict=True):
        expected.setdefault((label,), {})[score] = 1
    assert as_counts(found) == expected


@pytest.mark.parametrize(
    ("text", "date_format", "label"),
    [
        ("04/03/2018", "%d/%m/%Y", "2018-03-04"),
        ("03/04/2018", "%m/%d/%Y", "2018-03-04"),
        ("04/03/2018 17:45", "%d/%m/%Y %H:%M", "2018-03-04"),
        ("4.3.2018", "%d.%m.%Y", "2018-03-04"),
        ("2018-03-04T23:15:00", "%Y-%m-%dT%H:%M:%S", "2018-03-04"),
    ],
)
def test_text_dates_with_a_format(tmp_path: Path, text: str, date_format: str, label: str) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], [(5, text), (4, "")])
    found = histograms_from_file(
        path, score="score", scale=FIVE, date="when", date_format=date_format, period=Period.DAY
    )
    assert as_counts(found) == {(label,): {5: 1}, (None,): {4: 1}}


@pytest.mark.parametrize(
    ("texts", "label"),
    [
        (["2018-03-04", "2018-03-04 10:00:00", "2018-03-04T10:00"], "2018-03"),
        (["04/03/2018", "25/03/2018 10:00"], "2018-03"),
        (["03/04/2018", "03/25/2018 10:00:00"], "2018-03"),
        (["4.3.2018", "25.3.2018"], "2018-03"),
    ],
)
def test_text_dates_without_a_format_are_detected(
    tmp_path: Path, texts: list[str], label: str
) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], [(5, t) for t in texts])
    found = histograms_from_file(path, score="score", scale=FIVE, date="when", period=Period.MONTH)
    assert as_counts(found) == {(label,): {5: len(texts)}}


def test_day_or_month_first_is_not_guessed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], [(5, "03/04/2018"), (4, "")])
    with pytest.raises(FileInputError, match=r"'03/04/2018' could be day/month or month/day"):
        histograms_from_file(path, score="score", scale=FIVE, date="when", period=Period.MONTH)


def test_a_date_that_does_not_fit_the_format(tmp_path: Path) -> None:
    rows = [(5, "04/03/2018"), (4, "2018-03-05"), (3, "xx")]
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], rows)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(
            path, score="score", scale=FIVE, date="when", date_format="%d/%m/%Y", period=Period.DAY
        )
    assert str(raised.value) == (
        "could not read date '2018-03-05' in column 'when' with format '%d/%m/%Y' "
        "(answers.csv line 3)"
    )


def test_a_date_that_does_not_fit_the_detected_format(tmp_path: Path) -> None:
    rows = [(5, "2018-03-04")] * 1200 + [(4, "soon")]
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], rows)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE, date="when", period=Period.DAY)
    message = str(raised.value)
    assert message.startswith("could not read date 'soon' in column 'when' as an ISO date")
    assert "(answers.csv line 1202)" in message
    assert "\n" not in message


def test_dates_that_read_no_known_way(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], [(5, "March 4th")])
    with pytest.raises(FileInputError, match=r"could not read date 'March 4th' .*line 2"):
        histograms_from_file(path, score="score", scale=FIVE, date="when", period=Period.DAY)


def test_a_date_format_duckdb_does_not_know(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score", "when"], [(5, "2018-03-04")])
    with pytest.raises(FileInputError, match=r"date format '%Q' is not valid"):
        histograms_from_file(
            path, score="score", scale=FIVE, date="when", date_format="%Q", period=Period.DAY
        )


def test_xlsx_mixes_real_dates_and_text_dates(tmp_path: Path) -> None:
    rows = [(5, dt.datetime(2018, 3, 4, 10, 0)), (4, "25/04/2018"), (3, None)]
    path = write_xlsx(tmp_path / "answers.xlsx", ["score", "when"], rows)
    found = histograms_from_file(
        path, score="score", scale=FIVE, date="when", date_format="%d/%m/%Y", period=Period.MONTH
    )
    assert as_counts(found) == {("2018-03",): {5: 1}, ("2018-04",): {4: 1}, (None,): {3: 1}}


def test_a_column_that_holds_no_dates(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "answers.parquet", ["score", "when"], [(5, 3)])
    with pytest.raises(FileInputError, match=r"date column 'when' .* holds BIGINT values"):
        histograms_from_file(path, score="score", scale=FIVE, date="when", period=Period.DAY)


def test_a_score_column_that_holds_dates(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "answers.parquet", ["score"], [(dt.date(2020, 1, 1),)])
    with pytest.raises(FileInputError, match=r"score column 'score' .* holds DATE values"):
        histograms_from_file(path, score="score", scale=FIVE)


def test_a_period_needs_a_date_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score"], [(5,)])
    with pytest.raises(FileInputError, match="needs the date column"):
        histograms_from_file(path, score="score", scale=FIVE, period=Period.MONTH)


# --------------------------------------------------------------------------- file problems


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", HEADER, ROWS)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="rating", scale=FIVE)
    assert str(raised.value) == (
        "score column 'rating' not found in answers.csv; "
        "its columns are: 'id', 'score', 'segment', 'answered'"
    )
    with pytest.raises(FileInputError, match="group column 'region' not found"):
        histograms_from_file(path, score="score", scale=FIVE, by=["region"])
    with pytest.raises(FileInputError, match="date column 'day' not found"):
        histograms_from_file(path, score="score", scale=FIVE, date="day", period=Period.DAY)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".jsonl"])
def test_missing_column_in_other_formats(tmp_path: Path, suffix: str) -> None:
    path = write_table(tmp_path / f"answers{suffix}", HEADER, ROWS)
    with pytest.raises(FileInputError, match=r"'rating' not found .*'id', 'score', 'segment'"):
        histograms_from_file(path, score="rating", scale=FIVE)


def test_columns_match_ignoring_case_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("Score , Segment\n5,a\n", encoding="utf-8")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["SEGMENT"])
    assert as_counts(found) == {("a",): {5: 1}}


def test_column_names_with_quotes_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('How likely? "NPS",It\'s the shop\n9,a\n10,b\n', encoding="utf-8")
    found = histograms_from_file(
        path, score='How likely? "NPS"', scale=ELEVEN, by=["It's the shop"]
    )
    assert as_counts(found) == {("a",): {9: 1}, ("b",): {10: 1}}


def test_group_values_are_kept_as_written_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    path.write_text("score,store\n5,007\n4,7\n3,\n", encoding="utf-8")
    found = histograms_from_file(path, score="score", scale=FIVE, by=["store"])
    assert as_counts(found) == {("007",): {5: 1}, ("7",): {4: 1}, (None,): {3: 1}}


def test_file_names_that_look_like_glob_patterns(tmp_path: Path) -> None:
    write_csv(tmp_path / "answers1.csv", ["score"], [(1,)])
    write_csv(tmp_path / "answers[1].csv", ["score"], [(5,)])
    write_csv(tmp_path / "answers*.parquet", ["score"], [(4,)])
    found = histograms_from_file(tmp_path / "answers[1].csv", score="score", scale=FIVE)
    assert found.total() == Histogram({5: 1})
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(tmp_path / "answers*.parquet", score="score", scale=FIVE)
    assert str(raised.value).startswith("could not read answers*.parquet as Parquet: ")
    assert "cxpulse-" not in str(raised.value)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "answers.xls"
    path.write_bytes(b"x")
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    assert str(raised.value) == (
        "cannot read answers.xls: unsupported file type '.xls'; "
        "supported: .csv, .tsv, .txt, .xlsx, .parquet, .jsonl, .ndjson"
    )


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileInputError, match=r"file not found: .*nope\.csv"):
        histograms_from_file(tmp_path / "nope.csv", score="score", scale=FIVE)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(FileInputError, match="is a directory"):
        read_columns(tmp_path / "folder.csv")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score"], [(5,)])
    path.chmod(0)
    with pytest.raises(FileInputError, match="permission denied"):
        histograms_from_file(path, score="score", scale=FIVE)


@pytest.mark.parametrize("suffix", ALL_FORMATS)
def test_zero_byte_file_is_empty(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"answers{suffix}"
    path.write_bytes(b"")
    with pytest.raises(FileInputError, match=r"answers\..* is empty"):
        histograms_from_file(path, score="score", scale=FIVE)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("answers.csv", "score,segment\n", "only a header line"),
        ("answers.csv", "score,segment\n\n\n", "only a header line"),
        ("answers.csv", "\n\n  \n", "is empty"),
        ("answers.jsonl", "\n\n", "is empty"),
    ],
)
def test_files_without_answers(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FileInputError, match=message):
        histograms_from_file(path, score="score", scale=FIVE)


def test_header_only_xlsx_and_empty_parquet(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "answers.xlsx", ["score", "segment"], [])
    with pytest.raises(FileInputError, match="only a header row"):
        histograms_from_file(xlsx, score="score", scale=FIVE)
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"score": pa.array([], pa.int64())}), tmp_path / "answers.parquet")
    with pytest.raises(FileInputError, match="has no rows"):
        histograms_from_file(tmp_path / "answers.parquet", score="score", scale=FIVE)


def test_empty_workbook(tmp_path: Path) -> None:
    import openpyxl

    openpyxl.Workbook().save(tmp_path / "answers.xlsx")
    with pytest.raises(FileInputError, match="is empty"):
        histograms_from_file(tmp_path / "answers.xlsx", score="score", scale=FIVE)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "answers.parquet",
            b"PAR1 not really parquet",
            "could not read answers.parquet as Parquet",
        ),
        ("answers.xlsx", b"score,segment\n5,a\n", "as an Excel workbook"),
        ("answers.jsonl", b'{"score": 5}\n{"score": \n', "as JSON lines: Malformed JSON"),
        ("answers.csv", b"score,segment\n5,a\n4,b,c,d\n3,a\n", "line 3 has 4 fields, the header 2"),
    ],
)
def test_unreadable_content_gives_one_short_line(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileInputError) as raised:
        histograms_from_file(path, score="score", scale=FIVE)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text
    assert "Possible" not in text
    assert len(text) < 300


# --------------------------------------------------------------------------- against Python


def random_rows(rng: random.Random, count: int) -> list[Row]:
    segments = ["north", "south", "east", "west", None]
    rows: list[Row] = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.05:
            score: Any = None
        elif roll < 0.08:
            score = rng.choice(["", "  ", "n/a", "11", "-1", "2.5"])
        else:
            score = rng.randint(0, 10)
        when = (
            None
            if rng.random() < 0.03
            else dt.datetime(2019, 1, 1) + dt.timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
        )
        rows.append((i, score, rng.choice(segments), rng.choice("ab"), when))
    return rows


RANDOM_HEADER = ["id", "score", "region", "channel", "answered"]


def check_against_python(path: Path, rows: list[Row], period: Period) -> None:
    def key(row: Row) -> tuple[str | None, ...]:
        when = row[4]
        return (row[2], row[3], None if when is None else period_label(period, when))

    groups, blank, invalid = expected_groups(rows, ELEVEN, key)
    found = histograms_from_file(
        path,
        score="score",
        scale=ELEVEN,
        by=["region", "channel"],
        date="answered",
        period=period,
        skip_invalid=True,
    )
    assert found.groups == groups
    assert found.blank == blank
    assert (found.invalid.count if found.invalid else 0) == invalid
    assert found.rows == len(rows)
    assert found.total() == Histogram.from_values(
        float(v)
        for v in (classify(row[1], ELEVEN) for row in rows)
        if v is not None and v != "invalid"
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".xlsx"])
@pytest.mark.parametrize("period", [Period.WEEK, Period.MONTH])
def test_random_data_matches_a_python_count(tmp_path: Path, suffix: str, period: Period) -> None:
    rng = random.Random(f"{suffix}{period}")
    rows = random_rows(rng, 3000 if suffix == ".xlsx" else 20_000)
    if suffix == ".parquet":
        # Parquet columns have one type: text scores stay text.
        rows = [(r[0], None if r[1] is None else str(r[1]), *r[2:]) for r in rows]
    path = write_table(tmp_path / f"answers{suffix}", RANDOM_HEADER, rows)
    check_against_python(path, rows, period)


@pytest.mark.parametrize("by", [[], ["region"]])
def test_long_scales_match_a_python_count(tmp_path: Path, by: list[str]) -> None:
    scale = Scale(0, 1000)  # too many values for one column each: counted as lists
    rng = random.Random(11)
    rows: list[Row] = [
        (i, rng.choice([None, "", "x", "1001", "2.5", *map(str, range(0, 1001, 7))]), None)
        for i in range(5000)
    ]
    rows = [(i, score, rng.choice(["n", "s", None])) for i, score, _ in rows]
    path = write_csv(tmp_path / "answers.csv", ["id", "score", "region"], rows)
    found = histograms_from_file(path, score="score", scale=scale, by=by, skip_invalid=True)
    groups, blank, invalid = expected_groups(rows, scale, lambda row: (row[2],) if by else ())
    assert found.groups == groups
    assert found.blank == blank
    assert found.invalid is not None
    assert found.invalid.count == invalid


scores = st.one_of(
    st.none(),
    st.integers(min_value=-2, max_value=12),
    st.sampled_from(["", " ", "x", "5.0", " 3", "7.5"]),
)
answer_rows = st.lists(
    st.tuples(
        scores,
        st.sampled_from(["a", "b", None]),
        st.sampled_from(["x", "y"]),
        st.one_of(st.none(), st.dates(dt.date(2015, 1, 1), dt.date(2025, 12, 31))),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None)
@given(answer_rows, st.sampled_from(list(Period)))
def test_any_small_csv_matches_a_python_count(
    data: list[tuple[Any, str | None, str, dt.date | None]], period: Period
) -> None:
    rows: list[Row] = [
        (
            i,
            score,
            region,
            channel,
            None if day is None else dt.datetime(day.year, day.month, day.day),
        )
        for i, (score, region, channel, day) in enumerate(data)
    ]
    with tempfile.TemporaryDirectory() as scratch:
        path = write_csv(Path(scratch) / "answers.csv", RANDOM_HEADER, rows)
        check_against_python(path, rows, period)


# --------------------------------------------------------------------------- progress, import


def test_progress_is_reported_from_0_to_100(tmp_path: Path) -> None:
    rows = [(i, i % 5 + 1, i % 3) for i in range(200_000)]
    path = write_csv(tmp_path / "answers.csv", ["id", "score", "segment"], rows)
    seen: list[float] = []
    found = histograms_from_file(
        path, score="score", scale=FIVE, by=["segment"], progress=seen.append
    )
    assert found.rows == 200_000
    assert seen
    assert seen[-1] == 100.0
    assert all(0.0 <= percent <= 100.0 for percent in seen)
    assert seen == sorted(seen)


def test_errors_from_the_worker_thread_reach_the_caller(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "answers.csv", ["score"], [(5,), (9,)])
    with pytest.raises(InvalidScoresError):
        histograms_from_file(path, score="score", scale=FIVE, progress=lambda percent: None)


def test_importing_the_engine_loads_no_heavy_library() -> None:
    code = (
        "import sys, cxpulse.engine, cxpulse.engine.files, cxpulse.engine.periods; "
        "heavy = {'duckdb', 'pyarrow', 'fastexcel', 'pandas', 'numpy'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_process_reading_a_workbook_exits_quietly(tmp_path: Path) -> None:
    """Nothing on stderr: no warnings from DuckDB's or fastexcel's bindings at exit."""
    path = write_xlsx(tmp_path / "answers.xlsx", HEADER, ROWS)
    code = (
        "import sys\n"
        "from cxpulse.engine import Period, histograms_from_file, read_columns\n"
        "from cxpulse.metrics.scales import Scale\n"
        "found = histograms_from_file(sys.argv[1], score='score', scale=Scale(1, 5),\n"
        "    by=['segment'], date='answered', period=Period.MONTH)\n"
        "print(found.rows, read_columns(sys.argv[1]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("8 ")
    assert result.stderr == ""
