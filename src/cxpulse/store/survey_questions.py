"""Follow-up question rows of a survey (``models.SurveyQuestion``): read, add, change, order
and delete them, always within one organisation.

What a question may hold is checked by ``collect.follow_ups`` before it gets here. Questions
are asked in ``position`` order, then by id; positions are kept 0, 1, 2 ... by every change
of order, so "move up" and "move down" swap neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, Response, Survey, SurveyQuestion


def list_questions(session: Session, organisation_id: int, survey_id: int) -> list[SurveyQuestion]:
    """The survey's questions in the order they are asked."""
    return list(
        session.scalars(
            select(SurveyQuestion)
            .where(
                SurveyQuestion.organisation_id == organisation_id,
                SurveyQuestion.survey_id == survey_id,
            )
            .order_by(SurveyQuestion.position, SurveyQuestion.id)
        )
    )


def get_question(
    session: Session, organisation_id: int, survey_id: int, question_id: int
) -> SurveyQuestion:
    where = and_(SurveyQuestion.survey_id == survey_id, SurveyQuestion.id == question_id)
    return scoped.get_one(
        session, SurveyQuestion, organisation_id, where, entity="question", key=question_id
    )


def add_question(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    kind: str,
    key: str,
    labels: dict[str, str],
    choices: list[dict[str, Any]],
    scale_low: int | None,
    scale_high: int | None,
) -> SurveyQuestion:
    """Store a checked question after the survey's others; its id is set on return."""
    existing = list_questions(session, organisation_id, survey_id)
    question = SurveyQuestion(
        organisation_id=organisation_id,
        survey_id=survey_id,
        position=len(existing),
        kind=kind,
        key=key,
        labels=labels,
        choices=choices,
        scale_low=scale_low,
        scale_high=scale_high,
    )
    session.add(question)
    session.flush()
    return question


def change_question(
    question: SurveyQuestion,
    *,
    kind: str,
    key: str,
    labels: dict[str, str],
    choices: list[dict[str, Any]],
    scale_low: int | None,
    scale_high: int | None,
) -> SurveyQuestion:
    """Write checked values over ``question`` (flushed with the session)."""
    question.kind = kind
    question.key = key
    question.labels = labels
    question.choices = choices
    question.scale_low = scale_low
    question.scale_high = scale_high
    return question


def _renumber(questions: Sequence[SurveyQuestion]) -> None:
    for position, question in enumerate(questions):
        if question.position != position:
            question.position = position


def delete_question(
    session: Session, organisation_id: int, survey_id: int, question_id: int
) -> SurveyQuestion:
    """Delete the question (its answers go with it) and close the gap in the order."""
    question = get_question(session, organisation_id, survey_id, question_id)
    session.delete(question)
    session.flush()
    _renumber(list_questions(session, organisation_id, survey_id))
    session.flush()
    return question


def reorder(
    session: Session, organisation_id: int, survey_id: int, question_ids: Sequence[int]
) -> list[SurveyQuestion]:
    """Ask the questions in the order of ``question_ids``, which must name each of the
    survey's questions once; raises ``Invalid`` on ``ids`` otherwise."""
    questions = list_questions(session, organisation_id, survey_id)
    by_id = {q.id: q for q in questions}
    if sorted(question_ids) != sorted(by_id) or len(set(question_ids)) != len(question_ids):
        raise Invalid("ids", "name each of the survey's questions exactly once")
    ordered = [by_id[i] for i in question_ids]
    _renumber(ordered)
    session.flush()
    return ordered


def move(
    session: Session, organisation_id: int, survey_id: int, question_id: int, step: int
) -> list[SurveyQuestion]:
    """Move the question one place up (``step`` -1) or down (+1); at an end, nothing moves."""
    questions = list_questions(session, organisation_id, survey_id)
    index = next((n for n, q in enumerate(questions) if q.id == question_id), None)
    if index is None:
        raise NotFound("question", question_id)
    target = index + (1 if step > 0 else -1)
    if 0 <= target < len(questions):
        questions[index], questions[target] = questions[target], questions[index]
    _renumber(questions)
    session.flush()
    return questions


@dataclass(frozen=True)
class FollowUpPage:
    """What the respondent's follow-up form needs, read by the response its token names."""

    organisation_id: int
    organisation_name: str
    default_language: str
    questions: list[SurveyQuestion]
    """Detached from the session, in asking order."""


def follow_up_page(
    session: Session, response_id: int, survey_id: int, *, received_by: datetime | None = None
) -> FollowUpPage | None:
    """The response's organisation, its survey's default language and follow-up questions;
    None when there is no such response of ``survey_id`` (received by ``received_by``, the
    moment its token was issued: a later one took the id of a deleted response). No
    caller's organisation is checked: the signed token naming the response is the
    permission (as a survey link is)."""
    row = session.execute(
        select(Response.organisation_id, Organisation.name, Survey.default_language)
        .join(Survey, Survey.id == Response.survey_id)
        .join(Organisation, Organisation.id == Response.organisation_id)
        .where(
            Response.id == response_id,
            Response.survey_id == survey_id,
            Survey.organisation_id == Response.organisation_id,
            true() if received_by is None else Response.received_at <= received_by,
        )
    ).one_or_none()
    if row is None:
        return None
    organisation_id, name, default_language = row
    questions = page_questions(session, organisation_id, survey_id)
    return FollowUpPage(organisation_id, name, default_language, questions)


def page_questions(session: Session, organisation_id: int, survey_id: int) -> list[SurveyQuestion]:
    """The survey's questions detached from the session, for a page rendered after it ends."""
    questions = list_questions(session, organisation_id, survey_id)
    for question in questions:
        session.expunge(question)
    return questions
