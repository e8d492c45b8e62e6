"""Where a goal's score is heading: progress from baseline to target, a weighted straight
line through its weekly values, and the status that line gives at the due date. Pure maths,
no store: ``act/goal_progress.py`` feeds it.

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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from cxpulse.metrics import MetricResult
from cxpulse.metrics.intervals import t_quantile
from cxpulse.metrics.scores import DEFAULT_LEVEL

Status = Literal["on track", "at risk", "off track", "met", "missed", "not enough data"]


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
