"""histograms_from_file: every format, groups, blanks, invalid scores, against Python."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.engine import InvalidScoresError, InvalidValues, histograms_from_file
from cxpulse.engine.periods import Period, period_label
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Scale

from .samples import ALL_FORMATS, ELEVEN, FIVE, HEADER, ROWS, as_counts, classify, expected_groups
from .writers import Row, write_csv, write_parquet, write_table, write_xlsx

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
