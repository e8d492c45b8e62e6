"""The counts of the overview, for every survey of an organisation at once.

The overview shows one card per survey; asking ``metrics_query`` survey by survey costs a
few queries per card (and a survey lookup per query), which with 20 surveys is most of the
page. These read the daily rollups grouped by survey in one statement each: the histograms
of two adjacent periods (a headline's current and previous ones), the histograms by month,
and the responses with a comment in a period (the rollups do not know comments, so that one
reads the responses through the (survey, submitted_at) index).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram
from cxpulse.store.models import DailyRollup, Response
from cxpulse.store.sql import period_label

Row4 = Select[Any, Any, Any, Any]
"""(survey id, label, score, count): every statement here has these four columns."""


def _scoped(organisation_id: int, survey_ids: Sequence[int]) -> list[Any]:
    return [
        # "+ 0", as in metrics_query: the survey's range of the primary key, not the
        # organisation index, while the organisation still scopes the rows.
        DailyRollup.organisation_id + 0 == organisation_id,
        DailyRollup.survey_id.in_(list(survey_ids)),
    ]


def _collect(query: Row4, session: Session) -> dict[tuple[int, str], Histogram]:
    counts: dict[tuple[int, str], dict[float, int]] = {}
    for survey_id, label, score, count in session.execute(query):
        bucket = counts.setdefault((int(survey_id), str(label)), {})
        bucket[float(score)] = bucket.get(float(score), 0) + int(count)
    return {key: Histogram(bucket) for key, bucket in counts.items()}


def _grouped(inner: Row4) -> Row4:
    """Group the inner query's labelled columns, not their expressions: PostgreSQL does not
    see that two copies of an expression with bound parameters are the same."""
    sub = inner.subquery()
    return select(sub.c.survey_id, sub.c.label, sub.c.score, func.sum(sub.c.weight)).group_by(
        sub.c.survey_id, sub.c.label, sub.c.score
    )


def two_periods(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    previous_start: date,
    current_start: date,
    end: date,
) -> dict[int, tuple[Histogram, Histogram]]:
    """Per survey, (previous, current) histograms of the days ``[previous_start,
    current_start)`` and ``[current_start, end)``; surveys without answers get empty ones."""
    found: dict[int, tuple[Histogram, Histogram]] = {
        survey_id: (Histogram(), Histogram()) for survey_id in survey_ids
    }
    if not survey_ids:
        return found
    label = case((DailyRollup.day >= current_start, "current"), else_="previous")
    inner = select(
        DailyRollup.survey_id.label("survey_id"),
        label.label("label"),
        DailyRollup.score.label("score"),
        DailyRollup.count.label("weight"),
    ).where(
        *_scoped(organisation_id, survey_ids),
        DailyRollup.day >= previous_start,
        DailyRollup.day < end,
    )
    histograms = _collect(_grouped(inner), session)
    for survey_id in survey_ids:
        found[survey_id] = (
            histograms.get((survey_id, "previous"), Histogram()),
            histograms.get((survey_id, "current"), Histogram()),
        )
    return found


def by_month(
    session: Session, organisation_id: int, survey_ids: Sequence[int], start: date, end: date
) -> dict[int, dict[str, Histogram]]:
    """Per survey, its histogram per month (``YYYY-MM``) of the days ``[start, end)``."""
    found: dict[int, dict[str, Histogram]] = {survey_id: {} for survey_id in survey_ids}
    if not survey_ids:
        return found
    dialect = session.get_bind().dialect.name
    inner = select(
        DailyRollup.survey_id.label("survey_id"),
        period_label(DailyRollup.day, "month", dialect, is_date=True).label("label"),
        DailyRollup.score.label("score"),
        DailyRollup.count.label("weight"),
    ).where(
        *_scoped(organisation_id, survey_ids),
        DailyRollup.day >= start,
        DailyRollup.day < end,
    )
    for (survey_id, month), histogram in _collect(_grouped(inner), session).items():
        found[survey_id][month] = histogram
    return found


def commented(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    start: date,
    end: date,
    cap: int,
) -> dict[int, int]:
    """Per survey, its responses with a comment submitted in the days ``[start, end)``,
    counted up to ``cap + 1``: a count above ``cap`` says "more than ``cap``".

    The rollups do not know comments, so each answer of the period is read until ``cap + 1``
    comments are found: a busy survey's month holds hundreds of thousands of answers, and
    an exact count of them would cost the page a second."""
    found = dict.fromkeys(survey_ids, 0)
    if not survey_ids:
        return found
    rows = (
        select(Response.id)
        .where(
            Response.organisation_id == organisation_id,
            Response.survey_id == bindparam("survey_id"),
            Response.submitted_at >= datetime.combine(start, time(), UTC),
            Response.submitted_at < datetime.combine(end, time(), UTC),
            Response.comment.is_not(None),
        )
        .limit(cap + 1)
        .subquery()
    )
    # One statement, compiled once and run per survey: the LIMIT applies to each survey.
    statement = select(func.count()).select_from(rows)
    for survey_id in survey_ids:
        found[survey_id] = int(session.scalar(statement, {"survey_id": survey_id}) or 0)
    return found
