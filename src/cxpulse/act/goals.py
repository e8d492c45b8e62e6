"""Goals: where a score stands between its baseline and its target, and whether the current
trend reaches the target by the due date.

The maths is pure (``progress``, ``linear_trend``, ``forecast``, ``assess``); the store
functions below it read and write ``models.Goal`` rows of one organisation and compute each
goal's numbers from the store with one grouped query (``store.metrics_query.histograms``).

Definitions (docs/report.md repeats them):

- *current value*: the score over the last ``CURRENT_WINDOW_DAYS`` days up to today;
- *progress*: ``(current - baseline) / (target - baseline) * 100``; 0% at the baseline, 100%
  at the target, negative when the score moved away from it, above 100% past it. It works for
  goals that go down (a DSAT or a CES effort target) as well as up;
- *forecast*: a straight line fitted to the weekly values of the last ``TREND_WEEKS`` weeks,
  each weighted by its number of answers (weighted least squares, as a week of 400 answers
  says more than a week of 4), read at the due date, with a t interval for the line's value
  there when at least three weeks have answers;
- *status*: ``on track`` when the forecast reaches the target; ``at risk`` when it does not
  but the interval does; ``off track`` when even the interval's better end misses it;
  ``met``/``missed`` once the due date has passed (judged on the current value);
  ``not enough data`` with fewer than two weeks of answers.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, Metric, MetricResult, MetricSpec, score
from cxpulse.metrics.intervals import t_quantile
from cxpulse.metrics.scores import DEFAULT_LEVEL
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.metrics_query import COLUMN_DIMENSIONS, histograms, parse_dimension
from cxpulse.store.models import Goal, Survey
from cxpulse.store.surveys import get_survey

Status = Literal["on track", "at risk", "off track", "met", "missed", "not enough data"]

CURRENT_WINDOW_DAYS = 30
TREND_WEEKS = 13
MAX_NAME_LENGTH = 200
MAX_SEGMENT_VALUE_LENGTH = 200
MAX_MONTHS = 24


# --- pure maths --------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendValue:
    """A period's score at the day it stands for (mid-period), with its number of answers."""

    day: date
    value: float
    n: int


@dataclass(frozen=True)
class LinearTrend:
    """``value = intercept + slope * (day - origin).days``, fitted with weights n."""

    origin: date
    intercept: float
    slope_per_day: float
    residual_variance: float | None
    """Per unit of weight; None with fewer than three points (no degrees of freedom)."""
    total_weight: float
    mean_x: float
    sxx: float
    points: int

    def value_at(self, day: date) -> float:
        return self.intercept + self.slope_per_day * (day - self.origin).days

    def interval_at(self, day: date, level: float = DEFAULT_LEVEL) -> tuple[float, float] | None:
        """Confidence interval of the fitted line's value on ``day`` (not of one week's)."""
        if self.residual_variance is None:
            return None
        x = (day - self.origin).days
        se = math.sqrt(
            self.residual_variance * (1 / self.total_weight + (x - self.mean_x) ** 2 / self.sxx)
        )
        half = t_quantile(level, self.points - 2) * se
        centre = self.value_at(day)
        return centre - half, centre + half


