"""SQL expressions that differ between SQLite and PostgreSQL: days, period labels, JSON text.

SQLite stores instants as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` and dates as
``YYYY-MM-DD``; its date functions read both. PostgreSQL instants are converted to UTC first
so that a label never depends on the session's time zone.

``json_text`` is the one lookup of a response property or contact attribute by name (filters,
segments, breakdowns, goals, reports): the name is always a bound parameter, so any Unicode
name works alike on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, Integer, String, bindparam, cast, func, null, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

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


class _JsonText(FunctionElement[str]):
    """The text under one key of a JSON object column; compiled per dialect below."""

    type = String()
    name = "cxpulse_json_text"
    inherit_cache = True


@compiles(_JsonText, "sqlite")
def _sqlite_json_text(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    # Not json_extract: SQLite's JSON path has no escape for a double quote in a key
    # ('$."a"b"' is a path error, which failed every page counting such a segment), and
    # SQLite before 3.45 compares a path key with the key as written in the stored JSON, so
    # "café", which Python writes as "caf\u00e9", was never found. json_each gives each key
    # decoded, and the key is compared as a bound parameter: any text matches itself.
    document, key = element.clauses
    return (
        "(SELECT CAST(json_key.value AS VARCHAR) "
        f"FROM json_each({compiler.process(document, **kw)}) AS json_key "
        f"WHERE json_key.key = {compiler.process(key, **kw)})"
    )


@compiles(_JsonText)
def _postgresql_json_text(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    # ->> takes the key as a bound parameter, so no character is special. The cast picks the
    # object form of ->> (an untyped parameter could also be an array index).
    document, key = element.clauses
    return f"({compiler.process(document, **kw)} ->> CAST({compiler.process(key, **kw)} AS TEXT))"


def _storable_key(key: str) -> bool:
    """Whether a JSON object stored by either database can hold the key ``key``: PostgreSQL
    text holds no NUL character, and neither database holds half of a surrogate pair."""
    if "\x00" in key:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_text(column: Any, key: str) -> ColumnElement[str]:
    """The text at ``column[key]`` (NULL when absent), for any key: quotes, dots, brackets,
    backslashes, ``$``, ``*`` and any other Unicode are plain characters of the name.

    The key is always a bound parameter, never part of the SQL text or of a JSON path. A key
    no stored object can hold (see ``_storable_key``) is NULL on both databases, rather than
    an error on one of them.
    """
    if not _storable_key(key):
        return null().cast(String)
    return _JsonText(column, bindparam(None, key, type_=String()))
