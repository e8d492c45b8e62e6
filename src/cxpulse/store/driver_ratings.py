"""The rows of a key-driver analysis of a survey's score on its rating questions: per
response, its score and its answer to each of the given rating questions.

Only responses that answered every given question make a row (the analysis needs complete
rows); those that answered some but not all are counted as left out, so a reader knows how
many answers the table does not use. The rows are one ``GROUP BY`` over the answers joined to
their responses, each question's rating picked by conditional aggregation, so the database
hands over one short row per response instead of one row per answer. The window is the
responses' ``submitted_at``, as for the questions' other results (``response_answers``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, case, func, select
from sqlalchemy.orm import Session

from cxpulse.store.models import Response, ResponseAnswer
from cxpulse.store.response_answers import answer_window

MAX_ROWS = 50_000
"""Complete rows read at most, the latest first: enough for tight intervals, while the
bootstrap's cost (rows x resamples) stays within a page load."""


@dataclass(frozen=True)
class DriverRatings:
    """The complete rows of one survey's score and ratings over a window."""

    question_ids: tuple[int, ...]
    rows: tuple[tuple[float, ...], ...]
    """(score, rating of question_ids[0], ..., rating of question_ids[-1]) per response,
    latest submitted first."""
    complete: int
    """Responses of the window that answered every question (``rows`` holds at most
    ``cap`` of them)."""
    left_out: int
    """Responses of the window that answered at least one question but not all."""
    cap: int

    @property
    def capped(self) -> bool:
        return self.complete > len(self.rows)


def driver_ratings(
    session: Session,
    organisation_id: int,
    survey_id: int,
    question_ids: Sequence[int],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    cap: int = MAX_ROWS,
) -> DriverRatings:
    """The score and ratings of the survey's responses submitted in [since, until) that
    answered every question of ``question_ids`` (the latest ``cap``), and how many answered
    only some."""
    ids = tuple(dict.fromkeys(int(q) for q in question_ids))
    if not ids:
        return DriverRatings(ids, (), 0, 0, cap)
    conditions = _conditions(organisation_id, survey_id, ids, since, until)
    answered = func.count(ResponseAnswer.question_id)

    # Per response how many of the questions it answered; then complete and partial ones.
    per_response = (
        select(answered.label("answered"))
        .select_from(ResponseAnswer)
        .join(Response, Response.id == ResponseAnswer.response_id)
        .where(*conditions)
        .group_by(ResponseAnswer.response_id)
        .subquery()
    )
    is_complete = per_response.c.answered == len(ids)
    complete, left_out = session.execute(
        select(
            func.coalesce(func.sum(case((is_complete, 1), else_=0)), 0).cast(Integer),
            func.coalesce(func.sum(case((is_complete, 0), else_=1)), 0).cast(Integer),
        )
    ).one()

    ratings = [
        func.max(case((ResponseAnswer.question_id == question_id, ResponseAnswer.score)))
        for question_id in ids
    ]
    found = session.execute(
        select(Response.score, *ratings)
        .select_from(ResponseAnswer)
        .join(Response, Response.id == ResponseAnswer.response_id)
        .where(*conditions)
        .group_by(Response.id, Response.score, Response.submitted_at)
        .having(answered == len(ids))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(cap)
    )
    # PostgreSQL stores NaN and infinities as values (SQLite refuses them, and every write
    # path of the app checks for finite numbers); a row holding one cannot be analysed, and
    # counting it would make n say more than the analysis used.
    rows = tuple(
        values
        for values in (tuple(float(value) for value in row) for row in found)
        if all(math.isfinite(value) for value in values)
    )
    return DriverRatings(ids, rows, int(complete), int(left_out), cap)


def _conditions(
    organisation_id: int,
    survey_id: int,
    question_ids: tuple[int, ...],
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    # Both tables scoped: an answer carries its organisation and survey, and so does its
    # response, and neither may lead to another organisation's rows.
    return [
        *answer_window(organisation_id, survey_id, since, until),
        ResponseAnswer.question_id.in_(question_ids),
        ResponseAnswer.score.is_not(None),
        Response.organisation_id == organisation_id,
        Response.survey_id == survey_id,
    ]
