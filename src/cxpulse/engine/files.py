"""Histograms from survey files: CSV/TSV/TXT, XLSX, Parquet and JSON lines.

One aggregate query in DuckDB, ``GROUP BY groups, period, score -> count(*)`` (then one row
per group over that small result), does all the work; Python only sees one row per group. No
Python loop ever runs over the answers themselves.

- The score column may be numeric (grouped as it is) or text (``TRY_CAST`` to DOUBLE in
  SQL, trimmed when that fails). A blank answer (NULL, empty or whitespace) is counted and
  never scored. An invalid one (not a number, outside the scale, not a whole number) is found
  in the small result; only then a second query looks up the raw values and their lines.
- Groups are any columns, their values as text (NULL becomes ``None``), and optionally a
  calendar period of a date column, truncated in SQL and labelled afterwards (see
  :mod:`cxpulse.engine.periods`). Text dates are parsed with the format given, or one
  detected from the first values (ISO, day-first or month-first, refusing to guess between
  the last two).
- Line numbers are those of the file. CSV/TSV/TXT: the header is line 1 (after any preamble
  DuckDB skips), a record whose quoted field holds line breaks is reported at its first line
  (the file is re-read with the dialect DuckDB detected, only when something is reported).
  XLSX: the header row is line 1, i.e. the sheet's first used row is taken to be its first
  row. JSON lines: the line of the record. Parquet: the row number. Rows are numbered with
  ``row_number() OVER ()``, which is file order because DuckDB preserves insertion order
  (its default, which the engine keeps).
- Files that are not UTF-8 (Windows-1252, UTF-16 with BOM) are read through a UTF-8 copy.

DuckDB, Arrow and fastexcel are imported inside the functions, so importing this module is
cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxpulse.engine.duck import condense, connect, fetch_all, ident, literal
from cxpulse.engine.encoding import (
    Encoding,
    decode_text,
    read_head,
    sniff_encoding,
    transcode,
)
from cxpulse.engine.periods import Period, period_label
from cxpulse.metrics.histogram import Histogram

if TYPE_CHECKING:
    import duckdb

    from cxpulse.metrics.scales import Scale

__all__ = [
    "FORMATS",
    "FileHistograms",
    "FileInputError",
    "InvalidScoresError",
    "InvalidValues",
    "histograms_from_file",
    "read_columns",
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

MAX_SHOWN = 10
"""How many invalid values and line numbers are reported."""

_KIND_NAMES = {
    "csv": "CSV",
    "xlsx": "an Excel workbook",
    "parquet": "Parquet",
    "jsonl": "JSON lines",
}
_WHITESPACE = literal(" \t\r\n\v\f\u00a0\u2007\u202f\ufeff")
_BAD_DATE = "cxpulse: date does not parse"
_INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE"})
_DATE_TYPES = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE"}
)
_TEXT_TYPES = frozenset({"VARCHAR", "JSON"})

# Text date formats tried, in order, when a text date column comes without a format (each
# also with the times of _TIMES). The first that reads every sampled value wins; values such
# as 03/04/2018 that read both day-first and month-first are refused as ambiguous.
_DATE_BASES = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y/%m/%d")
_TIMES = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f", "T%H:%M", "T%H:%M:%S")
_DATE_SAMPLE = 1000
_MAX_PIVOT = 101
"""Scales with at most this many values are counted with one column per value."""


class FileInputError(Exception):
    """A file cannot be read as asked. The message is one line, meant for people."""


@dataclass(frozen=True)
class InvalidValues:
    """Answers that are not a whole number on the scale, and where the first ones are."""

    count: int
    """Number of rows with an invalid score."""
    values: list[str]
    """Distinct offending raw values, first 10 in file order, as text."""
    lines: list[int]
    """First 10 line numbers (1-based; see the module notes for what a line is)."""
    unit: str = "line"
    """What ``lines`` count: ``"line"`` of a text file or sheet, or ``"row"`` of Parquet."""
    more_values: bool = False
    """Whether there are more distinct values than ``values`` shows."""

    def describe(self) -> str:
        """Such as ``3 invalid scores (values: 11, 'abc', 7.5) on lines 4, 9, 12``."""
        plural = self.count != 1
        shown = ", ".join(_show_value(value) for value in self.values)
        if self.more_values:
            shown += ", ..."
        value_word = "values" if len(self.values) > 1 or self.more_values else "value"
        where = ", ".join(str(line) for line in self.lines)
        if self.count > len(self.lines):
            where += ", ..."
        unit = self.unit + ("s" if plural else "")
        return (
            f"{self.count} invalid score{'s' if plural else ''} "
            f"({value_word}: {shown}) on {unit} {where}"
        )


def _show_value(value: str) -> str:
    """Numbers as they are, anything else quoted: ``11``, ``7.5``, ``'abc'``."""
    try:
        number = float(value)
    except ValueError:
        return repr(value)
    return value if number == number and abs(number) != float("inf") else repr(value)


class InvalidScoresError(FileInputError):
    """Some answers are not whole numbers on the scale; ``invalid`` says which and where."""

    def __init__(self, invalid: InvalidValues, message: str | None = None) -> None:
        super().__init__(message or invalid.describe())
        self.invalid = invalid


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


# --------------------------------------------------------------------------- sources


@dataclass
class _Source:
    """One file as DuckDB sees it: a FROM item, its columns and how rows map to lines."""

    path: Path
    kind: str
    con: duckdb.DuckDBPyConnection
    workdir: Path
    sheet: int | str | None = None
    read_path: Path = field(init=False)
    """The file DuckDB reads: the original, a link to it, or a UTF-8 copy."""
    encoding: Encoding = Encoding.UTF8
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

    # -- opening -----------------------------------------------------------------------

    def open(self, wanted: Sequence[str] | None) -> None:
        """Check the file can be read, settle its encoding and find its columns.

        A workbook's sheet is parsed whole by any read, so it is read once: with the
        ``wanted`` columns (and any spelled alike) loaded, or for its column names only.
        """
        if self.kind in ("csv", "jsonl"):
            self._check_text_head()
        if self.kind == "xlsx":
            self.columns = {name: "VARCHAR" for name in self._load_sheet(wanted)}
        else:
            self.columns = self._describe()
        if not self.columns:
            raise FileInputError(f"{self.name} is empty")

    def _check_text_head(self) -> None:
        head, complete = read_head(self.path)
        self.encoding = sniff_encoding(head, complete)
        if complete:
            lines = [line for line in decode_text(head, self.encoding).splitlines() if line.strip()]
            if not lines:
                raise FileInputError(f"{self.name} is empty")
            if self.kind == "csv" and len(lines) == 1:
                raise FileInputError(f"{self.name} has only a header line and no answers")
        if self.encoding is not Encoding.UTF8:
            self._transcode()

    def _transcode(self) -> None:
        """Read the file through a UTF-8 copy (Windows-1252 or UTF-16 originals)."""
        if self.encoding is Encoding.UTF8:
            self.encoding = Encoding.CP1252
        target = self.workdir / f"utf8{self.path.suffix.lower()}"
        transcode(self.path, target, self.encoding)
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

    def run(self, sql: str, progress: Callable[[float], None] | None = None) -> list[Any]:
        """Run a query on this file, transcoding it once if it turns out not to be UTF-8."""
        import duckdb

        while True:
            try:
                return fetch_all(self.con, sql, progress)
            except duckdb.Error as error:
                message = str(error)
                if _BAD_DATE in message:
                    raise
                not_utf8 = "Invalid unicode" in message or "invalid UTF-8" in message
                if not_utf8 and self.kind in ("csv", "jsonl") and not self.transcoded:
                    before = literal(str(self.read_path))
                    self._transcode()
                    sql = sql.replace(before, literal(str(self.read_path)))
                    continue
                raise

    # -- the FROM item -----------------------------------------------------------------

    def from_item(self) -> str:
        return self._from_item(self.text)

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
        return ident("cxpulse_sheet")

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

    # -- Excel ---------------------------------------------------------------------------

    def _reader(self) -> Any:
        import fastexcel

        try:
            return fastexcel.read_excel(self.path)
        except fastexcel.FastExcelError as error:
            raise FileInputError(
                f"could not read {self.name} as an Excel workbook: {_first_line(error)}"
            ) from None

    def _sheet_index(self, reader: Any) -> int | str:
        names: list[str] = list(reader.sheet_names)
        if not names:
            raise FileInputError(f"{self.name} has no sheets")
        sheet = 0 if self.sheet is None else self.sheet
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise FileInputError(
                    f"{self.name} has no sheet number {sheet} (it has {len(names)}: "
                    f"{', '.join(names)})"
                )
        elif sheet not in names:
            raise FileInputError(
                f"sheet {sheet!r} not found in {self.name}; its sheets are: {', '.join(names)}"
            )
        return sheet

    def _load_sheet(self, wanted: Sequence[str] | None) -> list[str]:
        """Load the sheet's ``wanted`` columns, as text, into DuckDB as ``cxpulse_sheet``.

        Returns the names of all the sheet's columns. Columns are read as text so that
        nothing is coerced away: a cell "n/a" in a column of numbers stays "n/a" (and is
        reported), dates become ISO text. Without ``wanted`` only the names are read.
        """
        import fastexcel

        reader = self._reader()
        index = self._sheet_index(reader)
        try:
            if wanted is None:
                sheet = reader.load_sheet(index, n_rows=0)
                return [str(column.name) for column in sheet.available_columns()]
            folded = {name.strip().casefold() for name in wanted}
            sheet = reader.load_sheet(
                index,
                use_columns=lambda column: column.name.strip().casefold() in folded,
                dtypes="string",
                skip_whitespace_tail_rows=True,
            )
            batch = sheet.to_arrow()
            names = [str(column.name) for column in sheet.available_columns()]
        except fastexcel.FastExcelError as error:
            raise FileInputError(f"could not read {self.name}: {_first_line(error)}") from None
        finally:
            sheet = None  # no reference cycle through the callback outlives the read
        if batch.num_columns:
            self.con.register("cxpulse_sheet", batch)
        return names

    # -- rows to lines -----------------------------------------------------------------

    @property
    def unit(self) -> str:
        return "row" if self.kind == "parquet" else "line"

    def lines(self, rows: Sequence[int]) -> list[int]:
        """File line numbers of these data rows (1-based, in reading order)."""
        if not rows:
            return []
        if self.kind == "parquet":
            return list(rows)
        if self.kind == "xlsx":
            return [row + 1 for row in rows]
        return self._scan_lines(rows)

    def _scan_lines(self, rows: Sequence[int]) -> list[int]:
        """Walk the text file to the last row asked, as DuckDB reads it.

        Only runs when something is reported, and stops at the last row it needs. CSV is
        read with the dialect DuckDB detected, so a quoted field spanning lines is one
        record (reported at the line where it starts), lines skipped before the header are
        counted, and empty lines are skipped as DuckDB skips them (unless the file has a
        single column, where an empty line is a blank answer). JSON lines skip empty lines.
        """
        wanted = sorted(set(rows))
        found: dict[int, int] = {}
        if self.kind == "csv":
            records = self._csv_record_lines()
        else:
            records = (
                number for number, line in enumerate(self._text_lines(), start=1) if line.strip()
            )
        for row, number in enumerate(records, start=1):
            if row == wanted[len(found)]:
                found[row] = number
                if len(found) == len(wanted):
                    break
        offset = 1 if self.kind == "csv" else 0
        return [found.get(row, row + offset) for row in rows]

    def _text_lines(self) -> Iterator[str]:
        with self.read_path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            yield from handle

    def _csv_record_lines(self) -> Iterator[int]:
        """The first line of each data record of a CSV file, in order."""
        import csv

        sniff = self._from_item(set()).replace("read_csv(", "sniff_csv(", 1)
        found = self.con.execute(
            f"SELECT Delimiter, Quote, Escape, SkipRows FROM {sniff}"
        ).fetchone()
        delimiter, quote, escape, skip = found if found else (",", '"', '"', 0)
        options: dict[str, Any] = {"delimiter": delimiter}
        if quote in ("", "(empty)"):
            options["quoting"] = csv.QUOTE_NONE
        else:
            options["quotechar"] = quote
            if escape not in ("", "(empty)", quote):
                options |= {"escapechar": escape, "doublequote": False}
        keep_empty = len(self.columns) == 1
        lines = self._text_lines()
        for _ in range(int(skip)):
            next(lines, None)
        reader = csv.reader(lines, **options)
        next(reader, None)  # the header
        last = reader.line_num
        for record in reader:
            start, last = last + 1, reader.line_num
            if record or keep_empty:
                yield start + int(skip)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
def _opened(
    path: str | Path, sheet: int | str | None, wanted: Sequence[str] | None = None
) -> Iterator[_Source]:
    """A source for ``path`` on a fresh DuckDB connection, with a scratch directory."""
    import tempfile

    import duckdb

    file = Path(path)
    kind = _kind(file)
    _check_readable(file)
    with tempfile.TemporaryDirectory(prefix="cxpulse-") as scratch:
        workdir = Path(scratch)
        con = connect(workdir / "spill")
        try:
            source = _Source(file, kind, con, workdir, sheet)
            try:
                source.open(wanted)
            except duckdb.Error as error:
                raise _read_error(source, error) from None
            yield source
        finally:
            con.close()


def _read_error(source: _Source, error: BaseException) -> FileInputError:
    message = condense(str(error).replace(str(source.read_path), source.name))
    return FileInputError(f"could not read {source.name} as {_KIND_NAMES[source.kind]}: {message}")


# --------------------------------------------------------------------------- columns


def read_columns(path: str | Path, *, sheet: int | str | None = None) -> list[str]:
    """Column names of a file, in file order (the first sheet of a workbook by default)."""
    with _opened(path, sheet) as source:
        return list(source.columns)


def _resolve(source: _Source, wanted: str, role: str) -> str:
    """The file's own spelling of a column: exact, else the one equal ignoring case/spaces."""
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


