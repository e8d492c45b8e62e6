"""Excel workbooks for the file engine: a sheet, read as text, handed to DuckDB as a table.

fastexcel parses a sheet whole on any read, so a sheet is read once, with only the columns
wanted (and any spelled alike), as text: nothing is coerced away (a cell "n/a" in a column of
numbers stays "n/a" and is reported; real dates become ISO text).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cxpulse.engine.errors import FileInputError

if TYPE_CHECKING:
    import duckdb

__all__ = ["SHEET_TABLE", "first_line", "load_sheet"]

SHEET_TABLE = "cxpulse_sheet"
"""The name the loaded sheet has in DuckDB."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message (or its type when it has none)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _reader(path: Path) -> Any:
    import fastexcel

    try:
        return fastexcel.read_excel(path)
    except fastexcel.FastExcelError as error:
        raise FileInputError(
            f"could not read {path.name} as an Excel workbook: {first_line(error)}"
        ) from None


def _sheet_index(path: Path, reader: Any, sheet: int | str | None) -> int | str:
    names: list[str] = list(reader.sheet_names)
    if not names:
        raise FileInputError(f"{path.name} has no sheets")
    chosen = 0 if sheet is None else sheet
    if isinstance(chosen, int):
        if not 0 <= chosen < len(names):
            raise FileInputError(
                f"{path.name} has no sheet number {chosen} (it has {len(names)}: "
                f"{', '.join(names)})"
            )
    elif chosen not in names:
        raise FileInputError(
            f"sheet {chosen!r} not found in {path.name}; its sheets are: {', '.join(names)}"
        )
    return chosen


def load_sheet(
    path: Path,
    sheet: int | str | None,
    con: duckdb.DuckDBPyConnection,
    wanted: Sequence[str] | None,
) -> list[str]:
    """Load the sheet's ``wanted`` columns, as text, into DuckDB as :data:`SHEET_TABLE`.

    Returns the names of all the sheet's columns. Without ``wanted`` only the names are
    read. ``sheet`` is a name or a 0-based number (default: the first).
    """
    import fastexcel

    reader = _reader(path)
    index = _sheet_index(path, reader, sheet)
    try:
        if wanted is None:
            loaded = reader.load_sheet(index, n_rows=0)
            return [str(column.name) for column in loaded.available_columns()]
        folded = {name.strip().casefold() for name in wanted}
        loaded = reader.load_sheet(
            index,
            use_columns=lambda column: column.name.strip().casefold() in folded,
            dtypes="string",
            skip_whitespace_tail_rows=True,
        )
        batch = loaded.to_arrow()
        names = [str(column.name) for column in loaded.available_columns()]
    except fastexcel.FastExcelError as error:
        raise FileInputError(f"could not read {path.name}: {first_line(error)}") from None
    finally:
        loaded = None  # no reference cycle through the callback outlives the read
    if batch.num_columns:
        con.register(SHEET_TABLE, batch)
    return names