@dataclass(frozen=True)
class Forecast:
    status: Status
    due_date: date
    value: float | None
    """The trend's value at the due date (clipped to the metric's range), if there is one."""
    ci_low: float | None
    ci_high: float | None
    slope_per_month: float | None
    """Change per 30 days at the current trend."""
    weeks: int
    """Weeks with answers the trend was fitted on."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "due_date": self.due_date.isoformat(),
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "slope_per_month": self.slope_per_month,
            "weeks": self.weeks,
        }


def progress(baseline: float, target: float, current: float) -> float:
    """How far ``current`` has come from ``baseline`` towards ``target``, in percent.

    >>> progress(40, 50, 45)
    50.0
    >>> progress(20, 10, 16)   # a goal to bring DSAT down from 20% to 10%
    40.0
    """
    if target == baseline:
        raise ValueError("a goal's target must differ from its baseline")
    return (current - baseline) / (target - baseline) * 100.0


def linear_trend(points: Sequence[TrendValue]) -> LinearTrend | None:
    """Weighted least-squares line through the points (weights n); None when it has no slope
    to fit: fewer than two distinct days with answers."""
    used = [p for p in points if p.n > 0 and math.isfinite(p.value)]
    if len({p.day for p in used}) < 2:
        return None
    origin = min(p.day for p in used)
    xs = [float((p.day - origin).days) for p in used]
    weights = [float(p.n) for p in used]
    total = sum(weights)
    mean_x = sum(w * x for w, x in zip(weights, xs, strict=True)) / total
    mean_y = sum(w * p.value for w, p in zip(weights, used, strict=True)) / total
    sxx = sum(w * (x - mean_x) ** 2 for w, x in zip(weights, xs, strict=True))
    sxy = sum(
        w * (x - mean_x) * (p.value - mean_y) for w, x, p in zip(weights, xs, used, strict=True)
    )
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual_variance = None
    if len(used) >= 3:
        residuals = sum(
            w * (p.value - intercept - slope * x) ** 2
            for w, x, p in zip(weights, xs, used, strict=True)
        )
        residual_variance = residuals / (len(used) - 2)
    return LinearTrend(
        origin=origin,
        intercept=intercept,
        slope_per_day=slope,
        residual_variance=residual_variance,
        total_weight=total,
        mean_x=mean_x,
        sxx=sxx,
        points=len(used),
    )


def _reaches(value: float, baseline: float, target: float) -> bool:
    return value >= target if target > baseline else value <= target


def _clip(value: float, bounds: tuple[float, float] | None) -> float:
    if bounds is None:
        return value
    return min(max(value, bounds[0]), bounds[1])


def forecast(
    points: Sequence[TrendValue],
    *,
    baseline: float,
    target: float,
    due_date: date,
    level: float = DEFAULT_LEVEL,
    bounds: tuple[float, float] | None = None,
) -> Forecast:
    """Whether the trend of ``points`` reaches ``target`` by ``due_date`` (see module doc)."""
    trend = linear_trend(points)
    weeks = sum(1 for p in points if p.n > 0)
    if trend is None:
        return Forecast("not enough data", due_date, None, None, None, None, weeks)
    value = _clip(trend.value_at(due_date), bounds)
    interval = trend.interval_at(due_date, level)
    low = high = None
    if interval is not None:
        low, high = _clip(interval[0], bounds), _clip(interval[1], bounds)
    if _reaches(value, baseline, target):
        status: Status = "on track"
    elif interval is not None and any(
        _reaches(end, baseline, target) for end in (low, high) if end is not None
    ):
        status = "at risk"
    else:
        status = "off track"
    return Forecast(status, due_date, value, low, high, trend.slope_per_day * 30, weeks)


@dataclass(frozen=True)
class Assessment:
    current: float | None
    current_n: int
    progress: float | None
    forecast: Forecast


def assess(
    *,
    baseline: float,
    target: float,
    due_date: date,
    today: date,
    current: MetricResult,
    points: Sequence[TrendValue],
    level: float = DEFAULT_LEVEL,
    bounds: tuple[float, float] | None = None,
) -> Assessment:
    """Progress and forecast of one goal, or its verdict once the due date has passed."""
    value = current.value if current.n > 0 and math.isfinite(current.value) else None
    done = None if value is None else progress(baseline, target, value)
    if due_date <= today:
        if value is None:
            status: Status = "not enough data"
        else:
            status = "met" if _reaches(value, baseline, target) else "missed"
        verdict = Forecast(status, due_date, value, None, None, None, 0)
        return Assessment(value, current.n, done, verdict)
    ahead = forecast(
        points, baseline=baseline, target=target, due_date=due_date, level=level, bounds=bounds
    )
    return Assessment(value, current.n, done, ahead)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


GOAL_METRICS: dict[Metric, tuple[Metric, ...]] = {
    Metric.CSAT: (Metric.CSAT, Metric.DSAT, Metric.MEAN),
    Metric.DSAT: (Metric.DSAT, Metric.CSAT, Metric.MEAN),
    Metric.NPS: (Metric.NPS, Metric.MEAN),
    Metric.CES: (Metric.CES,),
    Metric.MEAN: (Metric.MEAN,),
}
"""What a goal may aim at on a survey of each metric: its own score, and the others the same
answers give (a CSAT survey's DSAT, say). CES is already a mean."""


def goal_metric(goal: Goal, survey: Survey) -> Metric:
    """The metric a goal aims at: its own, else the survey's."""
    return Metric(goal.metric or survey.metric)


def check_goal_metric(metric: str | None, survey: Survey) -> str | None:
    """None (the survey's metric) or one of ``GOAL_METRICS`` for the survey's metric."""
    if metric is None:
        return None
    allowed = GOAL_METRICS[Metric(survey.metric)]
    if metric not in {m.value for m in allowed}:
        names = ", ".join(m.value for m in allowed)
        raise Invalid("metric", f"must be one of {names} on a {survey.metric} survey")
    return None if metric == survey.metric else metric


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


# --- the store ---------------------------------------------------------------------------


def today_utc() -> date:
    return datetime.now(UTC).date()


def _segment_filters(segment: Mapping[str, str]) -> dict[str, Any]:
    """histograms() keyword arguments for a goal's segment."""
    filters: dict[str, Any] = {}
    properties: dict[str, str] = {}
    contacts: dict[str, str] = {}
    for name, value in segment.items():
        dimension = parse_dimension(name)
        if dimension.kind == "column":
            filters[dimension.key] = value
        elif dimension.kind == "property":
            properties[dimension.key] = value
        else:
            contacts[dimension.key] = value
    if properties:
        filters["properties"] = properties
    if contacts:
        filters["contact_attributes"] = contacts
    return filters


def check_segment(segment: Mapping[str, Any] | None) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name, value in (segment or {}).items():
        try:
            parse_dimension(str(name))
        except Invalid:
            raise Invalid(
                "segment",
                f"cannot filter by {name!r}; use {', '.join(COLUMN_DIMENSIONS)}, "
                "property:<name> or contact:<name>",
            ) from None
        if not isinstance(value, str) or not value.strip():
            raise Invalid("segment", f"the value of {name!r} must be non-blank text")
        if len(value) > MAX_SEGMENT_VALUE_LENGTH:
            raise Invalid(
                "segment", f"the value of {name!r} is longer than {MAX_SEGMENT_VALUE_LENGTH}"
            )
        cleaned[str(name)] = value
    return cleaned


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
    found = histograms(
        session,
        organisation_id,
        survey.id,
        start=today - timedelta(days=CURRENT_WINDOW_DAYS - 1),
        end=today + timedelta(days=1),
        **_segment_filters(segment),
    )
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
    found = histograms(
        session,
        organisation_id,
        survey.id,
        start=this_monday - timedelta(weeks=weeks - 1),
        end=today + timedelta(days=1),
        period="week",
        **_segment_filters(segment),
    )
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
        points=weekly_values(session, organisation_id, survey, segment, today, metric=metric),
        bounds=metric_bounds(survey, metric),
    )
    return GoalReport(goal, metric.value, assessment)