# --------------------------------------------------------------------------- SQL pieces


@dataclass(frozen=True)
class _TextSql:
    """A column read as text. Expressions try the value as it is first: trimming with a
    character set is slow in DuckDB, so only values that fail the fast path are trimmed."""

    value: str

    @classmethod
    def of(cls, column: str, column_type: str) -> _TextSql:
        value = ident(column)
        if column_type == "JSON":
            return cls(f"json_extract_string({value}, '$')")
        if column_type != "VARCHAR":
            return cls(f"CAST({value} AS VARCHAR)")
        return cls(value)

    @property
    def trimmed(self) -> str:
        """Trimmed of spaces, tabs, no-break spaces...; NULL when blank."""
        return f"nullif(trim({self.value}, {_WHITESPACE}), '')"

    @property
    def blank(self) -> str:
        return f"({self.value} IS NULL OR trim({self.value}, {_WHITESPACE}) = '')"


@dataclass(frozen=True)
class _ScoreSql:
    column: str
    """The score column, quoted."""
    value: str
    """The answer as a number; NULL when blank; NaN when text that is not a number."""
    raw: str
    """The answer as text, for reports."""


def _score_sql(source: _Source, column: str) -> _ScoreSql:
    column_type = source.columns[column]
    quoted = ident(column)
    raw = f"CAST({quoted} AS VARCHAR)"
    if column_type in _INTEGER_TYPES or column_type in _FLOAT_TYPES:
        return _ScoreSql(quoted, quoted, raw)
    if column_type.startswith("DECIMAL"):
        return _ScoreSql(quoted, f"CAST({quoted} AS DOUBLE)", raw)
    if column_type == "BOOLEAN":
        return _ScoreSql(quoted, f"CAST({quoted} AS TINYINT)", raw)
    if column_type in _TEXT_TYPES:
        text = _TextSql.of(column, column_type)
        fast = f"TRY_CAST({text.value} AS DOUBLE)"
        value = (
            f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {text.blank} THEN NULL "
            f"ELSE coalesce(TRY_CAST({text.trimmed} AS DOUBLE), CAST('NaN' AS DOUBLE)) END"
        )
        return _ScoreSql(quoted, value, text.trimmed)
    raise FileInputError(
        f"score column {column!r} of {source.name} holds {column_type} values, not numbers"
    )


