"""SQL expressions that differ between SQLite and PostgreSQL: days, period labels, JSON text.

SQLite stores instants as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` and dates as
``YYYY-MM-DD``; its date functions read both. PostgreSQL instants are converted to UTC first
so that a label never depends on the session's time zone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String, cast, func, type_coerce
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.engine.periods import PERIOD_NAMES, PeriodName

# The one list of periods is the engine's; these names stay for the store's callers.
Period = PeriodName
PERIODS: tuple[Period, ...] = PERIOD_NAMES
Column = ColumnElement[Any] | QueryableAttribute[Any]

_PG_FORMATS: dict[Period, str] = {
    "day": "YYYY-MM-DD",
    "week": 'IYYY-"W"IW',
    "month": "YYYY-MM",
    "quarter": 'YYYY-"Q"Q',
    "year": "YYYY",
}
_SQLITE_FORMATS: dict[Period, str] = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}
_SQLITE_DATE_PREFIX: dict[Period, int] = {"day": 10, "month": 7, "year": 4}


def utc_day(instant: Column, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of an instant column, as a DATE."""
    if dialect == "sqlite":
        return type_coerce(func.substr(instant, 1, 10), Date)
    return cast(func.timezone("UTC", instant), Date)


def period_label(
    column: Column, period: Period, dialect: str, *, is_date: bool
) -> ColumnElement[str]:
    """ISO label of the period holding ``column``: 2018-03-04, 2018-W09, 2018-03, 2018-Q1, 2018."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    if dialect == "sqlite":
        if is_date and period in _SQLITE_DATE_PREFIX:
            # A DATE is stored as 'YYYY-MM-DD' text: a prefix is its day, month or year, and
            # far cheaper than strftime over a hundred thousand rollup rows.
            return func.substr(column, 1, _SQLITE_DATE_PREFIX[period], type_=String)
        return _sqlite_label(column, period)
    local = column if is_date else func.timezone("UTC", column)
    return func.to_char(local, _PG_FORMATS[period], type_=String)


def _sqlite_label(column: Column, period: Period) -> ColumnElement[str]:
    if period in _SQLITE_FORMATS:
        return func.strftime(_SQLITE_FORMATS[period], column, type_=String)
    if period == "quarter":
        month = cast(func.strftime("%m", column), Integer)
        return func.printf("%s-Q%d", func.strftime("%Y", column), (month + 2) // 3, type_=String)
    # ISO 8601 week: it belongs to the year of its Thursday and is numbered from that year's
    # first Thursday. '-3 days' then 'weekday 4' (next Thursday, or the same day) moves any
    # day Monday..Sunday to the Thursday of its ISO week; SQLite before 3.46 has no %V.
    thursday = func.date(column, "-3 days", "weekday 4")
    week = (cast(func.strftime("%j", thursday), Integer) - 1) // 7 + 1
    return func.printf("%s-W%02d", func.strftime("%Y", thursday), week, type_=String)


def json_text(column: Any, key: str) -> ColumnElement[str]:
    """The text at ``column[key]`` (NULL when absent): SQLite json_extract, PostgreSQL ``->>``."""
    expression: ColumnElement[str] = column[key].as_string()
    return expression
