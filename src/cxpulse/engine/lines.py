"""Where a data row is in its file: the line a person sees in an editor, for reports.

DuckDB numbers the rows it reads (``row_number() OVER ()``, file order); a report names the
line of the file instead. ``cxpulse score`` and the importer both ask here, so they name the
same line for the same row:

- CSV/TSV/TXT: the physical line (1-based) where the record starts. The file is walked with
  Python's csv module in the dialect DuckDB detected, so lines DuckDB skips before the header
  (a preamble such as "Export of 2020-01-01") are counted, a quoted field spanning lines is
  one record (reported at its first line), and empty lines are skipped as DuckDB skips them
  (unless the file has a single column, where an empty line is a blank answer).
- JSON lines: the line of the record (empty lines skipped, but counted).
- XLSX: the header row is line 1, so data row ``n`` is line ``n + 1``.
- Parquet: the row number itself (the unit is "row").

Walking the file only happens when something is reported, stops at the last row asked, and
continues from there when the next rows asked come later in the file.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from cxpulse.engine.sources import Source

__all__ = ["LineFinder", "record_lines"]


def record_lines(source: Source, rows: Collection[int]) -> dict[int, int]:
    """File line (Parquet: row) of each data row number (1-based, in reading order)."""
    with LineFinder(source) as finder:
        return finder.lines(rows)


class LineFinder:
    """Turns data row numbers into file lines, walking a text file at most once per pass.

    Ask for rows in increasing chunks (as a report written chunk by chunk does) and the file
    is walked once; asking for an earlier row starts the walk again. Close it (or use it as a
    context manager) to close the file.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self._handle: TextIO | None = None
        self._records: Iterator[int] | None = None
        self._row = 0
        """Data rows walked so far."""
        self._line = 0
        """First line of data row ``_row``."""
        self._skipped = 0
        """Lines DuckDB skips before a CSV header."""

    def __enter__(self) -> LineFinder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._records = None

    def lines(self, rows: Collection[int]) -> dict[int, int]:
        """``{row: line}`` for these data rows (1-based)."""
        wanted = sorted(set(rows))
        if not wanted:
            return {}
        kind = self.source.kind
        if kind == "parquet":
            return {row: row for row in wanted}
        if kind == "xlsx":
            return {row: row + 1 for row in wanted}
        if wanted[0] < self._row:  # an earlier row: walk again from the start
            self.close()
            self._row = self._line = 0
        return {row: self._line_of(row) for row in wanted}

    def _line_of(self, row: int) -> int:
        if self._records is None:
            self._records = self._csv_records() if self.source.kind == "csv" else self._json_lines()
        while self._row < row:
            line = next(self._records, None)
            if line is None:
                # Python reads the file differently from DuckDB: the best guess.
                return row + 1 + self._skipped if self.source.kind == "csv" else row
            self._row += 1
            self._line = line
        return self._line

    def _open_text(self) -> TextIO:
        if self._handle is not None:
            self._handle.close()
        handle = self.source.read_path.open(encoding="utf-8-sig", errors="replace", newline="")
        self._handle = handle
        return handle

    def _json_lines(self) -> Iterator[int]:
        for number, line in enumerate(self._open_text(), start=1):
            if line.strip():
                yield number

    def _csv_records(self) -> Iterator[int]:
        """The first line of each data record of a CSV file, in order."""
        source = self.source
        found = source.con.execute(
            f"SELECT Delimiter, Quote, Escape, SkipRows FROM {source.sniff_item()}"
        ).fetchone()
        delimiter, quote, escape, skip = found if found else (",", '"', '"', 0)
        options: dict[str, Any] = {"delimiter": delimiter or ","}
        if not quote or quote == "(empty)":
            options["quoting"] = csv.QUOTE_NONE
        else:
            options["quotechar"] = quote
            if escape and escape not in ("(empty)", quote):
                options |= {"escapechar": escape, "doublequote": False}
        keep_empty = len(source.columns) == 1
        self._skipped = int(skip or 0)
        text = self._open_text()
        for _ in range(self._skipped):
            next(text, None)
        reader = csv.reader(text, **options)
        header_seen = False
        last = 0
        try:
            for record in reader:
                start, last = last + 1, reader.line_num
                if not header_seen:
                    header_seen = bool(record)
                elif record or keep_empty:
                    yield start + self._skipped
        except csv.Error:
            return
