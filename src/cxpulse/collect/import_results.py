"""What an import did or refused: its result, the invalid cells, and the errors it raises."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "MAX_REPORTED_VALUE",
    "MAX_SHOWN",
    "BadCell",
    "ImportFailed",
    "ImportInputError",
    "ImportResult",
    "ImportTooLarge",
    "InvalidRowsError",
    "cut_value",
    "resource_problem",
]

MAX_SHOWN = 100
"""Invalid cells kept in results and errors (a report file has them all)."""
MAX_REPORTED_VALUE = 200
"""Characters of a cell shown in errors and reports (a 10,000-character comment is cut)."""


class ImportFailed(Exception):
    """An import that cannot go ahead; the message is meant for people."""


class ImportInputError(ImportFailed):
    """The file, the mapping or an option is wrong (as opposed to some rows)."""


class ImportTooLarge(ImportFailed):
    """Reading and checking the file needs more memory or scratch disk than an import may
    use; nothing was stored. The message says what to do (split the file)."""


def resource_problem(error: BaseException, file: str, memory_mb: int) -> ImportTooLarge | None:
    """The error to give for a DuckDB error that says a resource ran out, else None.

    Out of memory (also when the scratch directory reached its size limit) or out of disk:
    the file is not wrong, it needs more than the server gives an import.
    """
    import duckdb

    from cxpulse.engine.sources import NotEnoughMemory

    if isinstance(error, duckdb.OutOfMemoryException | NotEnoughMemory):
        return ImportTooLarge(
            f"could not import {file}: reading and checking it needs more than the "
            f"{memory_mb} MB of memory an import may use, so nothing was stored. Split it "
            "into smaller files and import them one after the other (rows stored before "
            "are skipped)"
        )
    if isinstance(error, duckdb.Error) and "No space left on device" in str(error):
        return ImportTooLarge(
            f"could not import {file}: the server ran out of disk space for the import's "
            "scratch files, so nothing was stored. Try again later, or split the file"
        )
    return None


@dataclass(frozen=True)
class BadCell:
    """One invalid value: where it is, what it is and why it is refused."""

    line: int
    """File line (the header is line 1 when nothing precedes it; see
    :mod:`cxpulse.engine.lines`); for Parquet the row number."""
    column: str
    field: str
    value: str | None
    reason: str

    def describe(self, unit: str = "line") -> str:
        """Such as ``line 4, column 'Rating': '11' is not on the 1-5 scale ...``."""
        if self.value is None:
            return f"{unit} {self.line}, column {self.column!r} {self.reason}"
        return f"{unit} {self.line}, column {self.column!r}: {self.value!r} {self.reason}"


def cut_value(value: object) -> str | None:
    """A cell as text for a report, cut to :data:`MAX_REPORTED_VALUE` characters."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= MAX_REPORTED_VALUE else text[:MAX_REPORTED_VALUE] + "…"


@dataclass
class ImportResult:
    """What an import did, or would have done.

    ``imported + already_present + duplicates + blank + invalid == rows``.
    """

    file: str
    survey: str
    rows: int
    """Data rows read (header rows not counted)."""
    imported: int
    already_present: int
    """Valid rows whose key was stored before (an earlier import of the same rows)."""
    duplicates: int
    """Rows repeating an earlier row's response id within this file."""
    blank: int
    """Rows without a score: not stored."""
    invalid: int
    """Rows with an invalid value: they stopped the import, or were skipped."""
    invalid_rows: list[BadCell]
    """The first invalid cells (at most 100), in file order."""
    unit: str
    """What ``BadCell.line`` counts: ``line`` of a text file or sheet, ``row`` of Parquet."""
    contacts_created: int
    key: str
    """How idempotency keys were made: ``column '<name>'`` or ``content hash``."""
    columns: dict[str, str]
    """Field -> the file's column it was read from."""
    seconds: float
    stored: bool
    """False when nothing was written (invalid rows, and skip_invalid not asked)."""
    report_rows: int | None = None
    """Invalid cells written to the report file, when one was asked for."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


class InvalidRowsError(ImportFailed):
    """Some rows are invalid and ``skip_invalid`` was not asked: nothing was stored."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        shown = result.invalid_rows[:5]
        first = "; ".join(cell.describe(result.unit) for cell in shown)
        more = "; ..." if len(result.invalid_rows) > len(shown) else ""
        rows = "row" if result.invalid == 1 else "rows"
        super().__init__(
            f"{result.invalid} invalid {rows} in {result.file}, so nothing was imported: "
            f"{first}{more}"
        )
