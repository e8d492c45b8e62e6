"""Bulk import of survey exports: read and check inside DuckDB, store in one transaction.

1. **Read** (:func:`prepare_import`): the file engine opens the file (CSV/TSV, XLSX,
   Parquet, JSON lines; UTF-8, UTF-16 or legacy Windows-1252 by the strict rule of
   :mod:`cxpulse.engine.encoding`, or the encoding the user names), with DuckDB's memory
   capped (:data:`IMPORT_MEMORY_MB`) and spilling to a scratch directory removed afterwards;
   :mod:`~cxpulse.collect.import_plan` maps its columns to response fields, and a few
   set-based statements in DuckDB (:mod:`~cxpulse.collect.import_sql`, dates in
   :mod:`~cxpulse.collect.import_dates`) copy them into a staging table, turn them into
   response fields and check them: the score is a whole number on the survey's scale, dates
   parse and are answer times (``store._values.answer_time_problem``), texts fit the store's
   limits and hold no control character (``store._values.control_problem``). No Python
   code runs per row to check anything; Python sees the counts and, when rows are
   invalid, the first of them.
2. **Decide**: an invalid row stops the import before anything is written (all or
   nothing), unless ``skip_invalid``. A report of every invalid cell (line, column, value,
   reason; :mod:`~cxpulse.collect.import_report`) can be written either way.
3. **Store** (:meth:`PreparedImport.store`, :mod:`~cxpulse.collect.import_prepared`):
   :class:`cxpulse.collect.bulk.BulkWriter` inserts the valid rows in batches, with their
   rollups and an audit entry, all in the caller's transaction: a crash at any moment leaves
   nothing behind.

Idempotency: a response's key is ``import:<response id>`` when the export has a response id
column (the preset knows it, or ``--map id=COL``), else ``import:sha256:<hash of the row's
mapped values>`` (plus ``:2``, ``:3``... for the second, third identical row of a file),
computed in DuckDB. Importing a file again stores only the rows not stored before.

A blank score is "no answer": the row is counted as blank and not stored, since a response
is an answered score. Zendesk's ``offered`` / ``unoffered`` (asked, never rated) are blank.

This module holds the entry points; the names callers use are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cxpulse.collect import import_options
from cxpulse.collect.import_options import (
    BATCH_ROWS,
    IMPORT_MEMORY_MB,
    ImportOptions,
    Phase,
    Progress,
    SurveyTarget,
)
from cxpulse.collect.import_plan import plan_columns
from cxpulse.collect.import_prepared import PreparedImport
from cxpulse.collect.import_results import (
    MAX_SHOWN,
    BadCell,
    ImportFailed,
    ImportInputError,
    ImportResult,
    ImportTooLarge,
    InvalidRowsError,
    resource_problem,
)
from cxpulse.collect.import_sql import StagingSql, repeats_tables
from cxpulse.collect.mapping import MappingError, check_properties
from cxpulse.collect.presets import PresetError, get_preset
from cxpulse.engine import FileInputError, Source, open_source
from cxpulse.engine.duck import condense, literal
from cxpulse.store import audit
from cxpulse.store.types import utc_now

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "BATCH_ROWS",
    "IMPORT_MEMORY_MB",
    "MAX_SHOWN",
    "BadCell",
    "ImportFailed",
    "ImportInputError",
    "ImportOptions",
    "ImportResult",
    "ImportTooLarge",
    "InvalidRowsError",
    "Phase",
    "PreparedImport",
    "Progress",
    "SurveyTarget",
    "import_file",
    "prepare_import",
]


@contextmanager
def prepare_import(
    path: str | Path,
    target: SurveyTarget,
    options: ImportOptions,
    progress: Progress | None = None,
) -> Iterator[PreparedImport]:
    """Read and check ``path`` for ``target``; nothing touches the database yet.

    Raises :class:`ImportInputError` for a file that cannot be read (a byte not valid in
    its encoding included), a column that is not there (the message lists those that are),
    a bad date format or time zone; :class:`ImportTooLarge` when DuckDB runs out of the
    memory an import may use even though it spills.
    """
    import duckdb

    started = time.monotonic()
    received = utc_now()
    try:
        preset = get_preset(options.preset) if options.preset else None
        check_properties(dict(options.mapping))
    except (PresetError, MappingError) as error:
        raise ImportInputError(str(error)) from None
    # Read from the module when the import runs, so that one place sets it for every door.
    memory = options.memory_mb or import_options.IMPORT_MEMORY_MB
    name = Path(path).name
    with ExitStack() as stack:
        try:
            source = stack.enter_context(
                open_source(path, options.sheet, encoding=options.encoding, memory_mb=memory)
            )
            _stage(source)
            plan = plan_columns(source, preset, options)
            source.load_columns(list(dict.fromkeys(plan.columns.values())))
            statements = StagingSql(source, plan, target, options, received)
            source.run(statements.raw_table(), _scaled(progress, 0.0, 70.0))
            source.run(statements.checked_table(), _scaled(progress, 70.0, 95.0))
            for sql in repeats_tables():
                source.run(sql)
            if progress is not None:
                progress("read", 100.0, 100.0)
            prepared = PreparedImport(statements, started=started, memory_mb=memory)
        except FileInputError as error:
            problem = resource_problem(error, name, memory)
            if problem is not None:
                raise problem from None
            raise ImportInputError(str(error)) from None
        except duckdb.Error as error:
            problem = resource_problem(error, name, memory)
            if problem is not None:
                raise problem from None
            raise ImportInputError(f"could not read {name}: {condense(error)}") from None
        if prepared.rows == 0:
            raise ImportInputError(f"{source.name} has no rows to import")
        yield prepared


def _stage(source: Source) -> None:
    """Keep the staging tables in a database file of the scratch directory: file-backed
    tables can always be evicted to disk, so a file of any size fits in DuckDB's memory cap
    (in-memory tables only partly can)."""
    stage = source.workdir / "stage.duckdb"
    source.con.execute(f"ATTACH {literal(str(stage))} AS cx_stage")
    source.con.execute("USE cx_stage")


def _scaled(progress: Progress | None, low: float, high: float) -> Callable[[float], None] | None:
    """A DuckDB progress callback (0-100) reporting into ``low``-``high`` of the read."""
    if progress is None:
        return None

    def report(percent: float) -> None:
        progress("read", low + (high - low) * percent / 100.0, 100.0)

    return report


def import_file(
    session: Session,
    target: SurveyTarget,
    path: str | Path,
    options: ImportOptions,
    *,
    report: str | Path | None = None,
    actor: str = audit.SYSTEM,
    progress: Progress | None = None,
    import_run_id: int | None = None,
) -> ImportResult:
    """Read, check and store a file in ``session``'s transaction (the caller commits).

    ``report``: write every invalid cell there (also when the import is refused);
    ``import_run_id``: tag every stored response with this run (``collect.import_runs``
    creates it, for imports that can be undone). Raises
    :class:`ImportInputError` or :class:`InvalidRowsError`; nothing is written then.
    """
    with prepare_import(path, target, options, progress) as prepared:
        report_rows = prepared.write_report(report) if report is not None else None
        try:
            result = prepared.store(
                session, actor=actor, progress=progress, import_run_id=import_run_id
            )
        except InvalidRowsError as error:
            error.result.report_rows = report_rows
            raise
        result.report_rows = report_rows
        return result
