"""The rows of a key-driver analysis (``store.driver_ratings``) on both databases: one row
per response that answered every given rating question, latest first, within the window;
partial answers counted as left out; the cap said; nothing of another organisation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from cxpulse.collect import follow_up_changes
from cxpulse.store import driver_ratings, responses, surveys
from cxpulse.store.models import Organisation, ResponseAnswer, Survey, SurveyQuestion

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _ratings(session: Session, org: int, survey: int) -> list[SurveyQuestion]:
    return [
        follow_up_changes.create_question(
            session, org, survey, {"kind": "rating", "key": key, "labels": {"en": f"{key}?"}}
        )
        for key in ("delivery", "support")
    ]


def _answered(
    session: Session, org: int, survey: int, answers: list[tuple[float, dict[str, str]]]
) -> list[int]:
    """Responses a day apart from START with their score and follow-up answers."""
    stored = responses.add_responses(
        session,
        org,
        [
            responses.NewResponse(survey_id=survey, score=score, submitted_at=START + timedelta(n))
            for n, (score, _) in enumerate(answers)
        ],
    )
    ids = [row[0].id for row in stored]
    for response_id, (_, raw) in zip(ids, answers, strict=True):
        if raw:
            follow_up_changes.record_answers(session, org, response_id, raw)
    return ids


def test_complete_rows_latest_first_and_partial_ones_left_out(
    session: Session, org: Organisation, survey: Survey
) -> None:
    delivery, support = _ratings(session, org.id, survey.id)
    _answered(
        session,
        org.id,
        survey.id,
        [
            (5, {"delivery": "5", "support": "4"}),
            (2, {"delivery": "1"}),  # partial: left out
            (4, {}),  # no follow-up answer: neither
            (3, {"support": "2", "delivery": "3"}),
            (1, {"support": "1"}),  # partial
        ],
    )
    found = driver_ratings.driver_ratings(session, org.id, survey.id, [delivery.id, support.id])
    assert found.question_ids == (delivery.id, support.id)
    assert found.rows == ((3.0, 3.0, 2.0), (5.0, 5.0, 4.0))
    assert (found.complete, found.left_out, found.capped) == (2, 2, False)
    # The columns follow the order asked for.
    swapped = driver_ratings.driver_ratings(session, org.id, survey.id, [support.id, delivery.id])
    assert swapped.rows == ((3.0, 2.0, 3.0), (5.0, 4.0, 5.0))
    # One question: every response that answered it is complete.
    alone = driver_ratings.driver_ratings(session, org.id, survey.id, [delivery.id])
    assert (alone.complete, alone.left_out) == (3, 0)
    assert driver_ratings.driver_ratings(session, org.id, survey.id, []).rows == ()


def test_the_window_is_since_included_until_excluded(
    session: Session, org: Organisation, survey: Survey
) -> None:
    ids = [q.id for q in _ratings(session, org.id, survey.id)]
    both = {"delivery": "4", "support": "4"}
    _answered(session, org.id, survey.id, [(n + 1, both) for n in range(5)])
    window = driver_ratings.driver_ratings(
        session, org.id, survey.id, ids, since=START + timedelta(1), until=START + timedelta(3)
    )
    assert [row[0] for row in window.rows] == [3.0, 2.0]
    assert window.left_out == 0


def test_the_cap_keeps_the_latest_and_says_so(
    session: Session, org: Organisation, survey: Survey
) -> None:
    ids = [q.id for q in _ratings(session, org.id, survey.id)]
    both = {"delivery": "4", "support": "4"}
    _answered(session, org.id, survey.id, [(1 + n % 5, both) for n in range(6)])
    found = driver_ratings.driver_ratings(session, org.id, survey.id, ids, cap=4)
    assert [row[0] for row in found.rows] == [1.0, 5.0, 4.0, 3.0]
    assert (found.complete, found.cap, found.capped) == (6, 4, True)


def test_another_organisation_gets_nothing(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    ids = [q.id for q in _ratings(session, org.id, survey.id)]
    _answered(session, org.id, survey.id, [(5, {"delivery": "5", "support": "5"})])
    theirs = surveys.create_survey(session, other_org.id, slug="s", name="S", metric="csat")
    _answered(session, other_org.id, theirs.id, [(1, {})])
    for organisation, survey_id in ((other_org.id, survey.id), (other_org.id, theirs.id)):
        found = driver_ratings.driver_ratings(session, organisation, survey_id, ids)
        assert (found.rows, found.complete, found.left_out) == ((), 0, 0)
    assert driver_ratings.driver_ratings(session, org.id, survey.id, ids).complete == 1


def test_a_row_with_a_value_that_is_not_finite_is_not_used(
    session: Session, org: Organisation, survey: Survey, database_kind: str
) -> None:
    # Only PostgreSQL can hold a NaN (SQLite stores it as NULL, and the app's writes refuse
    # it): data written straight into the database must not make n count a row the
    # analysis cannot use.
    if database_kind != "postgresql":
        pytest.skip("SQLite cannot store NaN")
    delivery, support = _ratings(session, org.id, survey.id)
    ids = _answered(
        session,
        org.id,
        survey.id,
        [(5, {"delivery": "5", "support": "4"}), (3, {"delivery": "3", "support": "2"})],
    )
    session.execute(
        update(ResponseAnswer)
        .where(ResponseAnswer.response_id == ids[0], ResponseAnswer.question_id == support.id)
        .values(score=float("nan"))
    )
    found = driver_ratings.driver_ratings(session, org.id, survey.id, [delivery.id, support.id])
    assert found.rows == ((3.0, 3.0, 2.0),)
