"""Answers to follow-up questions (``store.response_answers``) on both databases: stored to
one response, replaced when sent again, read per response, counted per question and score
in a window, and never across organisations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.collect import follow_up_changes
from cxpulse.collect.follow_ups import InvalidQuestion
from cxpulse.report.follow_up_scores import question_results
from cxpulse.store import response_answers, responses
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, Survey, SurveyQuestion

START = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _questions(session: Session, org: Organisation, survey: Survey) -> list[SurveyQuestion]:
    rating = follow_up_changes.create_question(
        session, org.id, survey.id, {"kind": "rating", "key": "delivery", "labels": {"en": "D?"}}
    )
    choice = follow_up_changes.create_question(
        session,
        org.id,
        survey.id,
        {
            "kind": "choice",
            "key": "found_us",
            "labels": {"en": "How?"},
            "choices": [
                {"key": "friend", "labels": {"en": "F"}},
                {"key": "ad", "labels": {"en": "A"}},
            ],
        },
    )
    text = follow_up_changes.create_question(
        session, org.id, survey.id, {"kind": "text", "key": "improve", "labels": {"en": "Why?"}}
    )
    return [rating, choice, text]


def _responses(session: Session, org: Organisation, survey: Survey, n: int) -> list[int]:
    stored = responses.add_responses(
        session,
        org.id,
        [
            responses.NewResponse(
                survey_id=survey.id, score=4, submitted_at=START + timedelta(days=i)
            )
            for i in range(n)
        ],
    )
    return [row[0].id for row in stored]


def test_answers_are_stored_replaced_and_read_in_asking_order(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _questions(session, org, survey)
    [response_id] = _responses(session, org, survey, 1)
    raw = {"improve": "Faster", "delivery": "4", "found_us": "friend"}
    follow_up_changes.record_answers(session, org.id, response_id, raw)
    follow_up_changes.record_answers(session, org.id, response_id, {"delivery": "5"})
    [found] = response_answers.answers_of(session, org.id, [response_id]).values()
    assert [(a.key, a.score, a.choice, a.text) for a in found] == [
        ("delivery", 5.0, None, None),
        ("found_us", None, "friend", None),
        ("improve", None, None, "Faster"),
    ]
    with pytest.raises(InvalidQuestion):
        follow_up_changes.record_answers(session, org.id, response_id, {"delivery": "7"})


def test_another_organisations_response_takes_no_answers(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    [rating, *_] = _questions(session, org, survey)
    [response_id] = _responses(session, org, survey, 1)
    with pytest.raises(NotFound):
        follow_up_changes.record_answers(session, other_org.id, response_id, {"delivery": "4"})
    with pytest.raises(NotFound):
        response_answers.save_answers(
            session, other_org.id, response_id, [response_answers.NewAnswer(rating.id, 4.0)]
        )
    assert response_answers.answers_of(session, other_org.id, [response_id]) == {response_id: []}


def test_counts_per_question_feed_the_metrics_core(
    session: Session, org: Organisation, survey: Survey
) -> None:
    rating, choice, text = _questions(session, org, survey)
    ids = _responses(session, org, survey, 10)
    for n, response_id in enumerate(ids):
        follow_up_changes.record_answers(
            session,
            org.id,
            response_id,
            {"delivery": str(1 + n % 5), "found_us": "ad" if n < 3 else "friend", "improve": "x"},
        )
    counts = response_answers.score_counts(session, org.id, survey.id)
    assert counts == {rating.id: {1.0: 2, 2.0: 2, 3.0: 2, 4.0: 2, 5.0: 2}}
    picks = response_answers.choice_counts(session, org.id, survey.id)
    assert picks == {choice.id: {"ad": 3, "friend": 7}, text.id: {"": 10}}
    window = response_answers.score_counts(
        session, org.id, survey.id, since=START, until=START + timedelta(days=5)
    )
    assert sum(window[rating.id].values()) == 5

    rated, picked, said = question_results(session, org.id, survey.id)
    assert rated.n == 10
    assert rated.top_box is not None
    assert rated.mean is not None
    assert rated.top_box.value == pytest.approx(40.0)  # 4s and 5s of 1-5
    assert rated.top_box.ci_low < 40 < rated.top_box.ci_high
    assert rated.mean.value == pytest.approx(3.0)
    assert [(c.key, c.count, round(c.share)) for c in picked.choices] == [
        ("friend", 7, 70),
        ("ad", 3, 30),
    ]
    assert picked.choices[0].ci_low < 70 < picked.choices[0].ci_high
    assert said.n == 10