@dataclass(frozen=True)
class _DateSql:
    parsed: str
    """The date as DATE or TIMESTAMP; NULL when blank or when it does not parse."""
    checked: str
    """``parsed``, but stopping the query on a non-blank date that does not parse."""
    text: str | None = None
    """The date as trimmed text (NULL when blank), for a text column; else None."""
    formats: list[str] | None = None
    """The text formats tried (None: ISO)."""
    format_given: bool = False


def _date_sql(source: _Source, column: str, date_format: str | None) -> _DateSql:
    column_type = source.columns[column]
    quoted = ident(column)
    if column_type == "DATE":
        return _DateSql(quoted, quoted)
    if column_type in _DATE_TYPES:
        as_timestamp = f"CAST({quoted} AS TIMESTAMP)"
        return _DateSql(as_timestamp, as_timestamp)
    if column_type not in _TEXT_TYPES:
        raise FileInputError(
            f"date column {column!r} of {source.name} holds {column_type} values, not dates"
        )
    text = _TextSql.of(column, column_type)
    iso_too = source.kind == "xlsx"
    if date_format is not None:
        _check_format(source, date_format)
        formats: list[str] | None = [date_format]
    else:
        formats = _detect_date_formats(source, column, text, iso_too=iso_too)
    fast = _parse_sql(text.value, formats, iso_too=iso_too)
    slow = _parse_sql(text.trimmed, formats, iso_too=iso_too)
    return _DateSql(
        parsed=f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {slow} END",
        checked=(
            f"CASE WHEN {fast} IS NOT NULL THEN {fast} WHEN {text.blank} THEN NULL "
            f"WHEN {slow} IS NOT NULL THEN {slow} ELSE error({literal(_BAD_DATE)}) END"
        ),
        text=text.trimmed,
        formats=formats,
        format_given=date_format is not None,
    )


