"""Imports that can be undone, and the preview that comes before them (the import pages).

:func:`run_import` is :func:`cxpulse.collect.imports.import_file` with an
:class:`~cxpulse.store.models.ImportRun` recorded in the same transaction and every stored
answer tagged with it, so that :func:`cxpulse.store.import_runs.undo_run` can take exactly
that import back. The run is created only once the file has been read and checked in DuckDB:
on SQLite the database's write lock is taken when the first row goes in, not while DuckDB
works, and a refused file leaves no run.

:func:`preview_import` reads and checks the file the same way and stores nothing: the counts
and the first rows as they will be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cxpulse.collect.import_options import ImportOptions, Progress, SurveyTarget
from cxpulse.collect.import_preview import PREVIEW_ROWS, PreviewRow
from cxpulse.collect.import_results import BadCell, ImportResult, InvalidRowsError
from cxpulse.collect.imports import prepare_import
from cxpulse.store import audit, import_runs

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["ImportPreview", "RunOutcome", "preview_import", "run_import"]


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    result: ImportResult


def run_import(
    session: Session,
    target: SurveyTarget,
    path: str | Path,
    options: ImportOptions,
    *,
    filename: str,
    created_by: int | None,
    actor: str = audit.SYSTEM,
    report: str | Path | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Import ``path`` into ``target`` as a run that can be undone; the caller commits.

    ``filename``: the name the user knows the file by (an upload is stored under another);
    ``report``: write every invalid cell there, also when the import is refused. Raises what
    :func:`~cxpulse.collect.imports.import_file` raises; nothing is written then.
    """
    with prepare_import(path, target, options, progress) as prepared:
        report_rows = prepared.write_report(report) if report is not None else None
        try:
            prepared.check()
        except InvalidRowsError as error:
            error.result.report_rows = report_rows
            error.result.file = filename
            raise
        run = import_runs.start_run(
            session,
            target.organisation_id,
            target.survey_id,
            filename=filename,
            preset=options.preset,
            created_by=created_by,
        )
        result = prepared.store(session, actor=actor, progress=progress, import_run_id=run.id)
        result.report_rows = report_rows
        result.file = filename
        import_runs.finish_run(
            run,
            rows_total=result.rows,
            rows_stored=result.imported,
            rows_rejected=result.invalid,
        )
        return RunOutcome(run.id, result)


@dataclass(frozen=True)
class ImportPreview:
    """What importing the file would do, before anything is stored."""

    rows: int
    """Data rows read."""
    valid: int
    """Rows that would be stored, less any stored by an earlier import of the same rows."""
    blank: int
    invalid: int
    duplicates: int
    unit: str
    key: str
    columns: dict[str, str]
    """Field -> the column it is read from (the preset's choices included)."""
    first_rows: list[PreviewRow]
    bad_cells: list[BadCell]
    """The first invalid cells, in file order."""


def preview_import(
    path: str | Path,
    target: SurveyTarget,
    options: ImportOptions,
    *,
    limit: int = PREVIEW_ROWS,
) -> ImportPreview:
    """Read and check ``path`` as the import would; nothing touches the database.

    Raises :class:`~cxpulse.collect.import_results.ImportInputError` (the file, a column or an
    option is wrong) and :class:`~cxpulse.collect.import_results.ImportTooLarge`.
    """
    with prepare_import(path, target, options) as prepared:
        return ImportPreview(
            rows=prepared.rows,
            valid=prepared.valid,
            blank=prepared.blank,
            invalid=prepared.invalid,
            duplicates=prepared.duplicates,
            unit=prepared.unit,
            key=prepared.key,
            columns=prepared.columns,
            first_rows=prepared.preview(limit),
            bad_cells=prepared.bad_cells(),
        )
