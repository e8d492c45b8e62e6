"""Histograms from a table in any engine Ibis speaks to: DuckDB, PostgreSQL, Spark and more.

The file path (:mod:`cxpulse.engine.files`) writes DuckDB SQL by hand, tuned for one machine.
This module asks the same question once as an Ibis expression, so that it runs wherever the
answers already are (a PostgreSQL database, a Spark cluster, a warehouse) and only the small
result travels::

    GROUP BY groups, period start, score, "text that is not a number" -> count(*)

One row comes back per group and distinct score (a few thousand at most for tens of thousands
of groups on an eleven-point scale); Python sorts them into :class:`FileHistograms`, the type
the file path returns, so the same maths and the same printing follow.

Rules, the file path's where the engines allow:

- Score: a numeric or boolean column as it is; a text column trimmed, blank (NULL or empty)
  counted and never scored, any other text that is not a number invalid. A number is valid
  when it is a whole number on the scale; the rest are invalid (raised, or left out with
  ``skip_invalid``).
- Groups: any columns; their values become text in Python, the same way on every engine
  (``true``/``false``, ``1.5``, ISO dates), ``None`` for missing, sorted with ``None`` last.
- Period: a DATE or TIMESTAMP column (text is cast to a timestamp by the engine, so it must
  be ISO 8601), truncated by the engine and labelled here (:mod:`cxpulse.engine.periods`).
  Weeks start on Monday on DuckDB, PostgreSQL and Spark alike. Time zones are the engine's:
  the connections of :mod:`cxpulse.engine.backends` all use UTC.
- Filters: any Ibis boolean expressions on the table (a survey, a date range...).

Invalid answers have no line numbers here (a table has no lines); their first values are
found by a second query, only when there are some.

Ibis is imported when a function runs, so importing this module costs nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cxpulse.engine.errors import MAX_SHOWN, FileInputError, InvalidScoresError, InvalidValues
from cxpulse.engine.files import FileHistograms
from cxpulse.engine.periods import Period, period_label
from cxpulse.metrics.histogram import Histogram

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from cxpulse.metrics.scales import Scale
    from cxpulse.metrics.scores import MetricResult, MetricSpec

__all__ = ["TableInputError", "histograms_from_table", "key_text", "score_table"]

# Ibis's truncation units of the periods longer than a day (a day is the date itself).
_UNITS = {Period.WEEK: "W", Period.MONTH: "M", Period.QUARTER: "Q", Period.YEAR: "Y"}


class TableInputError(FileInputError):
    """A table cannot be scored as asked (a column missing or of the wrong type, no rows).
    A :class:`FileInputError`, so that the shells that catch the file path's errors catch it."""


def histograms_from_table(
    table: ir.Table,
    *,
    score: str,
    scale: Scale,
    by: Sequence[str] = (),
    date: str | None = None,
    period: Period | None = None,
    filters: Sequence[ir.BooleanValue] = (),
    skip_invalid: bool = False,
    name: str = "the table",
) -> FileHistograms:
    """Histograms of the ``score`` column of ``table`` on ``scale``, per ``by`` and ``period``.

    ``date`` names the column a ``period`` is taken from; ``filters`` keep only the rows for
    which they all hold. ``name`` names the table in messages. Invalid scores raise
    :class:`InvalidScoresError` unless ``skip_invalid``, which leaves them out and reports
    them in ``invalid``. Raises :class:`TableInputError` for anything else that is wrong.
    """
    if isinstance(by, str):
        by = [by]
    if period is not None and date is None:
        raise TableInputError("grouping by a period needs the date column")
    for column, role in [(score, "score"), *((b, "group") for b in by), (date, "date")]:
        if column is not None and column not in table.columns:
            shown = ", ".join(repr(c) for c in table.columns[:60])
            raise TableInputError(
                f"{role} column {column!r} not found in {name}; its columns are: {shown}"
            )
    if filters:
        table = table.filter(*filters)
    value, not_a_number = _score_expressions(table, score, name)
    keys = {f"k{i}": table[column] for i, column in enumerate(by)}
    if period is not None and date is not None:
        keys["p"] = _period_start(table, date, period, name)
    counted = table.mutate(**keys, s=value, bad=not_a_number)
    result = _fetch(counted.group_by([*keys, "s", "bad"]).aggregate(n=counted.count()))
    found = _collect(result, len(by), period, scale)
    if found.rows == 0:
        raise TableInputError(f"{name} has no rows" + (" that match" if filters else ""))
    if found.invalid_count:
        invalid = _invalid_values(table, score, value, not_a_number, scale, found.invalid_count)
        if not skip_invalid:
            raise InvalidScoresError(
                invalid, f"{_describe(invalid)} in column {score!r} of {name} (scale {scale.name})"
            )
    else:
        invalid = None
    return FileHistograms(
        group_columns=[*by, *([period.value] if period is not None else [])],
        groups=found.groups,
        blank=found.blank,
        invalid=invalid,
        rows=found.rows,
    )


def score_table(
    table: ir.Table,
    spec: MetricSpec,
    *,
    score: str,
    by: Sequence[str] = (),
    date: str | None = None,
    period: Period | None = None,
    filters: Sequence[ir.BooleanValue] = (),
    skip_invalid: bool = False,
) -> dict[tuple[str | None, ...], MetricResult]:
    """The ``spec`` score of ``table`` overall (key ``()``) and per group, with intervals.

    The Python face of ``cxpulse score --engine ...``: the same histograms, the same maths::

        import ibis
        from cxpulse.metrics import Metric, MetricSpec
        con = ibis.duckdb.connect()
        scores = score_table(con.read_parquet("answers.parquet"),
                             MetricSpec.default(Metric.NPS), score="ltr", by=["region"])
        scores[()].value, scores[("EU",)].ci_low
    """
    from cxpulse.metrics.scores import score as score_of

    found = histograms_from_table(
        table,
        score=score,
        scale=spec.scale,
        by=by,
        date=date,
        period=period,
        filters=filters,
        skip_invalid=skip_invalid,
    )
    scores: dict[tuple[str | None, ...], MetricResult] = {(): score_of(found.total(), spec)}
    if found.group_columns:
        scores.update((key, score_of(h, spec)) for key, h in found.groups.items())
    return scores


