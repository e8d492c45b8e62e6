"""Is the difference between two groups or two periods real?

``compare(a, b, spec)`` reports B minus A, so a positive difference means B scores higher.

- CSAT, DSAT: pooled two-proportion z-test for the p-value; Newcombe's hybrid score interval
  (method 10 of Newcombe 1998, built from the two Wilson intervals) for the difference.
- NPS: adjusted-Wald difference (Lewis & Sauro, MeasuringU): each group gets three pseudo
  answers, 0.75 of them promoters and 0.75 detractors; the z-test and the interval use the
  adjusted scores, keeping the sign B minus A; the interval is clipped to -200..200.
- CES and mean: Welch's t-test on the difference of means, Welch-Satterthwaite degrees of
  freedom.

Groups without answers (and, for means, with fewer than two) give NaN, never an exception.
The reported ``difference`` is always ``b.value - a.value``: the values the user sees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cxpulse.metrics import intervals
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Metric
from cxpulse.metrics.scores import MetricResult, MetricSpec, nps_bands, score

SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not significant"


@dataclass(frozen=True)
class Comparison:
    """B compared with A for one metric: difference (B - A), its interval and a p-value."""

    metric: Metric
    level: float
    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    significant: bool
    method: str
    a: MetricResult
    b: MetricResult
    extra: Mapping[str, float] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return SIGNIFICANT if self.significant else NOT_SIGNIFICANT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; values not defined (too few answers) or infinite become ``None``."""

        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        out: dict[str, Any] = {
            "metric": str(self.metric),
            "level": self.level,
            "difference": clean(self.difference),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "p_value": clean(self.p_value),
            "significant": self.significant,
            "verdict": self.verdict,
            "method": self.method,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
        }
        for key, value in self.extra.items():
            out[key] = clean(value)
        return out


# --- the tests themselves, on counts and proportions (0..1), no Histogram needed ------------


def two_proportion_z_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> tuple[float, float]:
    """Pooled two-proportion z-test of p_b - p_a: (z, two-sided p-value).

    When every answer in both groups is on the same side the pooled variance is 0 and so is
    the difference: nothing speaks for a change, the p-value is 1.
    """
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return (0.0, 1.0)
    z = (p_b - p_a) / se
    return (z, intervals.normal_two_sided_p(z))


