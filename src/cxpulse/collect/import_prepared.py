"""An import read and checked inside DuckDB, and storing its valid rows.

:class:`PreparedImport` holds the staged file (see :mod:`cxpulse.collect.import_sql`) and its
counts. An invalid row refuses the whole import before anything is written (all or nothing),
unless ``skip_invalid``. :meth:`PreparedImport.store` inserts the valid rows with
:class:`cxpulse.collect.bulk.BulkWriter` in batches, with their rollups and an audit entry, all
in the caller's transaction: a crash at any moment leaves nothing behind.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cxpulse.collect.bulk import BulkWriter
from cxpulse.collect.import_options import ImportOptions, Progress, SurveyTarget
from cxpulse.collect.import_plan import Plan
from cxpulse.collect.import_preview import PREVIEW_ROWS, PreviewRow, preview_rows
from cxpulse.collect.import_report import first_bad_cells, write_bad_cells
from cxpulse.collect.import_results import (
    MAX_SHOWN,
    BadCell,
    ImportResult,
    InvalidRowsError,
    resource_problem,
)
from cxpulse.collect.import_sql import HASH_PREFIX, StagingSql
from cxpulse.collect.mapping import PROPERTY_PREFIX
from cxpulse.engine import Source
from cxpulse.engine.duck import literal
from cxpulse.store import audit

if TYPE_CHECKING:
    import duckdb
    from sqlalchemy.orm import Session

__all__ = ["PreparedImport"]

_KEY = (
    f"coalesce(cx.id_key, {literal(HASH_PREFIX)} || cx.h || "
    "CASE WHEN cx_occ.n > 1 THEN ':' || cx_occ.n ELSE '' END)"
)


class PreparedImport:
    """A file read and checked inside DuckDB, ready to be stored (or refused)."""

    def __init__(self, staged: StagingSql, *, started: float, memory_mb: int) -> None:
        """``staged``: the statements that staged the file, run already; ``memory_mb``:
        DuckDB's memory cap, named when it does not suffice."""
        self._source: Source = staged.source
        self._con: duckdb.DuckDBPyConnection = staged.source.con
        self._plan: Plan = staged.plan
        self.target: SurveyTarget = staged.target
        self.options: ImportOptions = staged.options
        self.received: datetime = staged.received
        self._started = started
        self._memory_mb = memory_mb
        counts = self._con.execute(
            "SELECT count(*), count(*) FILTER (WHERE s IS NULL), count(*) FILTER (WHERE bad), "
            "(SELECT count(*) FROM cx_dup), count(*) FILTER (WHERE ok) FROM cx"
        ).fetchone()
        assert counts is not None
        self.rows, self.blank, self.invalid, self.duplicates, ok = (int(n) for n in counts)
        self.valid = ok - self.duplicates
        """Rows to store: neither blank, invalid nor repeating a response id."""
        self._first: list[BadCell] | None = None

    @property
    def file(self) -> str:
        return self._source.name

    @property
    def unit(self) -> str:
        return str(self._source.unit)

    @property
    def key(self) -> str:
        return self._plan.key

    @property
    def columns(self) -> dict[str, str]:
        return dict(self._plan.columns)

    # -- invalid cells -------------------------------------------------------------------

    def bad_cells(self, limit: int = MAX_SHOWN) -> list[BadCell]:
        """The first invalid cells in file order, with their line numbers."""
        if not self.invalid:
            return []
        if limit == MAX_SHOWN and self._first is not None:
            return self._first
        cells = first_bad_cells(self._source, self._plan, limit)
        if limit == MAX_SHOWN:
            self._first = cells
        return cells

    def preview(self, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
        """The first data rows as they will be read: scores, dates, problems."""
        dated = "submitted_at" in self._plan.columns
        return preview_rows(self._source, self._plan, dated=dated, limit=limit)

    def write_report(self, path: str | Path) -> int:
        """Write every invalid cell to a CSV file (line, column, value, reason); the count.

        Cells starting with = + - @ are neutralised, so that a spreadsheet shows them as
        text instead of running them as formulas.
        """
        return write_bad_cells(self._source, self._plan, path, any_bad=bool(self.invalid))

    def result(self, *, stored: bool, imported: int = 0, contacts: int = 0) -> ImportResult:
        return ImportResult(
            file=self.file,
            survey=self.target.slug,
            rows=self.rows,
            imported=imported,
            already_present=self.valid - imported if stored else 0,
            duplicates=self.duplicates,
            blank=self.blank,
            invalid=self.invalid,
            invalid_rows=self.bad_cells(),
            unit=self.unit,
            contacts_created=contacts,
            key=self.key,
            columns=self.columns,
            seconds=time.monotonic() - self._started,
            stored=stored,
        )

    def check(self) -> None:
        """Raise :class:`InvalidRowsError` when rows are invalid and may not be skipped."""
        if self.invalid and not self.options.skip_invalid:
            raise InvalidRowsError(self.result(stored=False))

    # -- storing -------------------------------------------------------------------------

    def _rows_sql(self, dialect: str) -> tuple[list[str], str]:
        """The fields each row carries (see :class:`BulkWriter`), and the query."""
        slots = {slot.field: slot for slot in self._plan.slots}
        fields: list[str] = []
        selects: list[str] = []
        if "contact" in slots:
            fields.append("contact")
            selects.append(f"r_{slots['contact'].name}")
        fields.append("score")
        selects.append("cx.s")
        default = literal(self.target.touchpoint) if self.target.touchpoint else "NULL"
        for name in ("comment", "language", "channel", "touchpoint"):
            if name in slots:
                fields.append(name)
                column = f"r_{slots[name].name}"
                if name == "language":
                    column = f"lower({column})"
                elif name == "touchpoint":
                    column = f"coalesce({column}, {default})"
                selects.append(column)
        props = self._plan.properties
        if props:
            entries = ", ".join(
                f"CASE WHEN r_{slot.name} IS NOT NULL THEN "
                f"{literal(json.dumps(slot.field[len(PROPERTY_PREFIX) :]) + ':')} "
                f"|| CAST(to_json(r_{slot.name}) AS VARCHAR) END"
                for slot in props
            )
            fields.append("properties")
            selects.append(f"'{{' || concat_ws(',', {entries}) || '}}'")
        if "submitted_at" in slots:
            suffix = "" if dialect == "sqlite" else " || '+00'"
            fields.append("submitted_at")
            selects.append(f"strftime(cx.ts, '%Y-%m-%d %H:%M:%S.%f'){suffix}")
        fields.append("idempotency_key")
        selects.append(_KEY)
        sql = (
            f"SELECT {', '.join(selects)} FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
            "LEFT JOIN cx_occ ON cx_occ.rn = cx.rn "
            "WHERE cx.ok AND cx.rn NOT IN (SELECT rn FROM cx_dup) ORDER BY cx.ts, cx.rn"
        )
        return fields, sql

    def _planned_rollups(self) -> dict[tuple[str, str, str, float], int]:
        """Rows to store per (day, channel, touchpoint, score): the rollups they add."""
        slots = {slot.field: slot for slot in self._plan.slots}
        channel = f"r_{slots['channel'].name}" if "channel" in slots else "NULL"
        default = literal(self.target.touchpoint) if self.target.touchpoint else "NULL"
        touchpoint = (
            f"coalesce(r_{slots['touchpoint'].name}, {default})"
            if "touchpoint" in slots
            else default
        )
        found = self._con.execute(
            f"SELECT strftime(cx.ts, '%Y-%m-%d') AS day, coalesce({channel}, '') AS c, "
            f"coalesce({touchpoint}, '') AS t, cx.s, count(*) "
            "FROM cx JOIN cx_raw ON cx_raw.rowid + 1 = cx.rn "
            "WHERE cx.ok AND cx.rn NOT IN (SELECT rn FROM cx_dup) GROUP BY ALL"
        ).fetchall()
        return {(day, c, t, float(s)): int(n) for day, c, t, s, n in found}

    def store(
        self,
        session: Session,
        *,
        actor: str = audit.SYSTEM,
        progress: Progress | None = None,
        import_run_id: int | None = None,
    ) -> ImportResult:
        """Insert the valid rows within ``session``'s transaction; the caller commits.

        ``import_run_id``: the run (``store.import_runs``) every stored row is tagged with.

        Refuses with :class:`InvalidRowsError` when rows are invalid and not to be skipped,
        and with :class:`ImportTooLarge` when DuckDB cannot sort them within its memory (in
        both cases before the first row is written).
        """
        import duckdb

        self.check()
        dialect = session.get_bind().dialect.name
        fields, sql = self._rows_sql(dialect)
        try:
            planned = self._planned_rollups()
            # Sorted into a table first: the sort may spill to disk, a query result may not.
            self._con.execute(f"CREATE OR REPLACE TABLE cx_out AS {sql}")
        except duckdb.Error as error:
            problem = resource_problem(error, self.file, self._memory_mb)
            if problem is None:
                raise
            raise problem from None
        rows = self._con.execute("SELECT * FROM cx_out")
        # The database transaction starts here (on SQLite it takes the write lock).
        writer = BulkWriter(
            session,
            organisation_id=self.target.organisation_id,
            survey_id=self.target.survey_id,
            fields=fields,
            received_at=self.received,
            touchpoint=self.target.touchpoint,
            import_run_id=import_run_id,
        )
        done, total = 0, self.valid
        if progress is not None:
            progress("write", 0, total)
        try:
            while batch := rows.fetchmany(self.options.batch_rows):
                writer.write(batch)
                done += len(batch)
                if progress is not None:
                    progress("write", done, total)
            writer.finish(planned)
        finally:
            writer.close()
        result = self.result(
            stored=True, imported=writer.inserted, contacts=writer.contacts_created
        )
        details: dict[str, object] = {} if import_run_id is None else {"run": import_run_id}
        audit.record(
            session,
            self.target.organisation_id,
            actor=actor,
            action="import",
            entity="survey",
            entity_id=self.target.survey_id,
            details={
                **details,
                "file": result.file,
                "rows": result.rows,
                "imported": result.imported,
                "already_present": result.already_present,
                "duplicates": result.duplicates,
                "blank": result.blank,
                "invalid": result.invalid,
                "key": result.key,
            },
        )
        return result
