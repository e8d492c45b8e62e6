"""What drives a survey's score (``report.follow_up_drivers``) on both databases: the table is
``key_drivers``' on the same complete rows (same resamples, same seed), labels in the asked
language, partial answers left out, and a reason instead of a table when there are too few
rating questions or complete answers, or nothing varies."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from cxpulse.collect import follow_up_changes
from cxpulse.report import follow_up_drivers
from cxpulse.report.follow_up_drivers import survey_drivers
from cxpulse.store import accounts, response_answers, responses, surveys
from cxpulse.store.models import Survey, SurveyQuestion
from cxpulse.store.response_answers import NewAnswer
from cxpulse.text.key_drivers import key_drivers

START = datetime(2026, 3, 1, 12, tzinfo=UTC)
RATINGS = {
    "delivery": {"en": "How was the delivery?", "sv": "Hur var leveransen?"},
    "support": {"en": "How was <b>support</b>?"},
}


def _survey(session: Session, ratings: int = 2) -> tuple[int, Survey, list[SurveyQuestion]]:
    org = accounts.create_organisation(session, slug="shop", name="Shop").id
    survey = surveys.create_survey(session, org, slug="csat", name="CSAT", metric="csat")
    questions = [
        follow_up_changes.create_question(
            session, org, survey.id, {"kind": "rating", "key": key, "labels": labels}
        )
        for key, labels in list(RATINGS.items())[:ratings]
    ]
    follow_up_changes.create_question(
        session, org, survey.id, {"kind": "text", "key": "why", "labels": {"en": "Why?"}}
    )
    return org, survey, questions


def _answers(
    session: Session,
    org: int,
    survey: Survey,
    questions: list[SurveyQuestion],
    rows: Sequence[tuple[float, ...]],
    start: datetime = START,
) -> None:
    """One response per row (score, rating per question; NaN: not answered), a day apart."""
    stored = responses.add_responses(
        session,
        org,
        [
            responses.NewResponse(
                survey_id=survey.id, score=row[0], submitted_at=start + timedelta(days=n)
            )
            for n, row in enumerate(rows)
        ],
    )
    answers = [
        (held[0].id, NewAnswer(question.id, score=value))
        for held, row in zip(stored, rows, strict=True)
        for question, value in zip(questions, row[1:], strict=True)
        if not np.isnan(value)
    ]
    response_answers.add_many(session, org, survey.id, answers)


def _rows(count: int, seed: int = 7) -> list[tuple[float, float, float]]:
    """Scores 1-5 that follow the delivery rating more than the support rating."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        delivery, support = rng.randint(1, 5), rng.randint(1, 5)
        score = round(0.7 * delivery + 0.3 * support + rng.gauss(0, 0.7))
        rows.append((float(min(5, max(1, score))), float(delivery), float(support)))
    return rows


def test_the_table_is_key_drivers_on_the_complete_rows(session: Session) -> None:
    org, survey, questions = _survey(session)
    rows = _rows(45)
    partial: list[tuple[float, float, float]] = [(3.0, 4.0, math.nan), (2.0, math.nan, 1.0)]
    _answers(session, org, survey, questions, rows + partial)

    found = survey_drivers(session, org, survey, level=0.9)
    # The store hands the latest first; the same rows in the same order give the same
    # resamples, so every figure is key_drivers' own.
    data = np.array(rows[::-1])
    expected = key_drivers(
        data[:, 0],
        {"delivery": data[:, 1], "support": data[:, 2]},
        level=0.9,
        bootstrap=follow_up_drivers.BOOTSTRAP,
        seed=follow_up_drivers.SEED,
    )
    assert found.reason is None
    assert (found.n, found.left_out, found.complete, found.capped) == (45, 2, 45, False)
    assert found.r_squared == pytest.approx(expected.r_squared)
    assert found.r_squared_low == pytest.approx(expected.r_squared_ci_low)
    assert found.r_squared_high == pytest.approx(expected.r_squared_ci_high)
    assert [row.key for row in found.rows] == [row.name for row in expected.rows]
    assert found.rows[0].key == "delivery"
    for got in found.rows:
        want = expected.row(got.key)
        assert got.question_id == {q.key: q.id for q in questions}[got.key]
        assert (got.weight, got.weight_low, got.weight_high) == pytest.approx(
            (want.weight, want.weight_ci_low, want.weight_ci_high)
        )
        assert (got.shapley, got.shapley_low, got.shapley_high) == pytest.approx(
            (want.shapley, want.shapley_ci_low, want.shapley_ci_high)
        )
        assert (got.share, got.correlation, got.mean) == pytest.approx(
            (want.share, want.correlation, want.mean)
        )
    assert sum(row.weight for row in found.rows) == pytest.approx(found.r_squared)
    # Twice the same answers, twice the same intervals.
    assert survey_drivers(session, org, survey, level=0.9) == found


def test_labels_in_the_asked_language_else_the_surveys(session: Session) -> None:
    org, survey, questions = _survey(session)
    _answers(session, org, survey, questions, _rows(40))
    labels = {row.key: row.label for row in survey_drivers(session, org, survey).rows}
    assert labels == {"delivery": "How was the delivery?", "support": "How was <b>support</b>?"}
    swedish = survey_drivers(session, org, survey, language="sv")
    assert {row.key: row.label for row in swedish.rows}["delivery"] == "Hur var leveransen?"


def test_the_window_bounds_the_rows(session: Session) -> None:
    org, survey, questions = _survey(session)
    _answers(session, org, survey, questions, _rows(50))
    found = survey_drivers(
        session, org, survey, since=START + timedelta(days=5), until=START + timedelta(days=45)
    )
    assert (found.n, found.reason) == (40, None)
    short = survey_drivers(session, org, survey, since=START, until=START + timedelta(days=29))
    assert (short.n, short.reason) == (29, follow_up_drivers.FEW_ANSWERS)


def test_reasons_instead_of_a_table(session: Session) -> None:
    org, survey, questions = _survey(session, ratings=1)
    _answers(session, org, survey, questions, [row[:2] for row in _rows(40)])
    alone = survey_drivers(session, org, survey)
    assert (alone.reason, alone.rows, alone.n) == (follow_up_drivers.FEW_QUESTIONS, (), 40)
    assert alone.reason_text is not None
    assert "at least two rating questions" in alone.reason_text


def test_too_few_complete_answers_or_nothing_that_varies(session: Session) -> None:
    org, survey, questions = _survey(session)
    few = _rows(29)
    _answers(session, org, survey, questions, few)
    found = survey_drivers(session, org, survey)
    assert (found.reason, found.n, found.rows) == (follow_up_drivers.FEW_ANSWERS, 29, ())
    assert found.reason_text is not None
    assert "at least 30" in found.reason_text

    # The same 30 ratings of support: key_drivers refuses, the report says which.
    flat = [(score, delivery, 3.0) for score, delivery, _ in _rows(30, seed=3)]
    later = START + timedelta(days=100)
    _answers(session, org, survey, questions, flat, start=later)
    constant = survey_drivers(session, org, survey, since=later)
    assert (constant.reason, constant.n) == (follow_up_drivers.NO_VARIATION, 30)
    assert constant.reason_text is not None
    assert "How was <b>support</b>?" in constant.reason_text
    assert "delivery" not in constant.reason_text