def newcombe_difference(
    successes_a: int, n_a: int, successes_b: int, n_b: int, level: float
) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p_b - p_a, from the Wilson interval of each."""
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = intervals.wilson(successes_a, n_a, level)
    low_b, high_b = intervals.wilson(successes_b, n_b, level)
    difference = p_b - p_a
    low = difference - math.sqrt((p_b - low_b) ** 2 + (high_a - p_a) ** 2)
    high = difference + math.sqrt((high_b - p_b) ** 2 + (p_a - low_a) ** 2)
    return (max(-1.0, low), min(1.0, high))


def nps_adjusted_wald_difference(
    promoters_a: int,
    detractors_a: int,
    n_a: int,
    promoters_b: int,
    detractors_b: int,
    n_b: int,
    level: float,
) -> tuple[float, float, float, float, float]:
    """Adjusted-Wald difference NPS_b - NPS_a on the -1..1 scale of each score.

    Returns ``(adjusted difference, standard error, z, low, high)``, the interval clipped to
    -2..2; the two-sided p-value is ``intervals.normal_two_sided_p(z)``.
    """
    intervals.check_level(level)
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan, math.nan, math.nan, math.nan)
    centre_a, variance_a, n_adj_a = intervals.adjusted_nps(promoters_a, detractors_a, n_a)
    centre_b, variance_b, n_adj_b = intervals.adjusted_nps(promoters_b, detractors_b, n_b)
    difference = centre_b - centre_a
    # Adjusted shares are never 0 or 1, so each variance is positive; max() guards rounding.
    se = math.sqrt(max(0.0, variance_a) / n_adj_a + max(0.0, variance_b) / n_adj_b)
    z = difference / se
    half = intervals.z_quantile(level) * se
    return (difference, se, z, max(-2.0, difference - half), min(2.0, difference + half))


def welch(
    mean_a: float,
    variance_a: float,
    n_a: int,
    mean_b: float,
    variance_b: float,
    n_b: int,
    level: float,
) -> tuple[float, float, float, float, float, float]:
    """Welch's t-test of mean_b - mean_a.

    Returns ``(difference, t, df, p, low, high)``; NaN throughout when a group has fewer than
    two answers. When both groups have no spread at all the standard error is 0: equal means
    give p = 1, different means p = 0 (the limit as the spread vanishes).
    """
    intervals.check_level(level)
    if n_a < 2 or n_b < 2 or math.isnan(variance_a) or math.isnan(variance_b):
        return (math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    difference = mean_b - mean_a
    part_a, part_b = variance_a / n_a, variance_b / n_b
    se2 = part_a + part_b
    if se2 == 0:
        if difference == 0:
            return (0.0, 0.0, math.inf, 1.0, 0.0, 0.0)
        t = math.copysign(math.inf, difference)
        return (difference, t, math.inf, 0.0, difference, difference)
    se = math.sqrt(se2)
    df = se2**2 / (part_a**2 / (n_a - 1) + part_b**2 / (n_b - 1))
    t = difference / se
    half = intervals.t_quantile(level, df) * se
    return (difference, t, df, intervals.t_two_sided_p(t, df), difference - half, difference + half)


# --- the comparison of two histograms --------------------------------------------------------


def _proportion_counts(h: Histogram, spec: MetricSpec) -> int:
    if spec.metric is Metric.DSAT:
        return h.count_at_most(spec.thresholds.bottom_max)
    return h.count_at_least(spec.thresholds.top_min)


def _finish(
    spec: MetricSpec,
    a: MetricResult,
    b: MetricResult,
    interval: tuple[float, float],
    p_value: float,
    method: str,
    extra: Mapping[str, float],
) -> Comparison:
    difference = b.value - a.value
    significant = not math.isnan(p_value) and p_value < 1 - spec.level
    return Comparison(
        metric=spec.metric,
        level=spec.level,
        difference=difference,
        ci_low=interval[0],
        ci_high=interval[1],
        p_value=p_value,
        significant=significant,
        method=method,
        a=a,
        b=b,
        extra=dict(extra),
    )


def compare(a: Histogram, b: Histogram, spec: MetricSpec) -> Comparison:
    """B minus A for the metric of ``spec``, with an interval and a test at ``spec.level``."""
    result_a, result_b = score(a, spec), score(b, spec)
    level = spec.level
    if spec.metric in (Metric.CSAT, Metric.DSAT):
        k_a, k_b = _proportion_counts(a, spec), _proportion_counts(b, spec)
        z, p = two_proportion_z_test(k_a, a.n, k_b, b.n)
        low, high = newcombe_difference(k_a, a.n, k_b, b.n, level)
        return _finish(
            spec,
            result_a,
            result_b,
            (low * 100, high * 100),
            p,
            "two-proportion z-test (pooled), Newcombe hybrid score interval",
            {"z": z},
        )
    if spec.metric is Metric.NPS:
        promoters_a, _, detractors_a = nps_bands(a, spec.thresholds)
        promoters_b, _, detractors_b = nps_bands(b, spec.thresholds)
        adjusted, se, z, low, high = nps_adjusted_wald_difference(
            promoters_a, detractors_a, a.n, promoters_b, detractors_b, b.n, level
        )
        p = intervals.normal_two_sided_p(z) if not math.isnan(z) else math.nan
        return _finish(
            spec,
            result_a,
            result_b,
            (low * 100, high * 100),
            p,
            "adjusted-Wald difference (z-test)",
            {"adjusted_difference": adjusted * 100, "se": se * 100, "z": z},
        )
    _, t, df, p, low, high = welch(a.mean(), a.variance(), a.n, b.mean(), b.variance(), b.n, level)
    return _finish(
        spec,
        result_a,
        result_b,
        (low, high),
        p,
        "Welch t-test",
        {"t": t, "df": df},
    )