def _parse_sql(text: str, formats: list[str] | None, *, iso_too: bool = False) -> str:
    """Text to TIMESTAMP with these strptime formats (None: ISO); NULL when none fits.

    ``iso_too`` also accepts ISO text: workbook cells that hold real dates arrive as ISO
    text, whatever the text cells of the same column look like.
    """
    iso = f"TRY_CAST({text} AS TIMESTAMP)"
    if formats is None:
        return iso
    listed = ", ".join(literal(fmt) for fmt in formats)
    parsed = f"try_strptime({text}, [{listed}])"
    return f"coalesce({parsed}, {iso})" if iso_too else parsed


def _check_format(source: _Source, date_format: str) -> None:
    import duckdb

    try:
        source.con.execute(f"SELECT try_strptime('2000-01-01', {literal(date_format)})")
    except duckdb.Error as error:
        raise FileInputError(
            f"date format {date_format!r} is not valid: {condense(error)}"
        ) from None


def _detect_date_formats(
    source: _Source, column: str, text: _TextSql, *, iso_too: bool
) -> list[str] | None:
    """Find how the dates of a text column are written, from its first non-blank values.

    ISO dates (``2018-03-04``, ``2018-03-04 10:00:00``, ``2018-03-04T10:00``) cast directly
    (returns None); otherwise the first of ``_DATE_BASES`` (with times) that reads every
    sampled value with a plausible year, its formats in the order of how many sampled values
    each reads. Day-first and month-first both fitting is refused.
    """
    sample_sql = (
        f"SELECT rn, t FROM (SELECT row_number() OVER () AS rn, {text.trimmed} AS t "
        f"FROM {source.from_item()}) WHERE t IS NOT NULL LIMIT {_DATE_SAMPLE}"
    )
    families = {base: [base + time for time in _TIMES] for base in _DATE_BASES}
    checks = ["count(*) FILTER (WHERE TRY_CAST(t AS TIMESTAMP) IS NULL)"]
    for formats in families.values():
        parsed = _parse_sql("t", formats, iso_too=iso_too)
        checks.append(
            f"count(*) FILTER (WHERE {parsed} IS NULL OR year({parsed}) NOT BETWEEN 1900 AND 2200)"
        )
    every_format = [fmt for formats in families.values() for fmt in formats]
    checks += [
        f"count(*) FILTER (WHERE try_strptime(t, {literal(fmt)}) IS NOT NULL)"
        for fmt in every_format
    ]
    sql = (
        f"WITH cx_sample AS MATERIALIZED ({sample_sql}) "
        f"SELECT min(rn), arg_min(t, rn), {', '.join(checks)} FROM cx_sample"
    )
    first_row, first_value, *counts = source.run(sql)[0]
    failures = counts[: len(families) + 1]
    hits = dict(zip(every_format, counts[len(families) + 1 :], strict=True))
    if first_row is None or failures[0] == 0:
        return None
    fitting = [name for name, fails in zip(families, failures[1:], strict=True) if fails == 0]
    if "%d/%m/%Y" in fitting and "%m/%d/%Y" in fitting:
        raise FileInputError(
            f"dates in column {column!r} of {source.name} such as {first_value!r} could be "
            "day/month or month/day: give the date format ('%d/%m/%Y' or '%m/%d/%Y', "
            "with ' %H:%M' if they have times)"
        )
    if fitting:
        # Most used first: DuckDB tries a list of formats in order, and a miss is slow.
        return sorted(families[fitting[0]], key=lambda fmt: -hits[fmt])
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


