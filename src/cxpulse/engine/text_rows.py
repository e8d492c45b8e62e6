"""A file's rows one by one, in file order, with their lines: what the text commands read.

``cxpulse score`` needs only counts, so it never brings the answers into Python. The text
commands (``comments``, ``themes``, ``drivers``) need each row: a comment to analyse, its
score, its segment, the ratings of a key-driver analysis. :func:`read_text_rows` reads the
columns asked for through the same :class:`~cxpulse.engine.sources.Source` as ``score``
(formats, encodings, column names, one-line errors) and returns them as columns of Python
values, in file order, with the line each row starts on (:mod:`cxpulse.engine.lines`: a
preamble before the header is counted, a quoted field over several lines is one row).

- The text column: as written, trimmed of surrounding whitespace, ``""`` when blank.
- The score column: checked on the scale exactly as ``score`` checks it (same SQL, same
  message). Invalid scores raise :class:`InvalidScoresError` unless ``skip_invalid``, which
  reads them as unscored and reports them in :attr:`TextRows.invalid`.
- The group (``--by``) column: text, ``None`` when missing.
- Number columns (an outcome and its drivers): any finite number, ``None`` when blank;
  anything else raises :class:`InvalidNumbersError` naming the values and their lines.

DuckDB is imported inside the function, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxpulse.engine.column_sql import (
    NUMBER_TYPES,
    TEXT_TYPES,
    WHITESPACE,
    TextSql,
    score_sql,
    valid_score_sql,
)
from cxpulse.engine.csv_retry import text_retry
from cxpulse.engine.duck import ident
from cxpulse.engine.errors import MAX_SHOWN, FileInputError, InvalidScoresError, InvalidValues
from cxpulse.engine.lines import LineFinder
from cxpulse.engine.sources import Source, open_source, read_error, resolve_column

if TYPE_CHECKING:
    from cxpulse.metrics.scales import Scale

__all__ = ["InvalidNumbersError", "TextRows", "read_text_rows"]


@dataclass(frozen=True)
class TextRows:
    """The columns asked for, one value per data row, in file order."""

    name: str
    """The file's name, for messages."""
    unit: str
    """What :attr:`lines` count: ``line`` of a text file or sheet, ``row`` of Parquet."""
    lines: tuple[int, ...]
    """Where each row starts in the file (1-based; empty when lines were not asked for)."""
    texts: tuple[str, ...] | None = None
    """The text column, trimmed; ``""`` for a blank cell. ``None`` when not asked for."""
    scores: tuple[float | None, ...] | None = None
    """The score column: a whole number on the scale, ``None`` when blank (or invalid and
    skipped). ``None`` when not asked for."""
    groups: tuple[str | None, ...] | None = None
    """The group column as text, ``None`` for a missing value. ``None`` when not asked for."""
    numbers: Mapping[str, tuple[float | None, ...]] = field(default_factory=dict)
    """Each number column by the name it was asked by: a finite number, ``None`` when blank."""
    columns: Mapping[str, str] = field(default_factory=dict)
    """The name each column was asked by -> the file's own spelling of it."""
    blank_scores: int = 0
    """Rows whose score is blank."""
    invalid: InvalidValues | None = None
    """Invalid scores read as unscored, when ``skip_invalid`` was asked and there were some."""
    count: int = 0
    """Data rows read."""


class InvalidNumbersError(FileInputError):
    """A number column (an outcome or a driver) holds values that are not numbers."""

    def __init__(self, invalid: InvalidValues, column: str, message: str) -> None:
        super().__init__(message)
        self.invalid = invalid
        self.column = column


