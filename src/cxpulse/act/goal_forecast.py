"""Where a goal's score is heading: progress from baseline to target, a weighted straight
line through its weekly values, and the status that line gives at the due date. Pure maths,
no store: ``act/goal_progress.py`` feeds it.

Definitions (the goals section of the survey page repeats them in words):

- *current value*: the score over the last ``CURRENT_WINDOW_DAYS`` days up to today;
- *progress*: ``(current - baseline) / (target - baseline) * 100``; 0% at the baseline, 100%
  at the target, negative when the score moved away from it, above 100% past it. It works for
  goals that go down (a DSAT or a CES effort target) as well as up. Pages show it as a bar
  clamped to 0..100 with the number, rounded to a whole percent, beside it
  (``Assessment.progress_text``), and say in words when it is negative;
- *forecast*: a straight line fitted to the weekly values, each weighted by its number of
  answers (weighted least squares, as a week of 400 answers says more than a week of 4), read
  at the due date, with a t interval for the line's value there. **A line is read no further
  ahead than the history behind it**: from the middle of the first week it was fitted on to
  today must be at least as long as from today to the due date (13 weeks of answers forecast
  at most 13 weeks ahead). A goal due further away than that, or with fewer than
  ``MIN_WEEKS`` weeks of answers, gets no forecast but its reason in words
  (``Forecast.reason``): a straight line carried beyond its own length says more about the
  line than about the score;
- *status*: ``on track`` when the forecast reaches the target; ``at risk`` when it does not
  but the interval does; ``off track`` when even the interval's better end misses it;
  ``met``/``missed`` once the due date has passed (judged on the current value; pages say
  "reached" for ``met``); ``not enough data`` without a forecast.
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

STATUS_WORDS: dict[str, str] = {
    "on track": "on track",
    "at risk": "at risk",
    "off track": "off track",
    "met": "reached",
    "missed": "missed",
    "not enough data": "not enough data",
}
"""A status as pages say it (the API keeps ``met``)."""

MIN_WEEKS = 4
"""Weeks with answers a forecast needs: fewer leave the line's slope to a couple of weeks'
noise (and with two there is no interval at all)."""


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
    reason: str | None = None
    """Why there is no forecast, in words (None when there is one, or after the due date)."""

    @property
    def status_words(self) -> str:
        return STATUS_WORDS[self.status]

    @property
    def status_class(self) -> str:
        """``on-track``: the status as a CSS class name (``status-on-track``)."""
        return self.status_words.replace(" ", "-")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "due_date": self.due_date.isoformat(),
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "slope_per_month": self.slope_per_month,
            "weeks": self.weeks,
            "reason": self.reason,
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


def _months_text(days: int) -> str:
    months = round(days / 30.44)
    if months >= 1:
        return f"{months} month{'s' if months != 1 else ''}"
    weeks = max(1, round(days / 7))
    return f"{weeks} week{'s' if weeks != 1 else ''}"


def _weeks_text(weeks: int) -> str:
    return f"{weeks} week{'s' if weeks != 1 else ''}"


def history_needed(today: date, due_date: date) -> int:
    """Weeks of history a forecast from ``today`` to ``due_date`` needs (whole weeks, up)."""
    return max(MIN_WEEKS, math.ceil((due_date - today).days / 7))


def forecast(
    points: Sequence[TrendValue],
    *,
    baseline: float,
    target: float,
    due_date: date,
    level: float = DEFAULT_LEVEL,
    bounds: tuple[float, float] | None = None,
    today: date | None = None,
) -> Forecast:
    """Whether the trend of ``points`` reaches ``target`` by ``due_date`` (see module doc);
    ``today`` defaults to the day of the latest point."""
    used = [p for p in points if p.n > 0 and math.isfinite(p.value)]
    weeks = len(used)
    if today is None:
        today = max((p.day for p in used), default=due_date)
    ahead = (due_date - today).days
    needed = history_needed(today, due_date)
    due_in = _months_text(ahead)
    if weeks < MIN_WEEKS:
        reason = (
            f"not enough data to forecast: {_weeks_text(weeks)} with answers, "
            f"a forecast needs at least {MIN_WEEKS}"
        )
        return Forecast("not enough data", due_date, None, None, None, None, weeks, reason)
    history = (today - min(p.day for p in used)).days
    if ahead > history:
        # A line is read no further ahead than the history behind it (module doc).
        reason = (
            f"not enough history to forecast: due in {due_in}, which needs "
            f"{_weeks_text(needed)} of answers behind the trend; there are "
            f"{_weeks_text(max(1, round(history / 7)))}"
        )
        return Forecast("not enough data", due_date, None, None, None, None, weeks, reason)
    trend = linear_trend(used)
    if trend is None:  # pragma: no cover - MIN_WEEKS distinct weeks always give a line
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


def progress_text(value: float | None) -> str:
    """Progress as pages show it: a whole percent, never a signed zero.

    >>> progress_text(-0.04), progress_text(37.5), progress_text(-12.6), progress_text(None)
    ('0%', '38%', '−13%', '–')
    """
    if value is None or not math.isfinite(value):
        return "–"
    shown = round(value)
    if shown == 0:
        return "0%"
    return f"{shown}%" if shown > 0 else f"\N{MINUS SIGN}{-shown}%"


@dataclass(frozen=True)
class Assessment:
    current: float | None
    current_n: int
    progress: float | None
    forecast: Forecast

    @property
    def progress_bar(self) -> float:
        """Progress clamped to 0..100, for a bar (a bar cannot run backwards or past its end;
        the number beside it and ``progress_words`` say so)."""
        if self.progress is None or not math.isfinite(self.progress):
            return 0.0
        return min(max(self.progress, 0.0), 100.0)

    @property
    def progress_text(self) -> str:
        return progress_text(self.progress)

    @property
    def progress_words(self) -> str | None:
        """What a negative progress or one past 100% means, in words; None otherwise."""
        if self.progress is None or not math.isfinite(self.progress):
            return None
        if round(self.progress) < 0:
            return "moved away from the target: further from it than at the baseline"
        if self.progress >= 100:
            return "at or past the target"
        return None


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
        points,
        baseline=baseline,
        target=target,
        due_date=due_date,
        level=level,
        bounds=bounds,
        today=today,
    )
    return Assessment(value, current.n, done, ahead)
