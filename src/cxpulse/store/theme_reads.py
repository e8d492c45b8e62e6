"""Reads behind the taxonomy page, theme discovery and the themes API.

- ``mentions_since``: how many answers mention each theme since a moment, over all of the
  organisation's surveys (the taxonomy page's "mentions in the last 30 days");
- ``period_comments`` and ``period_counts``: the analysed comments of one survey and period,
  newest first, and how many there are (and how many still wait for the worker): what
  discovery reads (``report.theme_discovery``).

Comments come as their analysis stored them: redacted, with the language found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store.models import AnalysedComment, Response, ResponseTheme, Survey
from cxpulse.store.surveys import get_survey


@dataclass(frozen=True)
class PeriodComment:
    response_id: int
    submitted_at: datetime
    score: float
    language: str | None
    text: str
    """The redacted comment."""


@dataclass(frozen=True)
class PeriodCounts:
    analysed: int
    """Comments of the period whose analysis is stored."""
    waiting: int
    """Comments of the period still waiting for their first analysis."""


def mentions_since(session: Session, organisation_id: int, since: datetime) -> dict[int, int]:
    """Theme id to the number of answers mentioning it submitted at or after ``since``
    (themes without a mention are absent)."""
    # By the organisation's surveys: each is a range of the (survey, theme, time) index,
    # where a filter on the organisation column would visit every row.
    surveys = select(Survey.id).where(Survey.organisation_id == organisation_id)
    rows = session.execute(
        select(ResponseTheme.theme_id, func.count())
        .where(
            ResponseTheme.survey_id.in_(surveys.scalar_subquery()),
            ResponseTheme.submitted_at >= values.aware("since", since),
        )
        .group_by(ResponseTheme.theme_id)
    )
    return {int(theme_id): int(count) for theme_id, count in rows}


def period_comments(
    session: Session,
    organisation_id: int,
    survey_id: int,
    start: date,
    end: date,
    *,
    limit: int,
) -> list[PeriodComment]:
    """The newest ``limit`` analysed comments of the survey from ``start`` (inclusive) to
    ``end`` (exclusive, UTC days), newest first; NotFound for another organisation's survey."""
    get_survey(session, organisation_id, survey_id)
    rows = session.execute(
        select(
            AnalysedComment.response_id,
            AnalysedComment.submitted_at,
            AnalysedComment.score,
            AnalysedComment.language,
            AnalysedComment.redacted_comment,
        )
        .where(
            AnalysedComment.survey_id == survey_id,
            AnalysedComment.submitted_at >= values.instant("start", start),
            AnalysedComment.submitted_at < values.instant("end", end),
        )
        .order_by(AnalysedComment.submitted_at.desc(), AnalysedComment.response_id.desc())
        .limit(limit)
    )
    return [PeriodComment(int(row[0]), row[1], float(row[2]), row[3], str(row[4])) for row in rows]


def period_counts(
    session: Session, organisation_id: int, survey_id: int, start: date, end: date
) -> PeriodCounts:
    """How many comments of the survey's period are analysed, and how many are waiting."""
    get_survey(session, organisation_id, survey_id)
    low, high = values.instant("start", start), values.instant("end", end)
    analysed = session.scalar(
        select(func.count()).where(
            AnalysedComment.survey_id == survey_id,
            AnalysedComment.submitted_at >= low,
            AnalysedComment.submitted_at < high,
        )
    )
    waiting = session.scalar(
        select(func.count())
        .select_from(Response)
        .outerjoin(AnalysedComment, AnalysedComment.response_id == Response.id)
        .where(
            Response.survey_id == survey_id,
            Response.submitted_at >= low,
            Response.submitted_at < high,
            Response.comment.is_not(None),
            AnalysedComment.response_id.is_(None),
        )
    )
    return PeriodCounts(int(analysed or 0), int(waiting or 0))
