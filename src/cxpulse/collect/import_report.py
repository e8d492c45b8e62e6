"""The invalid cells of a staged import: the first ones for errors, or all in a CSV report.

Each invalid cell is named by its line in the file (as ``cxpulse score`` names lines; see
:mod:`cxpulse.engine.lines`), its column, its value (cut to 200 characters) and the reason.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

from cxpulse.collect.import_options import BATCH_ROWS
from cxpulse.collect.import_plan import Plan
from cxpulse.collect.import_results import MAX_REPORTED_VALUE, BadCell, cut_value
from cxpulse.csv_safety import neutralise_cell
from cxpulse.engine import LineFinder, Source, record_lines
from cxpulse.engine.duck import literal

if TYPE_CHECKING:
    import duckdb

__all__ = ["first_bad_cells", "write_bad_cells"]


def _bad_cells_sql(plan: Plan) -> str:
    parts = [
        f"SELECT rn, {order} AS o, {literal(slot.field)} AS f, {literal(slot.column)} AS c, "
        f"left(r_{slot.name}, {MAX_REPORTED_VALUE + 1}) AS v, e_{slot.name} AS why "
        f"FROM cx_bad WHERE e_{slot.name} IS NOT NULL"
        for order, slot in enumerate(plan.slots)
    ]
    return (
        "WITH cx_bad AS (SELECT * FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
        f"WHERE cx.bad) {' UNION ALL '.join(parts)} ORDER BY rn, o"
    )


def first_bad_cells(source: Source, plan: Plan, limit: int) -> list[BadCell]:
    """The first ``limit`` invalid cells in file order, with their line numbers."""
    con: duckdb.DuckDBPyConnection = source.con
    found = con.execute(f"{_bad_cells_sql(plan)} LIMIT {int(limit)}").fetchall()
    lines = record_lines(source, [row[0] for row in found])
    return [
        BadCell(lines[rn], str(column), str(name), cut_value(value), str(why))
        for rn, _order, name, column, value, why in found
    ]


def write_bad_cells(source: Source, plan: Plan, path: str | Path, *, any_bad: bool) -> int:
    """Write every invalid cell to a CSV file (line, column, value, reason); the count.

    The header names the unit (``line``, or ``row`` for Parquet). Cells starting with
    = + - @ are neutralised, so that a spreadsheet shows them as text instead of running
    them as formulas.
    """
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([source.unit, "column", "value", "reason"])
        if not any_bad:
            return 0
        found = source.con.execute(_bad_cells_sql(plan))
        with LineFinder(source) as finder:
            while chunk := found.fetchmany(BATCH_ROWS):
                lines = finder.lines([row[0] for row in chunk])
                writer.writerows(
                    [
                        lines[rn],
                        neutralise_cell(str(column)),
                        neutralise_cell(cut_value(value) or ""),
                        neutralise_cell(str(why)),
                    ]
                    for rn, _order, _name, column, value, why in chunk
                )
                written += len(chunk)
    return written
