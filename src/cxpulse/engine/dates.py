"""Dates in survey files: how a date column is read in SQL, and how text dates are written.

Date and timestamp columns are used as they are. Text dates are parsed with the format given
(strptime codes such as ``%d/%m/%Y %H:%M``) or with one detected from the first 1,000
non-blank values: ISO first, then the date orders of :data:`DATE_FAMILIES`, refusing to guess
between day-first and month-first when both read every value. A non-blank date that does not
parse stops the query; :func:`bad_date` then finds the first one and names its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cxpulse.engine.column_sql import DATE_TYPES, TEXT_TYPES, TextSql
from cxpulse.engine.duck import condense, ident, literal
from cxpulse.engine.errors import FileInputError
from cxpulse.engine.sources import STOP_MARK

if TYPE_CHECKING:
    from cxpulse.engine.sources import Source

__all__ = [
    "BAD_DATE",
    "DATE_FAMILIES",
    "DateSql",
    "bad_date",
    "check_date_format",
    "date_sql",
    "parse_sql",
]

BAD_DATE = f"{STOP_MARK} date does not parse"
"""The error a query raises on a non-blank date that does not parse."""

# Text date formats tried, in order, when a text date column comes without a format (each
# also with the times of _TIMES). The first that reads every sampled value wins; values such
# as 03/04/2018 that read both day-first and month-first are refused as ambiguous.
_DATE_BASES = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S")
DATE_FAMILIES: dict[str, list[str]] = {
    base: [base + time for time in _TIMES] for base in _DATE_BASES
}
"""The text date formats detected, by date order (day/month/year...), each with and without
times, in the order they are tried."""
_DATE_SAMPLE = 1000
_YEARS = "BETWEEN 1900 AND 2200"


@dataclass(frozen=True)
class DateSql:
    """A date column as SQL."""

    parsed: str
    """The date as DATE or TIMESTAMP; NULL when blank or when it does not parse."""
    checked: str
    """``parsed``, but stopping the query (:data:`BAD_DATE`) on a date that does not parse."""
    text: str | None = None
    """The date as trimmed text (NULL when blank), for a text column; else None."""
    formats: list[str] | None = None
    """The text formats tried (None: ISO)."""
    format_given: bool = False


def date_sql(source: Source, column: str, date_format: str | None) -> DateSql:
    """How to read ``column`` of ``source`` as a date, detecting a text column's format
    when ``date_format`` is not given."""
    column_type = source.columns[column]
    quoted = ident(column)
    if column_type == "DATE":
        return DateSql(quoted, quoted)
    if column_type in DATE_TYPES:
        as_timestamp = f"CAST({quoted} AS TIMESTAMP)"
        return DateSql(as_timestamp, as_timestamp)
    if column_type not in TEXT_TYPES:
        raise FileInputError(
            f"date column {column!r} of {source.name} holds {column_type} values, not dates"
        )
    text = TextSql.of(column, column_type)
    iso_too = source.kind == "xlsx"
    if date_format is not None:
        check_date_format(source, date_format)
        formats: list[str] | None = [date_format]
    else:
        formats = _detect_formats(source, column, text, iso_too=iso_too)
    fast = parse_sql(text.value, formats, iso_too=iso_too)
    slow = parse_sql(text.trimmed, formats, iso_too=iso_too)
    return DateSql(
        parsed=f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {slow} END",
        checked=(
            f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {text.blank} THEN NULL "
            f"WHEN {slow} IS NOT NULL THEN {slow} ELSE error({literal(BAD_DATE)}) END"
        ),
        text=text.trimmed,
        formats=formats,
        format_given=date_format is not None,
    )


def parse_sql(text: str, formats: list[str] | None, *, iso_too: bool = False) -> str:
    """SQL: text to TIMESTAMP with these strptime formats (None: ISO); NULL when none fits.

    ``iso_too`` also accepts ISO text: workbook cells that hold real dates arrive as ISO
    text, whatever the text cells of the same column look like.
    """
    iso = f"TRY_CAST({text} AS TIMESTAMP)"
    if formats is None:
        return iso
    listed = ", ".join(literal(fmt) for fmt in formats)
    parsed = f"try_strptime({text}, [{listed}])"
    return f"coalesce({parsed}, {iso})" if iso_too else parsed


def check_date_format(source: Source, date_format: str) -> None:
    """Raise :class:`FileInputError` when DuckDB does not know this strptime format."""
    import duckdb

    try:
        source.con.execute(f"SELECT try_strptime('2000-01-01', {literal(date_format)})")
    except duckdb.Error as error:
        raise FileInputError(
            f"date format {date_format!r} is not valid: {condense(error)}"
        ) from None


def _detect_formats(
    source: Source, column: str, text: TextSql, *, iso_too: bool
) -> list[str] | None:
    """Find how the dates of a text column are written, from its first non-blank values.

    ISO dates (``2018-03-04``, ``2018-03-04 10:00:00``, ``2018-03-04T10:00``) cast directly
    (returns None); otherwise the first of :data:`DATE_FAMILIES` that reads every sampled
    value with a plausible year, its formats in the order of how many sampled values each
    reads. Day-first and month-first both fitting is refused.
    """
    sample_sql = (
        f"SELECT rn, t FROM (SELECT row_number() OVER () AS rn, {text.trimmed} AS t "
        f"FROM {source.from_item()}) WHERE t IS NOT NULL LIMIT {_DATE_SAMPLE}"
    )
    checks = ["count(*) FILTER (WHERE TRY_CAST(t AS TIMESTAMP) IS NULL)"]
    for formats in DATE_FAMILIES.values():
        parsed = parse_sql("t", formats, iso_too=iso_too)
        checks.append(f"count(*) FILTER (WHERE {parsed} IS NULL OR year({parsed}) NOT {_YEARS})")
    every_format = [fmt for formats in DATE_FAMILIES.values() for fmt in formats]
    checks += [
        f"count(*) FILTER (WHERE try_strptime(t, {literal(fmt)}) IS NOT NULL)"
        for fmt in every_format
    ]
    sql = (
        f"WITH cx_sample AS MATERIALIZED ({sample_sql}) "
        f"SELECT min(rn), arg_min(t, rn), {', '.join(checks)} FROM cx_sample"
    )
    first_row, first_value, *counts = source.run(sql)[0]
    families = len(DATE_FAMILIES)
    failures = counts[: families + 1]
    hits = dict(zip(every_format, counts[families + 1 :], strict=True))
    if first_row is None or failures[0] == 0:
        return None
    fitting = [name for name, fails in zip(DATE_FAMILIES, failures[1:], strict=True) if not fails]
    if "%d/%m/%Y" in fitting and "%m/%d/%Y" in fitting:
        raise FileInputError(
            f"dates in column {column!r} of {source.name} such as {first_value!r} could be "
            "day/month or month/day: give the date format ('%d/%m/%Y' or '%m/%d/%Y', "
            "with ' %H:%M' if they have times)"
        )
    if fitting:
        # Most used first: DuckDB tries a list of formats in order, and a miss is slow.
        return sorted(DATE_FAMILIES[fitting[0]], key=lambda fmt: -hits[fmt])
    bad_sql = (
        f"WITH cx_sample AS ({sample_sql}) SELECT rn, t FROM cx_sample "
        "WHERE TRY_CAST(t AS TIMESTAMP) IS NULL ORDER BY rn LIMIT 1"
    )
    row, value = source.run(bad_sql)[0]
    line = source.lines([row])[0]
    raise FileInputError(
        f"could not read date {value!r} in column {column!r} ({source.name} {source.unit} "
        f"{line}): give its format, such as '%d/%m/%Y %H:%M'"
    )


def bad_date(source: Source, column: str, dates: DateSql) -> FileInputError:
    """The first date of the file that does not parse, as a one-line error."""
    sql = (
        f"WITH cx_numbered AS (SELECT row_number() OVER () AS rn, {dates.text} AS t, "
        f"{dates.parsed} AS d FROM {source.from_item()}) "
        "SELECT rn, t FROM cx_numbered WHERE t IS NOT NULL AND d IS NULL ORDER BY rn LIMIT 1"
    )
    found = source.run(sql)
    if found:
        row, value = found[0]
        where = f"{source.name} {source.unit} {source.lines([row])[0]}"
    else:  # pragma: no cover - the first query said there is one
        value, where = "?", source.name
    start = f"could not read date {value!r} in column {column!r}"
    fmt = dates.formats[0] if dates.formats else None
    if dates.format_given:
        return FileInputError(f"{start} with format {fmt!r} ({where})")
    if fmt is not None:
        return FileInputError(
            f"{start} with format {fmt!r}, detected from the first dates ({where}); "
            "give the format all dates share, such as '%d/%m/%Y %H:%M'"
        )
    return FileInputError(
        f"{start} as an ISO date such as 2018-03-04 or 2018-03-04 10:00:00 ({where}); "
        "give its format, such as '%d/%m/%Y %H:%M'"
    )
