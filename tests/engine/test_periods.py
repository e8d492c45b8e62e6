from __future__ import annotations

import datetime as dt
from typing import get_args

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.engine.periods import PERIOD_NAMES, Period, PeriodName, period_label, period_start


@pytest.mark.parametrize(
    ("period", "when", "label"),
    [
        (Period.DAY, dt.date(2018, 3, 4), "2018-03-04"),
        (Period.WEEK, dt.date(2018, 3, 4), "2018-W09"),
        (Period.MONTH, dt.date(2018, 3, 4), "2018-03"),
        (Period.QUARTER, dt.date(2018, 3, 4), "2018-Q1"),
        (Period.QUARTER, dt.date(2018, 4, 1), "2018-Q2"),
        (Period.QUARTER, dt.date(2018, 12, 31), "2018-Q4"),
        (Period.YEAR, dt.date(2018, 3, 4), "2018"),
        (Period.DAY, dt.datetime(2018, 3, 4, 23, 59, 59), "2018-03-04"),
        (Period.YEAR, dt.date(987, 1, 1), "0987"),
    ],
)
def test_labels(period: Period, when: dt.date, label: str) -> None:
    assert period_label(period, when) == label


@pytest.mark.parametrize(
    ("when", "label"),
    [
        (dt.date(2021, 1, 3), "2020-W53"),  # a Sunday: still the last ISO week of 2020
        (dt.date(2021, 1, 4), "2021-W01"),
        (dt.date(2018, 12, 31), "2019-W01"),  # a Monday: the week holds 3 January 2019
        (dt.date(2016, 1, 1), "2015-W53"),
        (dt.date(2020, 12, 31), "2020-W53"),
    ],
)
def test_iso_weeks_belong_to_the_iso_year(when: dt.date, label: str) -> None:
    assert period_label(Period.WEEK, when) == label


def test_period_values_are_the_cli_words() -> None:
    assert [p.value for p in Period] == ["day", "week", "month", "quarter", "year"]
    assert Period("week") is Period.WEEK


@pytest.mark.parametrize(
    ("period", "start"),
    [
        (Period.DAY, dt.date(2021, 1, 3)),
        (Period.WEEK, dt.date(2020, 12, 28)),
        (Period.MONTH, dt.date(2021, 1, 1)),
        (Period.QUARTER, dt.date(2021, 1, 1)),
        (Period.YEAR, dt.date(2021, 1, 1)),
    ],
)
def test_period_start(period: Period, start: dt.date) -> None:
    assert period_start(period, dt.datetime(2021, 1, 3, 12, 0)) == start


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=50))
def test_labels_of_duckdb_truncation_match_python(days: list[dt.date]) -> None:
    """What the engine does (date_trunc in SQL, label in Python) equals labelling each day."""
    con = duckdb.connect()
    try:
        for period in Period:
            part = "day" if period is Period.DAY else period.value
            rows = con.execute(
                f"SELECT d, CAST(date_trunc('{part}', d) AS DATE) FROM unnest(?) AS t(d)",
                [days],
            ).fetchall()
            for day, start in rows:
                assert start == period_start(period, day)
                assert period_label(period, start) == period_label(period, day)
    finally:
        con.close()


def test_the_enum_and_the_names_are_the_same_list() -> None:
    assert tuple(Period) == PERIOD_NAMES
    assert get_args(PeriodName) == PERIOD_NAMES
    assert PERIOD_NAMES == ("day", "week", "month", "quarter", "year")