def read_text_rows(
    path: str | Path,
    *,
    text: str | None = None,
    score: str | None = None,
    scale: Scale | None = None,
    by: str | None = None,
    numbers: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    with_lines: bool = True,
    progress: Callable[[float], None] | None = None,
    sheet: int | str | None = None,
    encoding: str | None = None,
) -> TextRows:
    """The ``text``, ``score``, ``by`` and number columns of a file, row by row.

    ``scale`` is needed with ``score``. ``numbers`` maps each number column to the role it is
    named by in errors (``outcome``, ``driver``). ``with_lines`` walks a text file once more
    to find each row's line (errors find theirs in any case). ``progress``, ``sheet`` and
    ``encoding`` are those of :func:`cxpulse.engine.histograms_from_file`. Raises
    :class:`FileInputError` (one line, for people) for a file that cannot be read as asked,
    :class:`InvalidScoresError` or :class:`InvalidNumbersError` for values that are refused.
    """
    import duckdb

    numbers = dict(numbers or {})
    if score is not None and scale is None:
        raise ValueError("a score column needs its scale")
    asked = [name for name in (text, score, by) if name is not None] + list(numbers)
    if not asked:
        raise ValueError("no column asked for")
    with open_source(path, sheet, asked, encoding=encoding) as source:
        resolved: dict[str, str] = {}
        roles = [(text, "text"), (score, "score"), (by, "group"), *numbers.items()]
        for name, role in roles:
            if name is not None:
                resolved[name] = resolve_column(source, name, role)
        used = list(dict.fromkeys(resolved.values()))
        if source.kind == "jsonl":
            source.read_as_text(used)
        elif source.kind == "csv":
            # Text and groups as written ("007" stays "007"); scores and numbers by the CSV
            # sniffer's type, as ``score`` reads them, so that a refused value is shown the
            # same way (``11.0`` in a column of decimals), and as text when that type fails
            # further down the file (below).
            source.read_as_text([resolved[name] for name in (text, by) if name is not None])
        for name, role in numbers.items():
            _check_number_type(source, resolved[name], role)
        for _attempt in range(len(used) + 1):
            query = _Query(source, resolved, text, score, scale, by, list(numbers))
            try:
                result = source.run(query.sql(), progress)
            except duckdb.Error as error:
                retry = text_retry(source, error, used)
                if retry is None:
                    raise read_error(source, error) from None
                source.read_as_text([retry])
                continue
            if not result:
                _no_rows(source)
            return query.rows(result, skip_invalid=skip_invalid, with_lines=with_lines)
        raise FileInputError(f"could not read {source.name}")  # pragma: no cover


def _check_number_type(source: Source, column: str, role: str) -> None:
    column_type = source.columns[column]
    plain = column_type in NUMBER_TYPES or column_type in TEXT_TYPES
    if not (plain or column_type.startswith("DECIMAL") or column_type == "BOOLEAN"):
        raise FileInputError(
            f"{role} column {column!r} of {source.name} holds {column_type} values, not numbers"
        )


def _no_rows(source: Source) -> None:
    if source.kind == "csv":
        raise FileInputError(f"{source.name} has only a header line and no answers")
    if source.kind == "xlsx":
        raise FileInputError(f"{source.name} has only a header row and no answers")
    raise FileInputError(f"{source.name} has no rows")