def _score_expressions(table: ir.Table, score: str, name: str) -> tuple[ir.Value, ir.Value]:
    """The answer as a float (NULL when blank or not a number), and whether it is text that is
    not a number."""
    import ibis

    column = table[score]
    kind = column.type()
    if kind.is_numeric():
        return column.cast("float64"), ibis.literal(False)
    if kind.is_boolean():
        return column.cast("int8").cast("float64"), ibis.literal(False)
    if kind.is_string():
        text = column.cast("string")
        trimmed = text.strip()
        blank = trimmed.isnull() | (trimmed == "")
        number = trimmed.try_cast("float64")
        value = ibis.ifelse(blank, ibis.null("float64"), number)
        return value, ~blank & number.isnull()
    raise TableInputError(f"score column {score!r} of {name} holds {kind} values, not numbers")


def _period_start(table: ir.Table, date: str, period: Period, name: str) -> ir.Value:
    column = table[date]
    kind = column.type()
    if kind.is_string():
        column = column.cast("timestamp")
    elif not (kind.is_timestamp() or kind.is_date()):
        raise TableInputError(f"date column {date!r} of {name} holds {kind} values, not dates")
    if period is Period.DAY:
        return column.date() if not column.type().is_date() else column
    return column.truncate(_UNITS[period])


class _Collected:
    """The aggregate's rows sorted into histograms per key, with the counts around them."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str | None, ...], Histogram] = {}
        self.rows = 0
        self.blank = 0
        self.invalid_count = 0


def _collect(
    result: Iterable[dict[str, Any]], group_count: int, period: Period | None, scale: Scale
) -> _Collected:
    found = _Collected()
    counts: dict[tuple[Any, ...], dict[int, int]] = {}
    names = [f"k{i}" for i in range(group_count)] + (["p"] if period is not None else [])
    for row in result:
        key = tuple(row[name] for name in names)
        per_value = counts.setdefault(key, {})
        n = int(row["n"])
        found.rows += n
        value = row["s"]
        if row["bad"]:
            found.invalid_count += n
        elif value is None:
            found.blank += n
        elif _valid(value, scale):
            per_value[int(value)] = per_value.get(int(value), 0) + n
        else:
            found.invalid_count += n
    labelled = [(_sort_key(raw, group_count, period), raw) for raw in counts]
    for _order, raw in sorted(labelled, key=lambda pair: pair[0]):
        text_key = tuple(key_text(part) for part in raw[:group_count])
        if period is not None:
            start = raw[group_count]
            text_key += (None if start is None else period_label(period, start),)
        histogram = counts[raw]
        found.groups[text_key] = Histogram.trusted(dict(sorted(histogram.items())))
    return found


def _sort_key(raw: tuple[Any, ...], group_count: int, period: Period | None) -> tuple[Any, ...]:
    """Keys as the file path sorts them: as text, then by period start; missing last."""
    parts: list[tuple[bool, Any]] = []
    for part in raw[:group_count]:
        text = key_text(part)
        parts.append((text is None, text or ""))
    if period is not None:
        start = raw[group_count]
        day = start.date() if isinstance(start, dt.datetime) else start
        parts.append((start is None, day or dt.date.min))
    return tuple(parts)


def _valid(value: float, scale: Scale) -> bool:
    return math.isfinite(value) and scale.low <= value <= scale.high and value == round(value)


def key_text(value: Any) -> str | None:
    """A group value as text, the same on every engine: what DuckDB's ``CAST(... AS VARCHAR)``
    writes for the common types."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    # Numbers (int, float, Decimal) and anything else as Python writes them, which is what
    # DuckDB writes for them too (1, 1.5, 2.0).
    return str(value)


def _invalid_values(
    table: ir.Table,
    score: str,
    value: ir.Value,
    not_a_number: ir.Value,
    scale: Scale,
    count: int,
) -> InvalidValues:
    """The second query, only when there are invalid answers: their first distinct values."""
    number_ok = (
        value.notnull() & (value >= scale.low) & (value <= scale.high) & (value == value.round())
    )
    raw = table[score].cast("string").strip()
    bad = table.mutate(raw=raw, wrong=not_a_number | (value.notnull() & ~number_ok))
    rows = _fetch(
        bad.filter(bad.wrong).select("raw").distinct().order_by("raw").limit(MAX_SHOWN + 1)
    )
    values = [str(row["raw"]) for row in rows]
    return InvalidValues(
        count=count,
        values=values[:MAX_SHOWN],
        lines=[],
        unit="row",
        more_values=len(values) > MAX_SHOWN,
    )


def _fetch(expr: ir.Table) -> list[dict[str, Any]]:
    """The (small) result of ``expr`` as dicts.

    Through Arrow, except on Spark: Ibis fetches Spark results through pandas, which pyspark 4
    does not fully support with pandas 3; Spark's own rows need neither.
    """
    backend = expr._find_backend()
    if backend.name == "pyspark":
        sql = backend.compile(expr)
        session = backend._session
        return [row.asDict() for row in session.sql(sql).collect()]
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def _describe(invalid: InvalidValues) -> str:
    """Like :meth:`InvalidValues.describe`, without the lines a table does not have."""
    text = invalid.describe()
    return text[: text.rfind(" on row")] if " on row" in text else text
