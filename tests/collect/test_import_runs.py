"""Imports that can be undone: the run and its tags are written with the answers, a refused
file leaves no run, a re-import tags only what it stores, and the preview stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.import_results import InvalidRowsError
from cxpulse.collect.import_runs import preview_import, run_import
from cxpulse.collect.imports import ImportOptions
from cxpulse.collect.mapping import parse_map
from cxpulse.store import import_runs
from cxpulse.store.models import ImportRun, Organisation, Response

from .conftest import assert_rollups_match, count, stored, target, write_csv

LINES = [
    "id,Rating,Why,When",
    "a,5,Lovely,2025-02-01 10:00",
    "b,4,Fine,2025-02-02 10:00",
    "c,7,Off the scale,2025-02-03 10:00",
    "d,,,2025-02-04 10:00",
]
MAP = "id=id,score=Rating,comment=Why,submitted_at=When"


def _import(
    sessions: sessionmaker[Session], org: Organisation, path: Path, *, skip: bool = True
) -> int:
    options = ImportOptions(mapping=parse_map([MAP]), skip_invalid=skip)
    with sessions.begin() as session:
        outcome = run_import(
            session,
            target(sessions, org, "support-csat"),
            path,
            options,
            filename="shown.csv",
            created_by=None,
        )
    assert outcome.result.file == "shown.csv"
    return outcome.run_id


def test_a_run_tags_what_it_stores(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "upload.csv", LINES)
    run_id = _import(sessions, org, path)
    with sessions() as session:
        run = session.get(ImportRun, run_id)
        assert run is not None
        assert (run.filename, run.rows_total, run.rows_stored, run.rows_rejected) == (
            "shown.csv",
            4,
            2,
            1,
        )
    assert sorted(r.import_run_id or 0 for r in stored(sessions)) == [run_id, run_id]
    # A second import of the same file stores nothing and tags nothing of the first.
    second = _import(sessions, org, path)
    assert {r.import_run_id for r in stored(sessions)} == {run_id}
    with sessions.begin() as session:
        assert import_runs.undo_run(session, org.id, second).deleted == 0
        assert import_runs.undo_run(session, org.id, run_id).deleted == 2
    assert stored(sessions) == []
    assert_rollups_match(sessions)


def test_a_refused_file_leaves_no_run(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "upload.csv", LINES)
    with pytest.raises(InvalidRowsError) as refused:
        _import(sessions, org, path, skip=False)
    assert refused.value.result.file == "shown.csv"
    assert count(sessions, ImportRun) == 0
    assert count(sessions, Response) == 0


def test_the_preview_reads_as_the_import_and_stores_nothing(
    sessions: sessionmaker[Session], org: Organisation, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "upload.csv", LINES)
    options = ImportOptions(mapping=parse_map([MAP]))
    preview = preview_import(path, target(sessions, org, "support-csat"), options)
    assert (preview.rows, preview.valid, preview.invalid, preview.blank) == (4, 2, 1, 1)
    states = [(row.line, row.state) for row in preview.first_rows]
    assert states == [(2, "ok"), (3, "ok"), (4, "invalid"), (5, "blank")]
    first = preview.first_rows[0]
    assert first.score == 5.0
    assert first.submitted_at is not None
    assert first.submitted_at.isoformat().startswith("2025-02-01T10:00")
    assert first.values["comment"] == "Lovely"
    assert "score" in preview.first_rows[2].problems
    assert preview.bad_cells[0].line == 4
    with sessions() as session:
        assert session.scalars(select(Response)).all() == []
