"""Anomaly detection: a score that dropped in a segment, a theme whose share of comments rose.

Pure maths on histograms and counts per day; the store feeds it (``act.alert_runner``) and
so does a file (``cxpulse alerts``). The method, in the order it is applied:

- **Windows.** A segment is examined on a day with answers that day (on another, it would
  be the same window judged again). The *recent window* ends on the day examined and is
  that day alone, widened back one day at a time (to at most ``max_recent_days``) until it
  holds ``min_recent_n`` answers; the *baseline* is the ``baseline_days`` days just before
  it. The widening looks at the number of answers only, never at the scores, so it does not
  bias the test.
- **Minimum sample size.** A segment is tested only when the recent window holds at least
  ``min_recent_n`` answers and the baseline ``min_baseline_n``; other segments are neither
  tested nor counted in the correction below.
- **The test.** The change (recent minus baseline) of the metric is compared with
  ``metrics.compare`` (Newcombe's interval for CSAT/DSAT, the adjusted-Wald or MOVER
  difference for NPS, Welch for CES and means): the same intervals as everywhere else in
  cxpulse. It is one-sided, towards the worse side (lower, or higher for DSAT): the interval
  shown is the two-sided one at level ``1 - 2 * alpha_test``, whose bound on the better side
  is the one-sided test's bound; an alert is raised exactly when that interval lies wholly on
  the worse side of 0 (and the drop is at least ``min_drop`` points, when asked).
- **Multiplicity.** ``alpha_test = family_alpha / (segments tested that day × looks_per_day)``:
  Bonferroni over the segments watched and over the looks at a day that is still filling
  (an hourly scan looks 24 times at the same day), so the chance of any false alarm on a
  stable day is at most ``family_alpha``. Holm's step-down would reject a little more, but
  its adjusted levels differ by segment and the interval shown would no longer be the one
  the decision was made on; Bonferroni's simultaneous intervals are.

A theme spike is the same machinery on the share of analysed comments mentioning a theme
(Newcombe's interval for the rise), corrected over the themes tested. ``group_incidents``
turns a run of daily detections into the one alert a person reads.

One module over 400 lines: drops, spikes and incidents share the windows, the correction
and the one-line explanations, and docs/alerts.md describes them as one method.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cxpulse.metrics.compare import (
    Comparison,
    compare,
    excludes_zero,
    newcombe_difference,
)
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Metric
from cxpulse.metrics.scores import MetricSpec, format_value

__all__ = [
    "DayScan",
    "DetectorSettings",
    "Incident",
    "ScoreDrop",
    "ThemeSpike",
    "detect_drops",
    "detect_spikes",
    "fisher_one_sided",
    "group_incidents",
    "level_text",
    "scan_drops",
    "worse_is_higher",
]


@dataclass(frozen=True)
class DetectorSettings:
    """How the detector looks; the defaults are those the app uses, documented in
    docs/alerts.md."""

    baseline_days: int = 28
    max_recent_days: int = 7
    min_recent_n: int = 30
    min_baseline_n: int = 100
    family_alpha: float = 0.05
    """Chance of at least one false alarm among the segments tested on a stable day."""
    looks_per_day: int = 1
    """How many times the same day is examined while it fills (24 for an hourly scan)."""
    min_drop: float = 0.0
    """Smallest drop in points (or scale units for means) worth an alert, beyond chance."""

    def __post_init__(self) -> None:
        if self.baseline_days < 1 or self.max_recent_days < 1 or self.looks_per_day < 1:
            raise ValueError("baseline_days, max_recent_days and looks_per_day must be >= 1")
        if self.min_recent_n < 2 or self.min_baseline_n < 2:
            raise ValueError("the minimum numbers of answers must be at least 2")
        if not 0 < self.family_alpha < 0.5:
            raise ValueError(f"family_alpha must lie between 0 and 0.5, got {self.family_alpha}")
        if self.min_drop < 0:
            raise ValueError("min_drop is a size: 0 or more")

    def alpha_per_test(self, tested: int) -> float:
        return self.family_alpha / (max(1, tested) * self.looks_per_day)


def level_text(level: float) -> str:
    """A corrected level as a percentage with the digits that tell it from its neighbours:
    0.998958 -> ``99.896``."""
    return f"{level * 100:.5g}"


def worse_is_higher(metric: Metric) -> bool:
    """DSAT counts the dissatisfied: there a rise is the bad news."""
    return metric is Metric.DSAT


@dataclass(frozen=True)
class Windows:
    recent_start: date
    recent_end: date
    """Inclusive."""
    baseline_start: date
    baseline_end: date
    """Inclusive."""
    recent: Histogram
    baseline: Histogram


def _sum(days: Mapping[date, Histogram], start: date, end: date) -> Histogram:
    counts: dict[float, int] = {}
    day = start
    while day <= end:
        found = days.get(day)
        if found is not None:
            for value, count in found:
                counts[value] = counts.get(value, 0) + count
        day += timedelta(days=1)
    return Histogram(counts)


def windows(days: Mapping[date, Histogram], day: date, settings: DetectorSettings) -> Windows:
    """The recent window ending on ``day`` (widened for ``min_recent_n``) and its baseline."""
    counts: dict[float, int] = {}
    start = day
    for back in range(settings.max_recent_days):
        start = day - timedelta(days=back)
        found = days.get(start)
        if found is not None:
            for value, count in found:
                counts[value] = counts.get(value, 0) + count
        if sum(counts.values()) >= settings.min_recent_n:
            break
    baseline_end = start - timedelta(days=1)
    baseline_start = start - timedelta(days=settings.baseline_days)
    return Windows(
        start,
        day,
        baseline_start,
        baseline_end,
        Histogram(counts),
        _sum(days, baseline_start, baseline_end),
    )


@dataclass(frozen=True)
class ScoreDrop:
    """A segment whose score got worse on ``day``, beyond chance."""

    segment: str
    day: date
    metric: Metric
    change: float
    """Recent minus baseline, in points (scale units for CES and means)."""
    ci_low: float
    ci_high: float
    level: float
    """The (simultaneous) level of the interval: 1 - 2 * alpha per test."""
    p_value: float
    """One-sided, before the correction."""
    adjusted_p: float
    """``p_value`` times the tests of the day and the looks at it (at most 1)."""
    before: float
    after: float
    n_before: int
    n_after: int
    recent_start: date
    baseline_start: date
    baseline_end: date
    tested: int
    method: str

    @property
    def unit(self) -> str:
        return "" if self.metric in (Metric.CES, Metric.MEAN) else " points"

    def explanation(self) -> str:
        """One line with the numbers."""
        name = self.metric.value.upper()
        recent = (
            self.day.isoformat()
            if self.recent_start == self.day
            else f"{self.recent_start.isoformat()} to {self.day.isoformat()}"
        )
        return (
            f"{name} in {self.segment} went from {format_value(self.before)} "
            f"(n={self.n_before}, {self.baseline_start.isoformat()} to "
            f"{self.baseline_end.isoformat()}) to {format_value(self.after)} "
            f"(n={self.n_after}, {recent}): {format_value(self.change)}{self.unit}, "
            f"{level_text(self.level)}% interval {format_value(self.ci_low)} to "
            f"{format_value(self.ci_high)}; one-sided p={self.p_value:.2g}, "
            f"{self.tested} segment(s) tested (Bonferroni-adjusted p={self.adjusted_p:.2g})."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "score-drop",
            "segment": self.segment,
            "day": self.day.isoformat(),
            "metric": self.metric.value,
            "change": self.change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "p_value": self.p_value,
            "adjusted_p": self.adjusted_p,
            "before": self.before,
            "after": self.after,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "recent_start": self.recent_start.isoformat(),
            "baseline_start": self.baseline_start.isoformat(),
            "baseline_end": self.baseline_end.isoformat(),
            "segments_tested": self.tested,
            "method": self.method,
            "explanation": self.explanation(),
        }


@dataclass(frozen=True)
class DayScan:
    """What one day's examination found."""

    day: date
    tested: int
    too_small: tuple[str, ...] = ()
    drops: tuple[ScoreDrop, ...] = field(default_factory=tuple)