def _name(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise Invalid("name", "must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("name", f"must be at most {MAX_NAME_LENGTH} characters")
    return name


def _in_range(field: str, value: float, bounds: tuple[float, float]) -> float:
    if not math.isfinite(value):
        raise Invalid(field, "must be a finite number")
    if not bounds[0] <= value <= bounds[1]:
        raise Invalid(field, f"must lie between {bounds[0]:g} and {bounds[1]:g} for this metric")
    return float(value)


def _check_goal(goal: Goal, survey: Survey, today: date, *, new: bool) -> None:
    bounds = metric_bounds(survey, goal_metric(goal, survey))
    _in_range("target", goal.target, bounds)
    _in_range("baseline", goal.baseline, bounds)
    if goal.target == goal.baseline:
        raise Invalid("target", "must differ from the baseline")
    if goal.baseline_date > today:
        raise Invalid("baseline_date", "must not be in the future")
    if goal.due_date <= goal.baseline_date:
        raise Invalid("due_date", "must come after the baseline date")
    if new and goal.due_date <= today:
        raise Invalid("due_date", "must be in the future")


def create_goal(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    name: str,
    target: float,
    months: int | None = None,
    due_date: date | None = None,
    baseline: float | None = None,
    baseline_date: date | None = None,
    segment: Mapping[str, Any] | None = None,
    metric: str | None = None,
    today: date | None = None,
) -> Goal:
    """Add a goal on the survey's metric, or on ``metric`` (see ``GOAL_METRICS``). With
    ``months`` (3 or 6 are usual) the due date is that many months from today; without an
    explicit baseline, today's value (the last 30 days) becomes it."""
    today = today or today_utc()
    survey = get_survey(session, organisation_id, survey_id)
    cleaned_segment = check_segment(segment)
    own_metric = check_goal_metric(metric, survey)
    aimed_at = Metric(own_metric or survey.metric)
    if months is not None:
        if due_date is not None:
            raise Invalid("months", "give either months or due_date, not both")
        if not 1 <= months <= MAX_MONTHS:
            raise Invalid("months", f"must be between 1 and {MAX_MONTHS}")
        due_date = add_months(today, months)
    if due_date is None:
        raise Invalid("due_date", "give a due date or a number of months")
    if baseline is None:
        if baseline_date is not None and baseline_date != today:
            raise Invalid("baseline", "give the baseline value for a past baseline date")
        current = current_result(
            session, organisation_id, survey, cleaned_segment, today, metric=aimed_at
        )
        if current.n == 0 or not math.isfinite(current.value):
            raise Invalid(
                "baseline",
                f"no answers in the last {CURRENT_WINDOW_DAYS} days to take today's value "
                "from; give a baseline",
            )
        baseline = current.value
        baseline_date = today
    goal = Goal(
        organisation_id=organisation_id,
        survey_id=survey.id,
        name=_name(name),
        metric=own_metric,
        segment=cleaned_segment,
        baseline=float(baseline),
        baseline_date=baseline_date or today,
        target=float(target),
        due_date=due_date,
    )
    _check_goal(goal, survey, today, new=True)
    session.add(goal)
    session.flush()
    return goal


def get_goal(session: Session, organisation_id: int, survey_id: int, goal_id: int) -> Goal:
    goal = session.scalar(
        select(Goal).where(
            Goal.organisation_id == organisation_id,
            Goal.survey_id == survey_id,
            Goal.id == goal_id,
        )
    )
    if goal is None:
        raise NotFound("goal", goal_id)
    return goal


def list_goals(session: Session, organisation_id: int, survey_id: int) -> list[Goal]:
    get_survey(session, organisation_id, survey_id)
    return list(
        session.scalars(
            select(Goal)
            .where(Goal.organisation_id == organisation_id, Goal.survey_id == survey_id)
            .order_by(Goal.due_date, Goal.id)
        )
    )


UPDATABLE = frozenset(
    {"name", "target", "due_date", "baseline", "baseline_date", "segment", "metric"}
)


def update_goal(
    session: Session,
    organisation_id: int,
    survey_id: int,
    goal_id: int,
    *,
    today: date | None = None,
    **changes: Any,
) -> Goal:
    """Change the given fields of a goal (see ``UPDATABLE``); all checks run again."""
    today = today or today_utc()
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise Invalid(sorted(unknown)[0], "cannot be changed")
    goal = get_goal(session, organisation_id, survey_id, goal_id)
    survey = get_survey(session, organisation_id, survey_id)
    if "metric" in changes and changes["metric"] is not None:
        moved = check_goal_metric(str(changes["metric"]), survey) != goal.metric
        if moved and not {"target", "baseline"} <= set(changes):
            # A CSAT baseline of 80 is no DSAT baseline: the numbers must come with it.
            raise Invalid("metric", "give the target and the baseline on the new metric too")
    for field, value in changes.items():
        if value is None:
            raise Invalid(field, "must not be null")
        if field == "metric":
            value = check_goal_metric(str(value), survey)
        elif field == "name":
            value = _name(value)
        elif field == "segment":
            value = check_segment(value)
        elif field in ("target", "baseline"):
            value = float(value)
        setattr(goal, field, value)
    _check_goal(goal, survey, today, new=False)
    session.flush()
    return goal


def check_survey_metric_change(
    session: Session, organisation_id: int, survey_id: int, metric: str | None
) -> None:
    """Refuse to change the metric of a survey that has goals: their baselines and targets
    are numbers on the old metric (a CSAT of 80% is no NPS of 80)."""
    survey = get_survey(session, organisation_id, survey_id)
    if metric is None or metric == survey.metric:
        return
    count = len(list_goals(session, organisation_id, survey_id))
    if count:
        raise Conflict(
            "metric",
            f"the survey has {count} goal(s) set on {survey.metric}: remove them first",
        )


def delete_goal(session: Session, organisation_id: int, survey_id: int, goal_id: int) -> None:
    session.delete(get_goal(session, organisation_id, survey_id, goal_id))
    session.flush()
