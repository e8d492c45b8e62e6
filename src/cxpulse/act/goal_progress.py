"""Where a goal stands today, computed from the store: the score of its last
``CURRENT_WINDOW_DAYS`` days, the scores of its recent weeks, and with them its progress and
forecast (``act/goal_forecast.py``). Each number is one grouped query
(``store.metrics_query.histograms_of``) on the goal's segment.

The trend is fitted on the last ``TREND_WEEKS`` weeks, or on more when the due date is
further away (``trend_weeks``): a forecast reads the line no further ahead than the history
behind it, so a goal due in six months looks at the last six months, up to
``MAX_TREND_WEEKS``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.act.goal_forecast import Assessment, TrendValue, assess, history_needed
from cxpulse.metrics import Histogram, Metric, MetricResult, MetricSpec, score
from cxpulse.metrics.scores import DEFAULT_LEVEL
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.metrics_query import histograms_of
from cxpulse.store.models import Goal, Survey
from cxpulse.store.surveys import get_survey

CURRENT_WINDOW_DAYS = 30
TREND_WEEKS = 13
MAX_TREND_WEEKS = 106
"""Two years (the longest a goal may run) and the two part-weeks at its ends."""


def trend_weeks(today: date, due_date: date) -> int:
    """Weeks of history to fit a goal's trend on: ``TREND_WEEKS``, or enough for the due
    date (two more than it needs: the first week counts from its middle, the current one is
    partial), at most ``MAX_TREND_WEEKS``."""
    return min(MAX_TREND_WEEKS, max(TREND_WEEKS, history_needed(today, due_date) + 2))


def goal_metric(goal: Goal, survey: Survey) -> Metric:
    """The metric a goal aims at: its own, else the survey's."""
    return Metric(goal.metric or survey.metric)


def goal_spec(survey: Survey, metric: Metric, *, level: float = DEFAULT_LEVEL) -> MetricSpec:
    """The survey's scale and bands, scored as ``metric``."""
    return MetricSpec.default(
        metric,
        survey.scale,
        top_min=survey.top_min,
        bottom_max=survey.bottom_max,
        level=level,
    )


def metric_bounds(survey: Survey, metric: Metric | None = None) -> tuple[float, float]:
    """The range a survey's headline value (or its ``metric``) can take."""
    metric = Metric(survey.metric) if metric is None else metric
    if metric is Metric.NPS:
        return (-100.0, 100.0)
    if metric in (Metric.CSAT, Metric.DSAT):
        return (0.0, 100.0)
    return (float(survey.scale_low), float(survey.scale_high))


def week_middle(label: str, today: date) -> date:
    """The middle day of an ISO week label such as ``2026-W43`` (of its part up to today)."""
    year_text, _, week_text = label.partition("-W")
    monday = date.fromisocalendar(int(year_text), int(week_text), 1)
    last = min(monday + timedelta(days=6), today)
    return monday + (last - monday) / 2


def today_utc() -> date:
    return datetime.now(UTC).date()


def current_result(
    session: Session,
    organisation_id: int,
    survey: Survey,
    segment: Mapping[str, str],
    today: date,
    *,
    level: float = DEFAULT_LEVEL,
    metric: Metric | None = None,
) -> MetricResult:
    """The score (the survey's metric, or ``metric``) over the last CURRENT_WINDOW_DAYS days
    up to and including ``today``."""
    filters = ResponseFilters.of_segment(
        segment,
        survey_id=survey.id,
        start=today - timedelta(days=CURRENT_WINDOW_DAYS - 1),
        end=today + timedelta(days=1),
    )
    found = histograms_of(session, organisation_id, filters)
    total = Histogram()
    for histogram in found.values():
        total = total + histogram
    return score(total, goal_spec(survey, metric or Metric(survey.metric), level=level))


def weekly_values(
    session: Session,
    organisation_id: int,
    survey: Survey,
    segment: Mapping[str, str],
    today: date,
    *,
    weeks: int = TREND_WEEKS,
    metric: Metric | None = None,
) -> list[TrendValue]:
    """The score of each of the last ``weeks`` ISO weeks (this one included) with answers."""
    this_monday = today - timedelta(days=today.weekday())
    filters = ResponseFilters.of_segment(
        segment,
        survey_id=survey.id,
        start=this_monday - timedelta(weeks=weeks - 1),
        end=today + timedelta(days=1),
    )
    found = histograms_of(session, organisation_id, filters, period="week")
    spec = goal_spec(survey, metric or Metric(survey.metric))
    values = []
    for key, histogram in sorted(found.items(), key=lambda item: str(item[0][0])):
        if histogram.n == 0 or key[0] is None:
            continue
        result = score(histogram, spec)
        values.append(TrendValue(week_middle(str(key[0]), today), result.value, result.n))
    return values


@dataclass(frozen=True)
class GoalReport:
    goal: Goal
    metric: str
    assessment: Assessment


def goal_report(
    session: Session, organisation_id: int, goal: Goal, *, today: date | None = None
) -> GoalReport:
    """A goal with its current value, progress and forecast, computed from the store."""
    today = today or today_utc()
    survey = get_survey(session, organisation_id, goal.survey_id)
    segment = dict(goal.segment or {})
    metric = goal_metric(goal, survey)
    assessment = assess(
        baseline=goal.baseline,
        target=goal.target,
        due_date=goal.due_date,
        today=today,
        current=current_result(session, organisation_id, survey, segment, today, metric=metric),
        points=weekly_values(
            session,
            organisation_id,
            survey,
            segment,
            today,
            weeks=trend_weeks(today, goal.due_date),
            metric=metric,
        ),
        bounds=metric_bounds(survey, metric),
    )
    return GoalReport(goal, metric.value, assessment)