def _one_sided_p(comparison: Comparison, worse_high: bool) -> float:
    two_sided = comparison.p_value
    if math.isnan(two_sided):
        return math.nan
    worse = comparison.difference > 0 if worse_high else comparison.difference < 0
    return two_sided / 2 if worse else 1 - two_sided / 2


def _counted(h: Histogram, spec: MetricSpec) -> int:
    if spec.metric is Metric.DSAT:
        return h.count_at_most(spec.thresholds.bottom_max)
    return h.count_at_least(spec.thresholds.top_min)


def fisher_one_sided(k_a: int, n_a: int, k_b: int, n_b: int, *, higher: bool) -> float:
    """Fisher's exact one-sided p-value that group B's share (``k_b`` of ``n_b``) is lower
    (``higher``: higher) than group A's (``k_a`` of ``n_a``): the hypergeometric tail of
    B's count given both margins. Conditional, so its level holds for every true share."""
    from scipy.stats import hypergeom

    total, successes = n_a + n_b, k_a + k_b
    if higher:
        return float(min(1.0, hypergeom.sf(k_b - 1, total, successes, n_b)))
    return float(min(1.0, hypergeom.cdf(k_b, total, successes, n_b)))


def detect_drops(
    series: Mapping[str, Mapping[date, Histogram]],
    day: date,
    spec: MetricSpec,
    settings: DetectorSettings | None = None,
) -> DayScan:
    """Examine ``day`` in every segment of ``series`` (segment -> day -> histogram)."""
    settings = settings or DetectorSettings()
    worse_high = worse_is_higher(spec.metric)
    eligible: list[tuple[str, Windows]] = []
    small: list[str] = []
    for segment, days in series.items():
        if day not in days or days[day].n == 0:
            # Nothing new that day: the same window would be judged again, stale.
            continue
        found = windows(days, day, settings)
        if found.recent.n >= settings.min_recent_n and found.baseline.n >= settings.min_baseline_n:
            eligible.append((segment, found))
        else:
            small.append(segment)
    tested = len(eligible)
    alpha = settings.alpha_per_test(tested)
    test_spec = MetricSpec(
        spec.metric, spec.scale, spec.thresholds, 1 - 2 * alpha, spec.min_n, spec.nps_method
    )
    drops: list[ScoreDrop] = []
    for segment, found in eligible:
        result = compare(found.baseline, found.recent, test_spec)
        interval = (result.ci_low, result.ci_high)
        on_worse_side = interval[0] > 0 if worse_high else interval[1] < 0
        if not (excludes_zero(interval) and on_worse_side):
            continue
        if abs(result.difference) < settings.min_drop:
            continue
        p_value = _one_sided_p(result, worse_high)
        method = result.method
        if spec.metric in (Metric.CSAT, Metric.DSAT):
            # The share of a small recent window is skewed, so the normal-based interval
            # alone rejects too often in the tail a Bonferroni level reaches; the exact test
            # holds the level whatever the counts (see docs/alerts.md, "False alarms").
            p_value = fisher_one_sided(
                _counted(found.baseline, spec),
                found.baseline.n,
                _counted(found.recent, spec),
                found.recent.n,
                higher=worse_high,
            )
            if p_value > alpha:
                continue
            method = "Newcombe hybrid score interval, and Fisher's exact test (one-sided p)"
        drops.append(
            ScoreDrop(
                segment=segment,
                day=day,
                metric=spec.metric,
                change=result.difference,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                level=test_spec.level,
                p_value=p_value,
                adjusted_p=min(1.0, p_value * tested * settings.looks_per_day),
                before=result.a.value,
                after=result.b.value,
                n_before=result.a.n,
                n_after=result.b.n,
                recent_start=found.recent_start,
                baseline_start=found.baseline_start,
                baseline_end=found.baseline_end,
                tested=tested,
                method=method,
            )
        )
    return DayScan(day, tested, tuple(small), tuple(drops))


