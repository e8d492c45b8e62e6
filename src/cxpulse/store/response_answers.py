"""Answers to follow-up questions (``models.ResponseAnswer``): store those of one response,
read them back per response, and count them per question for scoring.

Answers are checked by ``collect.follow_ups`` before they get here. Storing the answers of a
response again replaces the answers it had to the same questions (a respondent sending the
thank-you form twice changes, never duplicates). The counts are ``GROUP BY`` queries over the
answers joined to their responses (the window is the responses' ``submitted_at``), so the
scores come from the same histograms as every other score (``cxpulse.metrics``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.orm import Session

from cxpulse.store.errors import NotFound
from cxpulse.store.models import Response, ResponseAnswer, SurveyQuestion


@dataclass(frozen=True)
class NewAnswer:
    question_id: int
    score: float | None = None
    choice: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class StoredAnswer:
    """An answer with the question it answers."""

    response_id: int
    question_id: int
    key: str
    kind: str
    score: float | None
    choice: str | None
    text: str | None
    created_at: datetime


def response_survey(session: Session, organisation_id: int, response_id: int) -> int:
    """The survey of the organisation's response; ``NotFound`` for another's or none."""
    survey_id = session.scalar(
        select(Response.survey_id).where(
            Response.organisation_id == organisation_id, Response.id == response_id
        )
    )
    if survey_id is None:
        raise NotFound("response", response_id)
    return int(survey_id)


def save_answers(
    session: Session,
    organisation_id: int,
    response_id: int,
    answers: Sequence[NewAnswer],
) -> int:
    """Store ``answers`` for the response (replacing earlier answers to the same questions);
    the questions must be of the response's survey. Returns how many were stored."""
    survey_id = response_survey(session, organisation_id, response_id)
    if not answers:
        return 0
    question_ids = {a.question_id for a in answers}
    known = set(
        session.scalars(
            select(SurveyQuestion.id).where(
                SurveyQuestion.organisation_id == organisation_id,
                SurveyQuestion.survey_id == survey_id,
                SurveyQuestion.id.in_(question_ids),
            )
        )
    )
    missing = question_ids - known
    if missing:
        raise NotFound("question", min(missing))
    session.execute(
        delete(ResponseAnswer).where(
            ResponseAnswer.response_id == response_id,
            ResponseAnswer.question_id.in_(question_ids),
        )
    )
    session.add_all(
        ResponseAnswer(
            organisation_id=organisation_id,
            survey_id=survey_id,
            response_id=response_id,
            question_id=a.question_id,
            score=a.score,
            choice=a.choice,
            text=a.text,
        )
        for a in answers
    )
    session.flush()
    return len(answers)


def answers_of(
    session: Session, organisation_id: int, response_ids: Collection[int]
) -> dict[int, list[StoredAnswer]]:
    """Per response, its answers in the order its survey asks the questions (one query)."""
    found: dict[int, list[StoredAnswer]] = {int(r): [] for r in response_ids}
    if not found:
        return found
    rows = session.execute(
        select(
            ResponseAnswer.response_id,
            ResponseAnswer.question_id,
            SurveyQuestion.key,
            SurveyQuestion.kind,
            ResponseAnswer.score,
            ResponseAnswer.choice,
            ResponseAnswer.text,
            ResponseAnswer.created_at,
        )
        .join(SurveyQuestion, SurveyQuestion.id == ResponseAnswer.question_id)
        .where(
            ResponseAnswer.organisation_id == organisation_id,
            ResponseAnswer.response_id.in_(sorted(found)),
        )
        .order_by(ResponseAnswer.response_id, SurveyQuestion.position, SurveyQuestion.id)
    )
    for row in rows:
        found[int(row.response_id)].append(StoredAnswer(*row))
    return found


def answer_window(
    organisation_id: int, survey_id: int, since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    """The organisation's answers to the survey whose responses were submitted in [since,
    until): the conditions of a query joining answers to their responses."""
    conditions: list[ColumnElement[bool]] = [
        ResponseAnswer.organisation_id == organisation_id,
        ResponseAnswer.survey_id == survey_id,
    ]
    if since is not None:
        conditions.append(Response.submitted_at >= since)
    if until is not None:
        conditions.append(Response.submitted_at < until)
    return conditions


def score_counts(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, dict[float, int]]:
    """Per rating question, how many answers gave each score (``GROUP BY question, score``),
    of the responses submitted in [since, until)."""
    conditions = answer_window(organisation_id, survey_id, since, until)
    rows = session.execute(
        select(ResponseAnswer.question_id, ResponseAnswer.score, func.count())
        .join(Response, Response.id == ResponseAnswer.response_id)
        .where(*conditions, ResponseAnswer.score.is_not(None))
        .group_by(ResponseAnswer.question_id, ResponseAnswer.score)
    )
    found: dict[int, dict[float, int]] = {}
    for question_id, score, count in rows:
        if score is not None:
            found.setdefault(int(question_id), {})[float(score)] = int(count)
    return found


def choice_counts(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, dict[str, int]]:
    """Per choice question, how many answers picked each choice, and per text question how
    many answered (under the choice ``""``), in the same window as ``score_counts``."""
    conditions = answer_window(organisation_id, survey_id, since, until)
    rows = session.execute(
        select(ResponseAnswer.question_id, ResponseAnswer.choice, func.count())
        .join(Response, Response.id == ResponseAnswer.response_id)
        .where(*conditions, ResponseAnswer.score.is_(None))
        .group_by(ResponseAnswer.question_id, ResponseAnswer.choice)
    )
    found: dict[int, dict[str, int]] = {}
    for question_id, choice, count in rows:
        found.setdefault(int(question_id), {})[choice or ""] = int(count)
    return found


def survey_scores(
    session: Session, organisation_id: int, survey_id: int
) -> list[tuple[int, float]]:
    """(response id, main score) of every response of the survey, in id order (the demo
    answers follow-up questions in keeping with them)."""
    rows = session.execute(
        select(Response.id, Response.score)
        .where(Response.organisation_id == organisation_id, Response.survey_id == survey_id)
        .order_by(Response.id)
    )
    return [(int(i), float(s)) for i, s in rows]


def add_many(
    session: Session, organisation_id: int, survey_id: int, answers: Sequence[tuple[int, NewAnswer]]
) -> int:
    """Insert checked answers (response id, answer) of responses without any, in one
    statement: for generated data (the demo), not for answers a person sends."""
    if not answers:
        return 0
    session.execute(
        insert(ResponseAnswer),
        [
            {
                "organisation_id": organisation_id,
                "survey_id": survey_id,
                "response_id": response_id,
                "question_id": a.question_id,
                "score": a.score,
                "choice": a.choice,
                "text": a.text,
            }
            for response_id, a in answers
        ],
    )
    return len(answers)
