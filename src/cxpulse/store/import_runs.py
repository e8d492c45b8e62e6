"""Imports of past answers that can be undone (``models.ImportRun``).

A run is created at the start of an import, in the import's transaction, and every response
the import stores carries its id (``Response.import_run_id``), so a refused or crashed
import leaves no run behind, and undoing one deletes exactly the answers it stored. Undoing
goes through the same bulk deletion as erasure and retention
(``contact_erasure.delete_responses``): the daily, comment and theme rollups lose the
answers in the same transaction, and tags, rule matches and analyses cascade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cxpulse.store import contact_erasure
from cxpulse.store.errors import NotFound
from cxpulse.store.models import ImportRun, Response, User
from cxpulse.store.types import utc_now

__all__ = [
    "MAX_FILENAME",
    "RunRow",
    "Undone",
    "finish_run",
    "get_run",
    "list_runs",
    "start_run",
    "stored_count",
    "undo_run",
]

MAX_FILENAME = 255
UNDO_CHUNK = 5000
"""Answers deleted per statement round while undoing (memory stays flat for big imports)."""


def start_run(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    filename: str,
    preset: str | None,
    created_by: int | None,
) -> ImportRun:
    """A new run in the session's transaction, flushed so that its id can tag responses."""
    run = ImportRun(
        organisation_id=organisation_id,
        survey_id=survey_id,
        created_by=created_by,
        filename=(filename or "upload")[:MAX_FILENAME],
        preset=preset,
        rows_total=0,
        rows_stored=0,
        rows_rejected=0,
    )
    session.add(run)
    session.flush()
    return run


def finish_run(run: ImportRun, *, rows_total: int, rows_stored: int, rows_rejected: int) -> None:
    """Record what the import did (the caller's transaction commits it with the answers)."""
    run.rows_total = rows_total
    run.rows_stored = rows_stored
    run.rows_rejected = rows_rejected


@dataclass(frozen=True)
class RunRow:
    """A run as the list of imports shows it."""

    run: ImportRun
    user_name: str | None
    """Who imported it (name, else email); None for an API key or a deleted user."""


def list_runs(session: Session, organisation_id: int, *, limit: int = 100) -> list[RunRow]:
    """The organisation's runs, newest first."""
    found = session.execute(
        select(ImportRun, User.name, User.email)
        .outerjoin(User, User.id == ImportRun.created_by)
        .where(ImportRun.organisation_id == organisation_id)
        .order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
        .limit(limit)
    ).all()
    return [RunRow(run, name or email) for run, name, email in found]


def get_run(session: Session, organisation_id: int, run_id: int) -> RunRow:
    found = session.execute(
        select(ImportRun, User.name, User.email)
        .outerjoin(User, User.id == ImportRun.created_by)
        .where(ImportRun.organisation_id == organisation_id, ImportRun.id == run_id)
    ).one_or_none()
    if found is None:
        raise NotFound("import", run_id)
    run, name, email = found
    return RunRow(run, name or email)


def stored_count(session: Session, organisation_id: int, run_id: int) -> int:
    """How many answers of the run are still stored (some may have been deleted one by one
    or by retention since)."""
    count = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.organisation_id == organisation_id, Response.import_run_id == run_id)
    )
    return int(count or 0)


@dataclass(frozen=True)
class Undone:
    run: ImportRun
    deleted: int
    """Answers deleted by this call: 0 when the run had been undone before."""
    changed: bool
    """False when the run was undone already (nothing done)."""
    undone_at: datetime | None


def undo_run(session: Session, organisation_id: int, run_id: int) -> Undone:
    """Delete the run's answers and mark it undone, in the session's transaction.

    The mark is set first with ``UPDATE ... WHERE undone_at IS NULL``: of two concurrent
    undos only one changes the row (PostgreSQL makes the other wait and then match nothing),
    so the answers are deleted once and a second undo does nothing.
    """
    run = get_run(session, organisation_id, run_id).run
    now = utc_now()
    marked = session.execute(
        update(ImportRun)
        .where(
            ImportRun.organisation_id == organisation_id,
            ImportRun.id == run_id,
            ImportRun.undone_at.is_(None),
        )
        .values(undone_at=now)
        .returning(ImportRun.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if marked is None:
        session.refresh(run)
        return Undone(run, 0, False, run.undone_at)
    deleted = 0
    while True:
        ids = list(
            session.scalars(
                select(Response.id)
                .where(
                    Response.organisation_id == organisation_id,
                    Response.import_run_id == run_id,
                )
                .limit(UNDO_CHUNK)
            )
        )
        if not ids:
            break
        deleted += contact_erasure.delete_responses(session, organisation_id, ids)
    session.refresh(run)
    return Undone(run, deleted, True, run.undone_at)