def scan_drops(
    series: Mapping[str, Mapping[date, Histogram]],
    spec: MetricSpec,
    settings: DetectorSettings | None = None,
    days: Iterable[date] | None = None,
) -> list[DayScan]:
    """Examine every day (default: each day from the first with a full baseline behind it
    to the last day with answers), as a daily run would have."""
    settings = settings or DetectorSettings()
    if days is None:
        every = sorted({d for per_day in series.values() for d in per_day})
        if not every:
            return []
        first = every[0] + timedelta(days=settings.baseline_days)
        days = [first + timedelta(days=i) for i in range(max(0, (every[-1] - first).days + 1))]
    return [detect_drops(series, day, spec, settings) for day in days]


# --- themes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeSpike:
    """A theme mentioned by a larger share of the analysed comments than in its baseline."""

    theme: str
    day: date
    change: float
    """Share recent minus share in the baseline, in points."""
    ci_low: float
    ci_high: float
    level: float
    p_value: float
    adjusted_p: float
    before: float
    after: float
    mentions_before: int
    mentions_after: int
    n_before: int
    n_after: int
    recent_start: date
    baseline_start: date
    baseline_end: date
    tested: int

    def explanation(self) -> str:
        return (
            f"'{self.theme}' was mentioned in {format_value(self.after)}% of comments "
            f"({self.mentions_after} of {self.n_after}) against {format_value(self.before)}% "
            f"({self.mentions_before} of {self.n_before}) in the {self.baseline_days} days "
            f"before: +{format_value(self.change)} points, "
            f"{level_text(self.level)}% interval {format_value(self.ci_low)} to "
            f"{format_value(self.ci_high)}; one-sided p={self.p_value:.2g}, "
            f"{self.tested} theme(s) tested (Bonferroni-adjusted p={self.adjusted_p:.2g})."
        )

    @property
    def baseline_days(self) -> int:
        return (self.baseline_end - self.baseline_start).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "theme-spike",
            "theme": self.theme,
            "day": self.day.isoformat(),
            "change": self.change,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "level": self.level,
            "p_value": self.p_value,
            "adjusted_p": self.adjusted_p,
            "before": self.before,
            "after": self.after,
            "mentions_before": self.mentions_before,
            "mentions_after": self.mentions_after,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "recent_start": self.recent_start.isoformat(),
            "baseline_start": self.baseline_start.isoformat(),
            "baseline_end": self.baseline_end.isoformat(),
            "segments_tested": self.tested,
            "method": "Newcombe hybrid score interval and Fisher's exact test (one-sided)",
            "explanation": self.explanation(),
        }