class _Query:
    """The one query that reads the asked columns in file order, and what its rows mean."""

    def __init__(
        self,
        source: Source,
        resolved: Mapping[str, str],
        text: str | None,
        score: str | None,
        scale: Scale | None,
        by: str | None,
        numbers: Sequence[str],
    ) -> None:
        self.source = source
        self.resolved = resolved
        self.text = text
        self.score = score
        self.scale = scale
        self.by = by
        self.numbers = numbers

    def sql(self) -> str:
        source = self.source
        columns = list(dict.fromkeys(self.resolved.values()))
        selects = ["cx_rn"]
        if self.text is not None:
            column = self.resolved[self.text]
            selects.append(TextSql.of(column, source.columns[column]).value)
        if self.score is not None:
            assert self.scale is not None
            found = score_sql(source, self.resolved[self.score])
            valid = valid_score_sql(f"({found.value})", self.scale)
            selects.append(f"CASE WHEN {valid} THEN ({found.value}) END")
            # The raw value only where it is refused, as ``score`` reports it.
            selects.append(
                f"CASE WHEN ({found.value}) IS NOT NULL AND NOT ({valid}) THEN {found.raw} END"
            )
        if self.by is not None:
            selects.append(f"CAST({ident(self.resolved[self.by])} AS VARCHAR)")
        for name in self.numbers:
            found = score_sql(source, self.resolved[name])
            finite = f"isfinite(({found.value})::DOUBLE)"
            selects.append(f"CASE WHEN {finite} THEN ({found.value})::DOUBLE END")
            selects.append(
                f"CASE WHEN ({found.value}) IS NOT NULL AND NOT {finite} THEN {found.raw} END"
            )
        # Rows are numbered in file order (DuckDB keeps insertion order, as the engine does
        # throughout); the ORDER BY keeps that order through the window's parallel work.
        numbered = ", ".join(ident(column) for column in columns)
        return (
            f"WITH cx_in AS (SELECT row_number() OVER () AS cx_rn, {numbered} "
            f"FROM {source.from_item()}) SELECT {', '.join(selects)} FROM cx_in ORDER BY cx_rn"
        )

    def rows(
        self, result: list[tuple[Any, ...]], *, skip_invalid: bool, with_lines: bool
    ) -> TextRows:
        source = self.source
        columns = iter(list(zip(*result, strict=True)))
        row_numbers: tuple[int, ...] = next(columns)
        texts = scores = groups = None
        blank = 0
        invalid: InvalidValues | None = None
        finder = LineFinder(source)
        try:
            if self.text is not None:
                texts = tuple(_trimmed(value) for value in next(columns))
            if self.score is not None:
                assert self.scale is not None
                values, raws = next(columns), next(columns)
                bad = [i for i, raw in enumerate(raws) if raw is not None]
                blank = sum(1 for value in values if value is None) - len(bad)
                if bad:
                    invalid = _invalid(finder, row_numbers, raws, bad, source.unit)
                    if not skip_invalid:
                        column = self.resolved[self.score]
                        raise InvalidScoresError(
                            invalid,
                            f"{invalid.describe()} in column {column!r} of {source.name} "
                            f"(scale {self.scale.name})",
                        )
                scores = tuple(values)
            if self.by is not None:
                groups = tuple(next(columns))
            numbers: dict[str, tuple[float | None, ...]] = {}
            for name in self.numbers:
                values, raws = next(columns), next(columns)
                bad = [i for i, raw in enumerate(raws) if raw is not None]
                if bad:
                    found = _invalid(finder, row_numbers, raws, bad, source.unit)
                    column = self.resolved[name]
                    raise InvalidNumbersError(
                        found,
                        column,
                        f"{_not_numbers(found)} in column {column!r} of {source.name}",
                    )
                numbers[name] = tuple(values)
            lines = tuple(finder.lines(row_numbers).values()) if with_lines else ()
        finally:
            finder.close()
        return TextRows(
            name=source.name,
            unit=source.unit,
            lines=lines,
            texts=texts,
            scores=scores,
            groups=groups,
            numbers=numbers,
            columns=dict(self.resolved),
            blank_scores=blank,
            invalid=invalid if skip_invalid else None,
            count=len(row_numbers),
        )


def _trimmed(value: Any) -> str:
    return "" if value is None else str(value).strip(WHITESPACE)


def _invalid(
    finder: LineFinder,
    row_numbers: Sequence[int],
    raws: Sequence[Any],
    bad: Sequence[int],
    unit: str,
) -> InvalidValues:
    """The refused values (distinct, first ones in file order) and the lines of the first."""
    distinct = list(dict.fromkeys(str(raws[i]) for i in bad))
    first = [row_numbers[i] for i in bad[:MAX_SHOWN]]
    found = finder.lines(first)
    return InvalidValues(
        count=len(bad),
        values=distinct[:MAX_SHOWN],
        lines=[found[row] for row in first],
        unit=unit,
        more_values=len(distinct) > MAX_SHOWN,
    )


def _not_numbers(found: InvalidValues) -> str:
    """Such as ``2 values that are not numbers ('n/a', 'x') on lines 4, 9``."""
    plural = found.count != 1
    shown = ", ".join(repr(value) for value in found.values)
    if found.more_values:
        shown += ", ..."
    where = ", ".join(str(line) for line in found.lines)
    if found.count > len(found.lines):
        where += ", ..."
    what = "values that are not numbers" if plural else "value that is not a number"
    return f"{found.count} {what} ({shown}) on {found.unit}{'s' if plural else ''} {where}"
