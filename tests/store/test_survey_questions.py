"""Follow-up question rows (``store.survey_questions``) on both databases: order, moves,
deletion closing the gap, and organisations kept apart."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxpulse.collect import follow_up_changes
from cxpulse.collect.follow_ups import InvalidQuestion
from cxpulse.store import survey_questions, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, Survey


def _rating(key: str) -> dict[str, Any]:
    return {"kind": "rating", "key": key, "labels": {"en": f"How was the {key}?"}}


def _keys(session: Session, org: Organisation, survey: Survey) -> list[str]:
    return [q.key for q in survey_questions.list_questions(session, org.id, survey.id)]


def test_questions_are_added_in_order_moved_and_deleted(
    session: Session, org: Organisation, survey: Survey
) -> None:
    made = [
        follow_up_changes.create_question(session, org.id, survey.id, _rating(key))
        for key in ("delivery", "support", "ease")
    ]
    assert [q.position for q in made] == [0, 1, 2]
    survey_questions.move(session, org.id, survey.id, made[2].id, -1)
    assert _keys(session, org, survey) == ["delivery", "ease", "support"]
    survey_questions.move(session, org.id, survey.id, made[0].id, -1)  # at the top: stays
    assert _keys(session, org, survey) == ["delivery", "ease", "support"]
    survey_questions.reorder(session, org.id, survey.id, [made[1].id, made[0].id, made[2].id])
    assert _keys(session, org, survey) == ["support", "delivery", "ease"]
    with pytest.raises(Invalid):
        survey_questions.reorder(session, org.id, survey.id, [made[1].id, made[1].id, made[2].id])
    survey_questions.delete_question(session, org.id, survey.id, made[0].id)
    questions = survey_questions.list_questions(session, org.id, survey.id)
    assert [(q.key, q.position) for q in questions] == [("support", 0), ("ease", 1)]


def test_five_at_most_and_unique_keys_per_survey(
    session: Session, org: Organisation, survey: Survey
) -> None:
    for n in range(5):
        follow_up_changes.create_question(session, org.id, survey.id, _rating(f"q{n}"))
    with pytest.raises(InvalidQuestion) as caught:
        follow_up_changes.create_question(session, org.id, survey.id, _rating("q0"))
    assert {p.field for p in caught.value.problems} == {"survey", "key"}
    other = surveys.create_survey(session, org.id, slug="nps", name="NPS", metric="nps")
    follow_up_changes.create_question(session, org.id, other.id, _rating("q0"))


def test_an_update_is_checked_as_a_whole(
    session: Session, org: Organisation, survey: Survey
) -> None:
    first = follow_up_changes.create_question(session, org.id, survey.id, _rating("delivery"))
    follow_up_changes.create_question(session, org.id, survey.id, _rating("support"))
    changed = follow_up_changes.update_question(
        session, org.id, survey.id, first.id, {"scale_low": 0, "scale_high": 10}
    )
    assert (changed.scale_low, changed.scale_high, changed.key) == (0, 10, "delivery")
    with pytest.raises(InvalidQuestion):
        follow_up_changes.update_question(session, org.id, survey.id, first.id, {"key": "support"})
    with pytest.raises(InvalidQuestion) as caught:
        follow_up_changes.update_question(session, org.id, survey.id, first.id, {"kind": "choice"})
    assert [p.field for p in caught.value.problems] == ["choices"]
    text = follow_up_changes.update_question(session, org.id, survey.id, first.id, {"kind": "text"})
    assert (text.kind, text.scale_low, text.scale_high) == ("text", None, None)


def test_another_organisations_questions_are_not_found(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    question = follow_up_changes.create_question(session, org.id, survey.id, _rating("delivery"))
    with pytest.raises(NotFound):
        survey_questions.get_question(session, other_org.id, survey.id, question.id)
    with pytest.raises(NotFound):
        survey_questions.delete_question(session, other_org.id, survey.id, question.id)
    with pytest.raises(NotFound):
        follow_up_changes.create_question(session, other_org.id, survey.id, _rating("x"))
    assert survey_questions.list_questions(session, other_org.id, survey.id) == []