def _valid_sql(value: str, scale: Scale) -> str:
    """Whether a non-NULL score is a whole number on the scale (NaN and infinities are not)."""
    return f"{value} >= {scale.low} AND {value} <= {scale.high} AND {value} = round({value})"


def _period_sql(period: Period, when: str) -> str:
    if period is Period.DAY:
        return f"CAST({when} AS DATE)"
    return f"date_trunc({literal(period.value)}, {when})"


# --------------------------------------------------------------------------- the engine


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
) -> FileHistograms:
    """Histograms of the ``score`` column on ``scale``, per ``by`` columns and ``period``.

    ``date`` names the column a ``period`` is taken from; ``date_format`` is how its text is
    written (strptime codes such as ``%d/%m/%Y %H:%M``; detected when not given). Invalid
    scores raise :class:`InvalidScoresError` unless ``skip_invalid``, which leaves them out
    and reports them in ``invalid``. ``progress`` is called with 0..100 while the query
    runs. ``sheet`` picks a workbook's sheet by name or 0-based number (default: the first).
    Raises :class:`FileInputError` with a one-line message for anything else that is wrong.
    """
    import duckdb

    if period is not None and date is None:
        raise FileInputError("grouping by a period needs the date column")
    if isinstance(by, str):
        by = [by]
    wanted = [score, *by, *([date] if date is not None else [])]
    with _opened(path, sheet, wanted) as source:
        score_column = _resolve(source, score, "score")
        by_columns = [_resolve(source, name, "group") for name in by]
        date_column = _resolve(source, date, "date") if date is not None else None
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
                retry = _text_retry(source, error, used)
                if retry is None:
                    raise _read_error(source, error) from None
                source.read_as_text([retry])
        raise FileInputError(f"could not read {source.name}")  # pragma: no cover


