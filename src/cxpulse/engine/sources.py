"""Opening a survey file for DuckDB: its format, encoding, columns and FROM item.

A :class:`Source` is one file on a fresh DuckDB connection with a scratch directory (to spill
to, and for a UTF-8 copy of a file that is not UTF-8). ``cxpulse score`` and the importer both
open files here, so they read the same formats the same way:

- CSV/TSV/TXT (``read_csv``; the dialect, a preamble before the header and the types are
  detected by DuckDB), JSON lines (``read_json``), Parquet (``read_parquet``) and XLSX (a
  sheet read as text, see :mod:`cxpulse.engine.workbooks`).
- Text files are read by the one encoding rule of :mod:`cxpulse.engine.encoding` (UTF-8,
  UTF-16 with BOM, legacy Windows-1252, or the encoding the user names), checked over the
  whole file before DuckDB reads it: a UTF-8 file with a stray byte is refused at its line.
  Files that are not UTF-8 are read through a UTF-8 copy.
- Column names are matched exactly, else ignoring case and surrounding spaces.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxpulse.engine.duck import condense, connect, fetch_all, ident, literal
from cxpulse.engine.encoding import (
    UTF8,
    EncodingProblem,
    decode_head,
    read_head,
    settle_file,
    transcode,
)
from cxpulse.engine.errors import FileInputError
from cxpulse.engine.lines import record_lines
from cxpulse.engine.workbooks import SHEET_TABLE, load_sheet

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FORMATS",
    "STOP_MARK",
    "NotEnoughMemory",
    "Source",
    "open_source",
    "read_columns",
    "read_error",
    "resolve_column",
]

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
"""File name extensions read, and the reader each uses."""

STOP_MARK = "cxpulse:"
"""Errors a query raises on purpose (SQL ``error('cxpulse: ...')``) start with this; they are
passed on as they are, never taken for an encoding problem."""

_KIND_NAMES = {
    "csv": "CSV",
    "xlsx": "an Excel workbook",
    "parquet": "Parquet",
    "jsonl": "JSON lines",
}


@dataclass
class Source:
    """One file as DuckDB sees it: a FROM item, its columns and how rows map to lines."""

    path: Path
    kind: str
    """``csv``, ``jsonl``, ``parquet`` or ``xlsx`` (see :data:`FORMATS`)."""
    con: duckdb.DuckDBPyConnection
    workdir: Path
    """A scratch directory, removed with the source."""
    sheet: int | str | None = None
    named_encoding: str | None = None
    """The encoding the user named, if any (text files only)."""
    read_path: Path = field(init=False)
    """The file DuckDB reads: the original, a link to it, or a UTF-8 copy."""
    encoding: str = UTF8
    """Python's name of the encoding the file was read in (text files)."""
    transcoded: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    """Column name -> DuckDB type, as the rows are read (after ``text`` overrides)."""
    text: set[str] = field(default_factory=set)
    """Columns read as text whatever their detected type (CSV and JSON lines)."""

    def __post_init__(self) -> None:
        self.read_path = self.path
        if self.kind != "xlsx" and any(char in str(self.path) for char in "*?[]{}"):
            # DuckDB reads a path as a glob pattern: "answers[1].csv" would read answers1.csv.
            link = self.workdir / f"input{self.path.suffix.lower()}"
            try:
                link.symlink_to(self.path.resolve())
            except OSError:  # pragma: no cover - no symlinks on this system
                import shutil

                shutil.copyfile(self.path, link)
            self.read_path = link

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def unit(self) -> str:
        """What a reported position counts: ``row`` of Parquet, else ``line``."""
        return "row" if self.kind == "parquet" else "line"

    # -- opening -----------------------------------------------------------------------

    def open(self, wanted: Sequence[str] | None) -> None:
        """Check the file can be read, settle its encoding and find its columns.

        A workbook's sheet is parsed whole by any read, so it is read once: with the
        ``wanted`` columns (and any spelled alike) loaded, or for its column names only.
        """
        if self.kind in ("csv", "jsonl"):
            self._settle_encoding()
        if self.kind == "xlsx":
            names = load_sheet(self.path, self.sheet, self.con, wanted)
            self.columns = {name: "VARCHAR" for name in names}
        else:
            self.columns = self._describe()
        if not self.columns:
            raise FileInputError(f"{self.name} is empty")

    def _settle_encoding(self) -> None:
        """Settle the encoding over the whole file, look at its first lines, and make a UTF-8
        copy for DuckDB when the file is in another encoding."""
        try:
            settled = settle_file(self.path, self.named_encoding)
        except EncodingProblem as problem:
            raise FileInputError(f"could not read {self.name}: {problem}") from None
        self.encoding = settled.codec
        head, complete = read_head(self.path)
        if complete:
            text = decode_head(head, self.encoding)
            lines = [line for line in text.splitlines() if line.strip()]
            if not lines:
                raise FileInputError(f"{self.name} is empty")
            if self.kind == "csv" and len(lines) == 1:
                raise FileInputError(f"{self.name} has only a header line and no answers")
        if settled.transcode:
            target = self.workdir / f"utf8{self.path.suffix.lower()}"
            try:
                transcode(self.path, target, self.encoding)
            except EncodingProblem as problem:  # pragma: no cover - checked just before
                raise FileInputError(f"could not read {self.name}: {problem}") from None
            self.read_path = target
            self.transcoded = True

    def _describe(self) -> dict[str, str]:
        sql = f"DESCRIBE SELECT * FROM {self._from_item(set(), describe=True)}"
        columns = {str(row[0]): str(row[1]) for row in self.run(sql)}
        if self.kind == "csv" and len(columns) == 1:
            # DuckDB falls back to one column when lines disagree on their number of fields.
            only = next(iter(columns))
            delimiter = next((d for d in ",;\t|" if d in only), None)
            if delimiter is not None:
                self._check_field_counts(delimiter)
        return columns

    def _check_field_counts(self, delimiter: str) -> None:
        """Name the first line whose number of fields differs from the header's."""
        import csv

        with self.read_path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, [])
            for row in reader:
                if row and len(row) != len(header):
                    raise FileInputError(
                        f"could not read {self.name} as CSV: line {reader.line_num} has "
                        f"{len(row)} fields, the header {len(header)}"
                    )

    # -- reading -----------------------------------------------------------------------

    def run(self, sql: str, progress: Callable[[float], None] | None = None) -> list[Any]:
        """Run a query on this file (see :func:`cxpulse.engine.duck.fetch_all`)."""
        return fetch_all(self.con, sql, progress)

    def from_item(self) -> str:
        """The file as a FROM item, with the columns read as text that were asked for."""
        return self._from_item(self.text)

    def sniff_item(self) -> str:
        """DuckDB's ``sniff_csv`` of this (CSV) file, as a FROM item: its dialect."""
        return self._from_item(set()).replace("read_csv(", "sniff_csv(", 1)

    def _from_item(self, text: set[str], *, describe: bool = False) -> str:
        path = literal(str(self.read_path))
        if self.kind == "csv":
            options = ["header = true"]
            if self.path.suffix.lower() == ".tsv":
                options.append("delim = '\t'")
            if text:
                types = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in sorted(text))
                options.append(f"types = {{{types}}}")
            return f"read_csv({path}, {', '.join(options)})"
        if self.kind == "jsonl":
            options = ["format = 'newline_delimited'"]
            if not describe:
                columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in sorted(text))
                options.append(f"columns = {{{columns}}}")
            return f"read_json({path}, {', '.join(options)})"
        if self.kind == "parquet":
            return f"read_parquet({path})"
        return ident(SHEET_TABLE)

    def read_as_text(self, names: Sequence[str]) -> None:
        """Read these columns as text (CSV: skip type detection; JSON lines: all used)."""
        if self.kind in ("csv", "jsonl"):
            self.text.update(names)
            if self.kind == "jsonl":
                # Only the listed keys are read, all as text.
                self.columns = {name: "VARCHAR" for name in self.text}
            else:
                for name in names:
                    self.columns[name] = "VARCHAR"

    def load_columns(self, names: Sequence[str]) -> None:
        """Make these columns readable, as text where the format allows it.

        CSV and JSON lines: read as text. A workbook is loaded again with exactly these
        columns (a workbook opened without them has only its column names).
        """
        if self.kind == "xlsx":
            load_sheet(self.path, self.sheet, self.con, list(names))
        else:
            self.read_as_text(list(names))

    def lines(self, rows: Sequence[int]) -> list[int]:
        """File line numbers of these data rows (1-based, in reading order), in their order;
        see :mod:`cxpulse.engine.lines`."""
        found = record_lines(self, rows)
        return [found[row] for row in rows]


