"""The file engine's helpers the importer reuses, in one place.

``cxpulse.engine.files`` keeps these private because they are its plumbing; the importer
reads files exactly as ``cxpulse score`` does (formats, encodings with the Windows-1252 and
UTF-16 fallback, Excel sheets, column names matched ignoring case, date format detection), so
it borrows them here rather than copying them. Should the engine rename one, only this module
changes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cxpulse.engine import files as _files
from cxpulse.engine.duck import literal
from cxpulse.engine.files import FileInputError

if TYPE_CHECKING:
    from cxpulse.metrics.scales import Scale

Source = _files._Source
"""A file as DuckDB sees it: ``from_item()``, ``columns`` (name -> DuckDB type), ``run()``."""

__all__ = [
    "FileInputError",
    "Source",
    "check_date_format",
    "load_columns",
    "open_source",
    "record_lines",
    "resolve_column",
    "trimmed_sql",
    "valid_score_sql",
]

TEXT_TYPES = _files._TEXT_TYPES
DATE_TYPES = _files._DATE_TYPES
NUMBER_TYPES = _files._INTEGER_TYPES | _files._FLOAT_TYPES
DATE_FAMILIES: dict[str, list[str]] = {
    base: [base + time for time in _files._TIMES] for base in _files._DATE_BASES
}
"""The text date formats ``cxpulse score`` detects: a date order, with or without times."""


@contextmanager
def open_source(path: str | Path, sheet: int | str | None = None) -> Iterator[Source]:
    """The file on a fresh DuckDB connection (with a scratch directory to spill to)."""
    with _files._opened(path, sheet) as source:
        yield source


def load_columns(source: Source, names: Sequence[str]) -> None:
    """Read these columns, as text where the format allows it (CSV, JSON lines, Excel)."""
    if source.kind == "xlsx":
        source._load_sheet(list(names))
    else:
        source.read_as_text(list(names))


def resolve_column(source: Source, wanted: str, role: str) -> str:
    """The file's spelling of a column; the error lists the columns the file has."""
    return _files._resolve(source, wanted, role)


WHITESPACE = " \t\r\n\v\f\u00a0\u2007\u202f\ufeff"
"""What the engine trims from cells (``_WHITESPACE``): spaces, tabs, line ends, no-break."""
_WHITESPACE_CODES = ", ".join(str(ord(char)) for char in WHITESPACE)


def trimmed_sql(source: Source, column: str) -> str:
    """SQL: the column as text trimmed of whitespace, NULL when blank.

    Trimming with a character set is slow in DuckDB, so only values that start or end with
    one of those characters are trimmed (most values pass untouched).
    """
    value = _files._TextSql.of(column, source.columns[column]).value
    return (
        f"CASE WHEN {value} IS NULL OR {value} = '' THEN NULL "
        f"WHEN ord({value}[1]) IN ({_WHITESPACE_CODES}) "
        f"OR ord({value}[-1]) IN ({_WHITESPACE_CODES}) "
        f"THEN nullif(trim({value}, {_files._WHITESPACE}), '') ELSE {value} END"
    )


def check_date_format(source: Source, date_format: str) -> None:
    _files._check_format(source, date_format)


def valid_score_sql(value: str, scale: Scale) -> str:
    """SQL: whether a non-NULL number is a whole number on the scale."""
    return _files._valid_sql(value, scale)


def record_lines(source: Source, rows: Collection[int]) -> dict[int, int]:
    """File line (or Parquet row) of each data row number (1-based, in reading order)."""
    with LineFinder(source) as finder:
        return finder.lines(rows)


class LineFinder:
    """Turns data row numbers into file lines, walking the file once for rows asked in order.

    For CSV the file is walked with Python's csv module in the dialect DuckDB sniffed, so a
    quoted comment that spans several lines moves the line numbers after it as it should.
    Other kinds ask the engine (Excel: row + 1, Parquet: the row itself). Runs only when
    something is reported; a report asks chunk after chunk, each starting after the last.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self._handle: TextIO | None = None
        self._reader: Iterator[list[str]] | None = None
        self._line = 0
        self._row = 0
        self._header_seen = False
        self._keep_empty = len(source.columns) == 1
        self._line_of: Callable[[], int] = lambda: 0

    def __enter__(self) -> LineFinder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        wanted = sorted(set(rows))
        if not wanted:
            return {}
        if self.source.kind != "csv":
            return dict(zip(wanted, self.source.lines(wanted), strict=True))
        if wanted[0] < self._row:  # asked about earlier rows: walk again from the start
            self.close()
            self._reader, self._row, self._header_seen = None, 0, False
        return {row: self._csv_line(row) for row in wanted}

    def _open(self) -> Iterator[list[str]]:
        source = self.source
        sniffed = source.con.execute(
            f"SELECT Delimiter, Quote, Escape FROM sniff_csv({literal(str(source.read_path))})"
        ).fetchone()
        delimiter, quote, escape = sniffed if sniffed is not None else (",", '"', "")
        if source.path.suffix.lower() == ".tsv":
            delimiter = "\t"
        options: dict[str, Any] = {"delimiter": delimiter or ","}
        if not quote or quote == "(empty)":
            options["quoting"] = csv.QUOTE_NONE
        else:
            options["quotechar"] = quote
        if escape and escape not in ("(empty)", quote):
            options["escapechar"] = escape
            options["doublequote"] = False
        self._handle = source.read_path.open(encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(self._handle, **options)
        self._line_of = lambda: reader.line_num
        return reader

    def _csv_line(self, wanted: int) -> int:
        if self._reader is None:
            self._reader = self._open()
        while self._row < wanted:
            before = self._line_of()
            try:
                record = next(self._reader)
            except (StopIteration, csv.Error):
                # A file the csv module reads differently: the best guess.
                return wanted + 1
            if not record and not self._keep_empty:
                continue
            if not self._header_seen:
                self._header_seen = True
                continue
            self._row += 1
            self._line = before + 1
        return self._line
