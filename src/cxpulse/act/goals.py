"""Goals: setting, changing and removing a survey's goals, with the checks of their values.

A goal aims a score (the survey's metric, or another one its answers give: see
``GOAL_METRICS``) of the whole survey or of a segment at a target by a due date, starting
from a baseline. Where it stands (current value, progress, forecast) is computed by
``act/goal_progress.py`` with the maths of ``act/goal_forecast.py``; the rows are read and
written by ``store/goals.py``.

``GoalReport`` and ``goal_report`` (from ``act/goal_progress.py``) and ``get_goal`` and
``list_goals`` (from ``store/goals.py``) are imported here too, so that the API, the pages
and the monthly report reach every goal operation through this one module.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.act.goal_progress import (
    CURRENT_WINDOW_DAYS,
    GoalReport,
    current_result,
    goal_metric,
    goal_report,
    metric_bounds,
    today_utc,
)
from cxpulse.metrics import Metric
from cxpulse.store import goals as goal_rows
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.filters import COLUMN_DIMENSIONS, parse_dimension
from cxpulse.store.goals import delete_goal, get_goal, list_goals
from cxpulse.store.models import Goal, Survey
from cxpulse.store.surveys import get_survey

__all__ = [
    "GOAL_METRICS",
    "MAX_MONTHS",
    "GoalReport",
    "add_months",
    "check_goal_metric",
    "check_segment",
    "check_survey_metric_change",
    "create_goal",
    "delete_goal",
    "get_goal",
    "goal_report",
    "list_goals",
    "update_goal",
]

MAX_NAME_LENGTH = 200
MAX_SEGMENT_VALUE_LENGTH = 200
MAX_MONTHS = 24


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


def check_goal_metric(metric: str | None, survey: Survey) -> str | None:
    """None (the survey's metric) or one of ``GOAL_METRICS`` for the survey's metric."""
    if metric is None:
        return None
    allowed = GOAL_METRICS[Metric(survey.metric)]
    if metric not in {m.value for m in allowed}:
        names = ", ".join(m.value for m in allowed)
        raise Invalid("metric", f"must be one of {names} on a {survey.metric} survey")
    return None if metric == survey.metric else metric


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
    return goal_rows.add_goal(session, goal)


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
    count = goal_rows.count_goals(session, organisation_id, survey_id)
    if count:
        raise Conflict(
            "metric",
            f"the survey has {count} goal(s) set on {survey.metric}: remove them first",
        )
