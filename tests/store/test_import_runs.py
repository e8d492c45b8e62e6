"""Import runs: recorded, listed, and undone exactly once, taking out precisely the run's
answers with the rollups equal to a recount (on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxpulse.store import import_runs, responses
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, Response, Survey, User

from .privacy_support import rollups_match

START = datetime(2025, 5, 1, 9, tzinfo=UTC)


def _answers(
    session: Session, org: Organisation, survey: Survey, n: int, run: int | None
) -> list[int]:
    stored = responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=float(1 + i % 5),
                submitted_at=START + timedelta(days=i),
                channel="email" if i % 2 else None,
                comment=f"answer {i}",
            )
            for i in range(n)
        ],
    )
    ids = [response.id for response, _ in stored]
    if run is not None:
        session.execute(update(Response).where(Response.id.in_(ids)).values(import_run_id=run))
    return ids


def test_undo_deletes_exactly_the_runs_answers_once(
    session: Session, org: Organisation, survey: Survey
) -> None:
    user = User(
        organisation_id=org.id,
        email="ann@acme.example",
        role="analyst",
        name="Ann",
        password_hash="x",
    )
    session.add(user)
    session.flush()
    kept = _answers(session, org, survey, 4, None)
    before = import_runs.list_runs(session, org.id)
    assert before == []
    run = import_runs.start_run(
        session, org.id, survey.id, filename="a.csv", preset="zendesk", created_by=user.id
    )
    import_runs.finish_run(run, rows_total=7, rows_stored=6, rows_rejected=1)
    mine = _answers(session, org, survey, 6, run.id)
    rollups_match(session, org.id)
    listed = import_runs.list_runs(session, org.id)
    assert [(row.run.id, row.user_name) for row in listed] == [(run.id, "Ann")]
    assert import_runs.stored_count(session, org.id, run.id) == 6

    undone = import_runs.undo_run(session, org.id, run.id)
    assert (undone.changed, undone.deleted) == (True, 6)
    assert undone.run.undone_at is not None
    left = set(session.scalars(select(Response.id).where(Response.organisation_id == org.id)))
    assert left == set(kept)
    assert not left & set(mine)
    rollups_match(session, org.id)

    again = import_runs.undo_run(session, org.id, run.id)
    assert (again.changed, again.deleted) == (False, 0)
    assert again.undone_at == undone.undone_at
    assert import_runs.stored_count(session, org.id, run.id) == 0


def test_runs_of_another_organisation_are_invisible(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    run = import_runs.start_run(
        session, org.id, survey.id, filename="x" * 300, preset=None, created_by=None
    )
    assert len(run.filename) == import_runs.MAX_FILENAME
    with pytest.raises(NotFound):
        import_runs.get_run(session, other_org.id, run.id)
    with pytest.raises(NotFound):
        import_runs.undo_run(session, other_org.id, run.id)
    assert import_runs.list_runs(session, other_org.id) == []
    assert import_runs.get_run(session, org.id, run.id).user_name is None
