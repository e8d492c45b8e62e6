"""The worker's queue: commented answers without an analysis, in id ranges, and analyses of
another version, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from cxpulse.store import comment_queue, surveys
from cxpulse.store.models import Organisation, Survey

from .analysis_support import MOMENT, analysed, answer, write


def _ids(found: list[comment_queue.PendingComment]) -> list[int]:
    return [pending.response_id for pending in found]


def test_the_queue_is_the_commented_answers_without_an_analysis(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    other_survey = surveys.create_survey(session, other_org.id, slug="s", name="S", metric="nps")
    first = answer(session, org.id, survey.id, 5, "great")
    answer(session, org.id, survey.id, 4, None)
    theirs = answer(session, other_org.id, other_survey.id, 9, "fine", at=MOMENT)
    third = answer(session, org.id, survey.id, 1, "  awful  ", at=MOMENT + timedelta(days=1))
    answer(session, org.id, survey.id, 3, "   ")  # blank: stored without a comment

    found = comment_queue.unanalysed_comments(session, limit=10)
    assert _ids(found) == [first.id, theirs.id, third.id]
    assert found[2] == comment_queue.PendingComment(
        response_id=third.id,
        organisation_id=org.id,
        survey_id=survey.id,
        score=1.0,
        comment="awful",
        language=None,
        submitted_at=MOMENT + timedelta(days=1),
    )
    assert _ids(comment_queue.unanalysed_comments(session, limit=2)) == [first.id, theirs.id]
    assert _ids(comment_queue.unanalysed_comments(session, limit=10, after_id=first.id)) == [
        theirs.id,
        third.id,
    ]
    assert _ids(
        comment_queue.unanalysed_comments(session, limit=10, after_id=0, through_id=theirs.id)
    ) == [first.id, theirs.id]
    assert _ids(comment_queue.unanalysed_comments(session, limit=10, organisation_id=org.id)) == [
        first.id,
        third.id,
    ]
    assert comment_queue.latest_response_id(session) >= third.id

    write(session, org.id, analysed(first))
    assert _ids(comment_queue.unanalysed_comments(session, limit=10)) == [theirs.id, third.id]


def test_stale_analyses_come_back_until_redone(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    responses_made = [answer(session, org.id, survey.id, 4, f"comment {n}") for n in range(5)]
    write(session, org.id, *(analysed(r) for r in responses_made), version="v.1")
    assert comment_queue.stale_comments(session, org.id, "v.1", limit=10) == []
    assert comment_queue.stale_comments(session, other_org.id, "v.2", limit=10) == []
    # Both below and above the wanted version count as stale.
    stale = comment_queue.stale_comments(session, org.id, "v.2", limit=10)
    assert _ids(stale) == [r.id for r in responses_made]
    assert len(comment_queue.stale_comments(session, org.id, "v.0", limit=3)) == 3
    write(session, org.id, *(analysed(r) for r in responses_made[:2]), version="v.2")
    assert _ids(comment_queue.stale_comments(session, org.id, "v.2", limit=10)) == [
        r.id for r in responses_made[2:]
    ]

    newer = answer(session, org.id, survey.id, 1, "new")
    pending = comment_queue.pending_comments(session, {org.id: "v.2"}, limit=10)
    assert _ids(pending) == [newer.id] + [r.id for r in responses_made[2:]]
    assert _ids(comment_queue.pending_comments(session, {org.id: "v.2"}, limit=2)) == [
        newer.id,
        responses_made[2].id,
    ]
    assert (
        comment_queue.pending_comments(
            session, {org.id: "v.2"}, limit=10, organisation_id=other_org.id
        )
        == []
    )


def test_a_worker_can_look_past_the_comments_another_holds(
    session: Session, org: Organisation, survey: Survey
) -> None:
    made = [answer(session, org.id, survey.id, 4, f"comment {n}") for n in range(4)]
    held = {made[0].id, made[2].id}
    assert _ids(comment_queue.unanalysed_comments(session, limit=10, exclude=held)) == [
        made[1].id,
        made[3].id,
    ]
    write(session, org.id, *(analysed(r) for r in made), version="v.1")
    stale = comment_queue.stale_comments(session, org.id, "v.2", limit=10, exclude=held)
    assert _ids(stale) == [made[1].id, made[3].id]


def test_still_waiting_is_what_nobody_wrote_meanwhile(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    other_survey = surveys.create_survey(session, other_org.id, slug="s", name="S", metric="nps")
    new = answer(session, org.id, survey.id, 4, "not analysed yet")
    current = answer(session, org.id, survey.id, 4, "analysed with today's version")
    older = answer(session, org.id, survey.id, 4, "analysed with an older version")
    removed = answer(session, org.id, survey.id, 4, "its comment goes")
    theirs = answer(session, other_org.id, other_survey.id, 9, "another organisation's")
    write(session, org.id, analysed(current), version="v.2")
    write(session, org.id, analysed(older), analysed(removed), version="v.1")
    write(session, other_org.id, analysed(theirs), version="v.1")
    removed.comment = None  # as an edit does, before its analysis is taken away
    session.flush()
    ids = [new.id, current.id, older.id, removed.id, theirs.id, 10**9]  # the last: deleted
    assert comment_queue.still_waiting(session, ids, {org.id: "v.2"}) == {
        new.id,
        older.id,
        removed.id,
    }
    # An organisation whose version is not known counts any analysis as done.
    assert comment_queue.still_waiting(session, [theirs.id, new.id], {}) == {new.id}
    assert comment_queue.still_waiting(session, [theirs.id], {other_org.id: "v.2"}) == {theirs.id}
    assert comment_queue.still_waiting(session, [], {}) == set()