def _text_retry(source: _Source, error: BaseException, used: Sequence[str]) -> str | None:
    """A used CSV column whose detected type failed later in the file: read it as text."""
    if source.kind != "csv":
        return None
    match = re.search(r'Error when converting column "(.+?)"', str(error))
    if match is None:
        return None
    column = match.group(1)
    if column in used and column not in source.text:
        return column
    return None


def _aggregate(
    source: _Source,
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

    score_sql = _score_sql(source, score_column)
    date_sql = _date_sql(source, date_column, date_format) if date_column is not None else None
    valid = _valid_sql("s", scale)
    selects = [f"{ident(name)} AS k{i}" for i, name in enumerate(by_columns)]
    keys = [f"k{i}" for i in range(len(by_columns))]
    if period is not None and date_sql is not None:
        selects.append(f"{_period_sql(period, date_sql.checked)} AS p")
        keys.append("p")
    selects.append(f"{score_sql.value} AS s")
    scale_values = list(scale.values)
    pivot = len(scale_values) <= _MAX_PIVOT
    if pivot:
        # One GROUP BY over the file, a count per scale value: one row per group.
        # Blank and invalid counts follow from count(*), count(s) and the value counts.
        payload = [f"cx_{i}" for i in range(len(scale_values))]
        counts = [
            f"count(*) FILTER (WHERE s = {value}) AS {name}"
            for value, name in zip(scale_values, payload, strict=True)
        ]
        grouped = (
            "SELECT * EXCLUDE (s), count(*) AS cx_all, count(s) AS cx_scored, "
            f"{', '.join(counts)} FROM cx_rows{' GROUP BY ALL' if keys else ''}"
        )
        totals = [
            "cx_all AS cx_rows",
            "cx_all - cx_scored AS cx_blank",
            f"cx_scored - ({' + '.join(payload)}) AS cx_invalid",
        ]
    else:
        # A scale too long to pivot: count per score, then list the counts per group.
        grouped = (
            "SELECT * EXCLUDE (s, n), sum(n) AS cx_all, "
            "coalesce(sum(n) FILTER (WHERE s IS NULL), 0) AS cx_blank, "
            f"coalesce(sum(n) FILTER (WHERE s IS NOT NULL AND NOT ({valid})), 0) AS cx_invalid, "
            f"list(TRY_CAST(s AS BIGINT) ORDER BY s) FILTER (WHERE {valid}) AS cx_values, "
            f"list(n ORDER BY s) FILTER (WHERE {valid}) AS cx_counts "
            "FROM (SELECT *, count(*) AS n FROM cx_rows GROUP BY ALL)"
            f"{' GROUP BY ALL' if keys else ''}"
        )
        payload = ["cx_values", "cx_counts"]
        totals = ["cx_all AS cx_rows", "cx_blank", "cx_invalid"]
    outer = [*(f"CAST({key} AS VARCHAR)" for key in keys if key != "p")]
    if "p" in keys:
        outer.append("CAST(p AS DATE)")
    outer += [*totals, *payload]
    sql = (
        f"WITH cx_rows AS (SELECT {', '.join(selects)} FROM {source.from_item()}), "
        f"cx_groups AS ({grouped}) "
        f"SELECT {', '.join(outer)} FROM cx_groups"
    )
    if keys:
        sql += " ORDER BY " + ", ".join(f"{i + 1} NULLS LAST" for i in range(len(keys)))
    try:
        result = source.run(sql, progress)
    except duckdb.Error as error:
        if _BAD_DATE in str(error) and date_column is not None and date_sql is not None:
            raise _bad_date(source, date_column, date_sql) from None
        raise

    group_count = len(by_columns)
    first_count = len(keys) + 3
    labels: dict[Any, str | None] = {None: None}
    groups: dict[tuple[str | None, ...], Histogram] = {}
    rows = blank = invalid = 0
    for row in result:
        key: tuple[str | None, ...] = row[:group_count]
        if period is not None:
            when = row[group_count]
            label = labels.get(when)
            if label is None and when is not None:
                label = labels[when] = period_label(period, when)
            key = (*key, label)
        group_rows, group_blank, group_invalid = row[first_count - 3 : first_count]
        if not group_rows:  # the one row an aggregate of nothing gives
            continue
        rows += group_rows
        blank += group_blank
        invalid += group_invalid
        if pivot:
            found_counts = zip(scale_values, row[first_count:], strict=True)
            groups[key] = Histogram.trusted(
                {value: count for value, count in found_counts if count}
            )
        else:
            values, value_counts = row[first_count:]
            groups[key] = Histogram(dict(zip(values or [], value_counts or [], strict=True)))
    if rows == 0:
        if source.kind == "csv":
            raise FileInputError(f"{source.name} has only a header line and no answers")
        if source.kind == "xlsx":
            raise FileInputError(f"{source.name} has only a header row and no answers")
        raise FileInputError(f"{source.name} has no rows")

    found: InvalidValues | None = None
    if invalid:
        found = _locate_invalid(source, score_sql, scale, invalid)
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


def _locate_invalid(
    source: _Source, score_sql: _ScoreSql, scale: Scale, count: int
) -> InvalidValues:
    """The second pass, only when there are invalid answers: their values and lines."""
    # The raw text is made only for the invalid rows: trimming every row would be slow.
    sql = (
        "WITH cx_numbered AS (SELECT row_number() OVER () AS cx_rn, "
        f"{score_sql.value} AS cx_s, {score_sql.column} FROM {source.from_item()}), "
        f"cx_bad AS MATERIALIZED (SELECT cx_rn AS rn, {score_sql.raw} AS raw FROM cx_numbered "
        f"WHERE cx_s IS NOT NULL AND NOT ({_valid_sql('cx_s', scale)})) "
        f"SELECT (SELECT list(rn ORDER BY rn) FROM "
        f"(SELECT rn FROM cx_bad ORDER BY rn LIMIT {MAX_SHOWN})), "
        "(SELECT list(raw ORDER BY first) FROM (SELECT raw, min(rn) AS first FROM cx_bad "
        f"GROUP BY raw ORDER BY first LIMIT {MAX_SHOWN + 1}))"
    )
    rows, values = source.run(sql)[0]
    rows = list(rows or [])
    values = [str(value) for value in values or []]
    return InvalidValues(
        count=count,
        values=values[:MAX_SHOWN],
        lines=source.lines(rows),
        unit=source.unit,
        more_values=len(values) > MAX_SHOWN,
    )


def _bad_date(source: _Source, column: str, date_sql: _DateSql) -> FileInputError:
    """The first date of the file that does not parse, as a one-line error."""
    sql = (
        f"WITH cx_numbered AS (SELECT row_number() OVER () AS rn, {date_sql.text} AS t, "
        f"{date_sql.parsed} AS d FROM {source.from_item()}) "
        "SELECT rn, t FROM cx_numbered WHERE t IS NOT NULL AND d IS NULL ORDER BY rn LIMIT 1"
    )
    found = source.run(sql)
    if found:
        row, value = found[0]
        where = f"{source.name} {source.unit} {source.lines([row])[0]}"
    else:  # pragma: no cover - the first query said there is one
        value, where = "?", source.name
    start = f"could not read date {value!r} in column {column!r}"
    fmt = date_sql.formats[0] if date_sql.formats else None
    if date_sql.format_given:
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
