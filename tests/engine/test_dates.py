"""Dates and periods of files: formats given or detected, dates that do not parse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cxpulse.engine import FileInputError, histograms_from_file
from cxpulse.engine.periods import Period

from .samples import FIVE, as_counts
from .writers import write_csv, write_parquet, write_table, write_xlsx

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
