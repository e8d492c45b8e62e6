"""Histograms from survey files (CSV/TSV/TXT, XLSX, Parquet, JSON lines): the entry point.

:func:`histograms_from_file` opens the file (:mod:`~cxpulse.engine.sources`), reads the
score, group and date columns (:mod:`~cxpulse.engine.column_sql`,
:mod:`~cxpulse.engine.dates`), runs one aggregate query (:mod:`~cxpulse.engine.histogram_sql`)
and turns its rows, one per group, into :class:`FileHistograms`. No Python loop ever runs
over the answers themselves.

- The score column may be numeric (grouped as it is) or text (``TRY_CAST`` to DOUBLE in
  SQL, trimmed when that fails). A blank answer (NULL, empty or whitespace) is counted and
  never scored. An invalid one (not a number, outside the scale, not a whole number) is found
  in the small result; only then a second query looks up the raw values and their lines
  (see :mod:`~cxpulse.engine.lines` for what a line is).
- Groups are any columns, their values as text (NULL becomes ``None``), and optionally a
  calendar period of a date column, truncated in SQL and labelled afterwards (see
  :mod:`cxpulse.engine.periods`).
- Rows are numbered with ``row_number() OVER ()``, which is file order because DuckDB
  preserves insertion order (its default, which the engine keeps).

DuckDB, Arrow and fastexcel are imported inside the functions, so importing this module is
cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxpulse.engine.column_sql import ScoreSql, score_sql
from cxpulse.engine.csv_retry import text_retry
from cxpulse.engine.dates import BAD_DATE, bad_date, date_sql
from cxpulse.engine.errors import MAX_SHOWN, InvalidScoresError, InvalidValues
from cxpulse.engine.errors import FileInputError as FileInputError
from cxpulse.engine.histogram_sql import histogram_sql, invalid_scores_sql
from cxpulse.engine.periods import Period, period_label
from cxpulse.engine.sources import FORMATS as FORMATS
from cxpulse.engine.sources import Source, open_source, read_error, resolve_column
from cxpulse.metrics.histogram import Histogram

if TYPE_CHECKING:
    from cxpulse.metrics.scales import Scale

# FORMATS and FileInputError are kept importable from here for the modules that import them
# from this module (web/routes/import_upload.py); new code imports them from cxpulse.engine.
__all__ = ["FORMATS", "FileHistograms", "FileInputError", "histograms_from_file"]


@dataclass(frozen=True)
class FileHistograms:
    """Histograms of one file, per group."""

    group_columns: list[str]
    """The ``by`` columns, then the period name (such as ``"month"``) if a period was asked."""
    groups: dict[tuple[str | None, ...], Histogram]
    """Key values as text (``None`` for missing) in ``group_columns`` order; periods as ISO
    labels. Keys come sorted, ``None`` last. A group whose answers are all blank (or invalid
    and skipped) has an empty histogram. Without groups the one key is ``()``."""
    blank: int
    """Answers left blank (NULL, empty or whitespace): not scored."""
    invalid: InvalidValues | None
    """Invalid answers left out, when ``skip_invalid`` was asked and there were some."""
    rows: int
    """Rows read."""

    def total(self) -> Histogram:
        """All groups merged."""
        merged: dict[float, int] = {}
        for histogram in self.groups.values():
            for value, count in histogram:
                merged[value] = merged.get(value, 0) + count
        return Histogram(merged)


def histograms_from_file(
    path: str | Path,
    *,
    score: str,
    scale: Scale,
    by: Sequence[str] = (),
    date: str | None = None,
    date_format: str | None = None,
    period: Period | None = None,
    skip_invalid: bool = False,
    progress: Callable[[float], None] | None = None,
    sheet: int | str | None = None,
    encoding: str | None = None,
) -> FileHistograms:
    """Histograms of the ``score`` column on ``scale``, per ``by`` columns and ``period``.

    ``date`` names the column a ``period`` is taken from; ``date_format`` is how its text is
    written (strptime codes such as ``%d/%m/%Y %H:%M``; detected when not given). Invalid
    scores raise :class:`InvalidScoresError` unless ``skip_invalid``, which leaves them out
    and reports them in ``invalid``. ``progress`` is called with 0..100 while the query
    runs. ``sheet`` picks a workbook's sheet by name or 0-based number (default: the first).
    ``encoding`` names a text file's encoding (default: settled by the rule of
    :mod:`cxpulse.engine.encoding`, which refuses a UTF-8 file with a stray byte).
    Raises :class:`FileInputError` with a one-line message for anything else that is wrong.
    """
    import duckdb

    if period is not None and date is None:
        raise FileInputError("grouping by a period needs the date column")
    if isinstance(by, str):
        by = [by]
    wanted = [score, *by, *([date] if date is not None else [])]
    with open_source(path, sheet, wanted, encoding=encoding) as source:
        score_column = resolve_column(source, score, "score")
        by_columns = [resolve_column(source, name, "group") for name in by]
        date_column = resolve_column(source, date, "date") if date is not None else None
        used = [score_column, *by_columns]
        if date_column is not None:
            used.append(date_column)
        used = list(dict.fromkeys(used))
        if source.kind == "jsonl":
            source.read_as_text(used)
        elif source.kind == "csv":
            # Group values are text anyway: reading them as text skips type detection and
            # keeps them as written ("007" stays "007"). Dates are parsed here, not by the
            # CSV sniffer, which silently picks day-first or month-first for 03/04/2018.
            text_columns = list(by_columns)
            if date_column is not None and period is not None:
                text_columns.append(date_column)
            source.read_as_text(text_columns)

        for _attempt in range(4):
            try:
                return _aggregate(
                    source,
                    score_column=score_column,
                    by_columns=by_columns,
                    date_column=date_column if period is not None else None,
                    date_format=date_format,
                    period=period,
                    scale=scale,
                    skip_invalid=skip_invalid,
                    progress=progress,
                )
            except duckdb.Error as error:
                retry = text_retry(source, error, used)
                if retry is None:
                    raise read_error(source, error) from None
                source.read_as_text([retry])
        raise FileInputError(f"could not read {source.name}")  # pragma: no cover


def _aggregate(
    source: Source,
    *,
    score_column: str,
    by_columns: list[str],
    date_column: str | None,
    date_format: str | None,
    period: Period | None,
    scale: Scale,
    skip_invalid: bool,
    progress: Callable[[float], None] | None,
) -> FileHistograms:
    import duckdb

    score = score_sql(source, score_column)
    dates = date_sql(source, date_column, date_format) if date_column is not None else None
    sql = histogram_sql(
        source.from_item(),
        score=score,
        by_columns=by_columns,
        period=period,
        when=dates.checked if dates is not None else None,
        scale=scale,
    )
    try:
        result = source.run(sql, progress)
    except duckdb.Error as error:
        if BAD_DATE in str(error) and date_column is not None and dates is not None:
            raise bad_date(source, date_column, dates) from None
        raise

    groups, rows, blank, invalid = _groups(result, len(by_columns), period)
    if rows == 0:
        if source.kind == "csv":
            raise FileInputError(f"{source.name} has only a header line and no answers")
        if source.kind == "xlsx":
            raise FileInputError(f"{source.name} has only a header row and no answers")
        raise FileInputError(f"{source.name} has no rows")

    found: InvalidValues | None = None
    if invalid:
        found = _locate_invalid(source, score, scale, invalid)
        if not skip_invalid:
            raise InvalidScoresError(
                found,
                f"{found.describe()} in column {score_column!r} of {source.name} "
                f"(scale {scale.name})",
            )
    group_columns = [*by_columns, *([period.value] if period is not None else [])]
    return FileHistograms(
        group_columns=group_columns,
        groups=groups,
        blank=blank,
        invalid=found,
        rows=rows,
    )


def _groups(
    result: list[tuple[Any, ...]], group_count: int, period: Period | None
) -> tuple[dict[tuple[str | None, ...], Histogram], int, int, int]:
    """The histograms of the aggregate's rows by key, and the rows, blank and invalid answers.

    Column by column: a large file has tens of thousands of groups, and one Python loop
    iteration per group cost more than the rest of the work here (docs/benchmarks.md).
    """
    first_count = group_count + (1 if period is not None else 0)
    # No rows at all, or the one row an aggregate of nothing gives (no groups asked, none read;
    # a group of a GROUP BY always holds a row).
    if not result or (len(result) == 1 and not result[0][first_count]):
        return {}, 0, 0, 0
    columns = list(zip(*result, strict=True))
    keys: list[Iterable[Any]] = list(columns[:group_count])
    if period is not None:
        starts = columns[group_count]
        labels: dict[Any, str | None] = {None: None}
        labels.update(
            (when, period_label(period, when)) for when in set(starts) if when is not None
        )
        keys.append(map(labels.__getitem__, starts))
    key_tuples: Iterable[tuple[Any, ...]] = zip(*keys, strict=True) if keys else [()] * len(result)
    sizes, blanks, invalids, values, counts = columns[first_count:]
    if None in values:  # a group whose answers are all blank (or invalid) has no list
        values = tuple(v or () for v in values)
        counts = tuple(c or () for c in counts)
    # Whole numbers on the scale, ascending and distinct, with positive counts.
    histograms = map(Histogram.trusted, map(dict, map(zip, values, counts)))
    groups = dict(zip(key_tuples, histograms, strict=True))
    return groups, sum(sizes), sum(blanks), sum(invalids)


def _locate_invalid(source: Source, score: ScoreSql, scale: Scale, count: int) -> InvalidValues:
    """The second pass, only when there are invalid answers: their values and lines."""
    rows, values = source.run(invalid_scores_sql(source.from_item(), score, scale))[0]
    rows = list(rows or [])
    values = [str(value) for value in values or []]
    return InvalidValues(
        count=count,
        values=values[:MAX_SHOWN],
        lines=source.lines(rows),
        unit=source.unit,
        more_values=len(values) > MAX_SHOWN,
    )