def _count(per_day: Mapping[date, int], start: date, end: date) -> int:
    return sum(count for day, count in per_day.items() if start <= day <= end)


def detect_spikes(
    mentions: Mapping[str, Mapping[date, int]],
    commented: Mapping[date, int],
    day: date,
    settings: DetectorSettings | None = None,
) -> list[ThemeSpike]:
    """Themes (name -> day -> answers mentioning it) whose share of the analysed comments
    (``commented``: day -> answers with an analysed comment) rose on ``day``."""
    settings = settings or DetectorSettings()
    if not commented.get(day):
        return []
    start = day
    n_after = 0
    for back in range(settings.max_recent_days):
        start = day - timedelta(days=back)
        n_after += commented.get(start, 0)
        if n_after >= settings.min_recent_n:
            break
    baseline_end = start - timedelta(days=1)
    baseline_start = start - timedelta(days=settings.baseline_days)
    n_before = _count(commented, baseline_start, baseline_end)
    if n_after < settings.min_recent_n or n_before < settings.min_baseline_n:
        return []
    tested = len(mentions)
    alpha = settings.alpha_per_test(tested)
    level = 1 - 2 * alpha
    spikes: list[ThemeSpike] = []
    for theme, per_day in mentions.items():
        k_after = min(n_after, _count(per_day, start, day))
        k_before = min(n_before, _count(per_day, baseline_start, baseline_end))

        def newcombe_at(at: float, k_a: int = k_before, k_b: int = k_after) -> tuple[float, float]:
            return newcombe_difference(k_a, n_before, k_b, n_after, at)

        low, high = newcombe_at(level)
        change = (k_after / n_after - k_before / n_before) * 100
        if not low > 0 or change < settings.min_drop:
            continue
        p_value = fisher_one_sided(k_before, n_before, k_after, n_after, higher=True)
        if p_value > alpha:
            continue
        spikes.append(
            ThemeSpike(
                theme=theme,
                day=day,
                change=change,
                ci_low=low * 100,
                ci_high=high * 100,
                level=level,
                p_value=p_value,
                adjusted_p=min(1.0, p_value * tested * settings.looks_per_day),
                before=k_before / n_before * 100,
                after=k_after / n_after * 100,
                mentions_before=k_before,
                mentions_after=k_after,
                n_before=n_before,
                n_after=n_after,
                recent_start=start,
                baseline_start=baseline_start,
                baseline_end=baseline_end,
                tested=tested,
            )
        )
    return spikes


@dataclass(frozen=True)
class Incident:
    """The drops of one segment on days no more than ``quiet_days`` apart: one alert,
    raised on the first day with the numbers of that day."""

    segment: str
    raised: ScoreDrop
    last_seen: date
    days: int
    """Days with a detection."""
    worst: ScoreDrop

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.raised.to_dict(),
            "last_seen": self.last_seen.isoformat(),
            "days_detected": self.days,
            "worst_day": self.worst.day.isoformat(),
            "worst_change": self.worst.change,
        }


def group_incidents(scans: Iterable[DayScan], quiet_days: int = 3) -> list[Incident]:
    """One incident per segment and run of detections (a gap of more than ``quiet_days``
    days without one ends it), in order of the day raised."""
    open_: dict[str, Incident] = {}
    done: list[Incident] = []
    for scan in sorted(scans, key=lambda found: found.day):
        for drop in scan.drops:
            known = open_.get(drop.segment)
            if known is not None and (drop.day - known.last_seen).days <= quiet_days:
                worst = drop if abs(drop.change) > abs(known.worst.change) else known.worst
                open_[drop.segment] = Incident(
                    drop.segment, known.raised, drop.day, known.days + 1, worst
                )
                continue
            if known is not None:
                done.append(known)
            open_[drop.segment] = Incident(drop.segment, drop, drop.day, 1, drop)
    done.extend(open_.values())
    return sorted(done, key=lambda found: (found.raised.day, found.segment))
