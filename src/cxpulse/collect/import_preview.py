"""The first rows of a staged import as they will be read: the preview of the import page.

Each row shows what the checks of :mod:`~cxpulse.collect.import_sql` made of it: the score
as a number, the answer time in UTC, the mapped texts, and either the problem of each
invalid cell or what happens to the row (stored, blank, repeating an earlier response id).
The values come from the same staging tables that the import stores from, so the preview
cannot disagree with the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from cxpulse.collect.import_plan import Plan
from cxpulse.collect.import_results import ImportInputError, cut_value
from cxpulse.engine import FileInputError, Source, open_source, record_lines

__all__ = ["PREVIEW_ROWS", "PreviewRow", "RowState", "file_columns", "preview_rows"]

PREVIEW_ROWS = 10
RowState = Literal["ok", "blank", "invalid", "duplicate"]


@dataclass(frozen=True)
class PreviewRow:
    line: int
    """File line (the header is line 1), or Parquet row number."""
    state: RowState
    score: float | None
    """The score read (None: blank, or not a number)."""
    submitted_at: datetime | None
    """The answer time in UTC, None when the row has none or it does not parse."""
    values: dict[str, str | None] = field(default_factory=dict)
    """Mapped field (``score``, ``comment``, ``property.agent`` ...) -> the cell as written."""
    problems: dict[str, str] = field(default_factory=dict)
    """Field -> why its cell is refused."""


def file_columns(
    path: str | Path, *, sheet: int | str | None = None, encoding: str | None = None
) -> list[str]:
    """The column names of a file, in its order (what a mapping can choose from).

    Raises :class:`ImportInputError` when the file cannot be read (its message names why)."""
    try:
        with open_source(path, sheet, encoding=encoding) as source:
            return list(source.columns)
    except FileInputError as error:
        raise ImportInputError(str(error)) from None


def preview_rows(
    source: Source, plan: Plan, *, dated: bool, limit: int = PREVIEW_ROWS
) -> list[PreviewRow]:
    """The first ``limit`` data rows of the staged file, in file order.

    ``dated``: whether a date column is mapped (else every answer is dated at the import).
    """
    slots = plan.slots
    raws = ", ".join(f"cx_raw.r_{slot.name}" for slot in slots)
    errors = ", ".join(f"cx.e_{slot.name}" for slot in slots)
    found = source.con.execute(
        f"SELECT cx.rn, cx.s, cx.ts, cx.bad, cx.rn IN (SELECT rn FROM cx_dup), {raws}, {errors} "
        f"FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn ORDER BY cx.rn LIMIT {int(limit)}"
    ).fetchall()
    lines = record_lines(source, [row[0] for row in found])
    rows: list[PreviewRow] = []
    width = len(slots)
    for row in found:
        rn, score, moment, bad, repeated = row[:5]
        cells = row[5 : 5 + width]
        problems = row[5 + width : 5 + 2 * width]
        state: RowState
        if score is None:
            state = "blank"
        elif bad:
            state = "invalid"
        elif repeated:
            state = "duplicate"
        else:
            state = "ok"
        number = None if score is None or score != score else float(score)  # NaN: not a number
        rows.append(
            PreviewRow(
                line=lines[rn],
                state=state,
                score=number,
                submitted_at=moment if dated and isinstance(moment, datetime) else None,
                values={
                    slot.field: cut_value(cell) for slot, cell in zip(slots, cells, strict=True)
                },
                problems={
                    slot.field: str(problem)
                    for slot, problem in zip(slots, problems, strict=True)
                    if problem is not None
                },
            )
        )
    return rows