def _kind(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        supported = ", ".join(FORMATS)
        raise FileInputError(
            f"cannot read {path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {supported}"
        )
    return kind


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise FileInputError(f"file not found: {path}")
    if path.is_dir():
        raise FileInputError(f"{path} is a directory, not a file")
    try:
        with path.open("rb") as handle:
            first = handle.read(1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise FileInputError(f"cannot read {path}: {reason.lower()}") from None
    if not first:
        raise FileInputError(f"{path.name} is empty")


@contextmanager
def open_source(
    path: str | Path,
    sheet: int | str | None = None,
    wanted: Sequence[str] | None = None,
    *,
    encoding: str | None = None,
    memory_mb: int | None = None,
) -> Iterator[Source]:
    """``path`` opened on a fresh DuckDB connection, with a scratch directory to spill to.

    ``sheet`` picks a workbook's sheet by name or 0-based number (default: the first);
    ``wanted`` names the columns to load from it (default: only its column names are read,
    see :meth:`Source.load_columns`); ``encoding`` is the one the user named for a text file
    (default: settled by :func:`cxpulse.engine.encoding.settle_file`); ``memory_mb`` caps
    DuckDB's memory (see :func:`cxpulse.engine.duck.connect`). The scratch directory, with
    what DuckDB spilled and any UTF-8 copy, is removed when the block ends. Raises
    :class:`FileInputError` with a one-line message.
    """
    import duckdb

    file = Path(path)
    kind = _kind(file)
    _check_readable(file)
    with tempfile.TemporaryDirectory(prefix="cxpulse-") as scratch:
        workdir = Path(scratch)
        con = connect(workdir / "spill", memory_mb=memory_mb)
        try:
            source = Source(file, kind, con, workdir, sheet, encoding)
            try:
                source.open(wanted)
            except duckdb.Error as error:
                raise read_error(source, error) from None
            yield source
        finally:
            con.close()


class NotEnoughMemory(FileInputError):
    """DuckDB ran out of the memory it may use while reading a file (even spilling to disk):
    the file is not wrong, it is too big for the memory given."""


def read_error(source: Source, error: BaseException) -> FileInputError:
    """A DuckDB error reading ``source`` as one line naming the file (not its scratch copy)."""
    import duckdb

    if isinstance(error, duckdb.OutOfMemoryException):
        limit = source.con.execute("SELECT current_setting('memory_limit')").fetchone()
        shown = f" ({limit[0]})" if limit else ""
        return NotEnoughMemory(
            f"could not read {source.name}: it needs more than the memory DuckDB may use{shown}"
        )
    message = condense(str(error).replace(str(source.read_path), source.name))
    return FileInputError(f"could not read {source.name} as {_KIND_NAMES[source.kind]}: {message}")


def read_columns(
    path: str | Path, *, sheet: int | str | None = None, encoding: str | None = None
) -> list[str]:
    """Column names of a file, in file order (the first sheet of a workbook by default)."""
    with open_source(path, sheet, encoding=encoding) as source:
        return list(source.columns)


def resolve_column(source: Source, wanted: str, role: str) -> str:
    """The file's own spelling of a column: exact, else the one equal ignoring case/spaces.

    ``role`` names the column in the error (``score``, ``group``...), which lists the
    columns the file has.
    """
    names = list(source.columns)
    if wanted in names:
        return wanted
    folded = wanted.strip().casefold()
    matches = [name for name in names if name.strip().casefold() == folded]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(repr(name) for name in names[:60])
    if len(names) > 60:
        shown += f", ... ({len(names) - 60} more)"
    raise FileInputError(
        f"{role} column {wanted!r} not found in {source.name}; its columns are: {shown}"
    )
