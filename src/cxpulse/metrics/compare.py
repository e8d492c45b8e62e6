"""Is the difference between two groups or two periods real?

``compare(a, b, spec)`` reports B minus A, so a positive difference means B scores higher.

- CSAT, DSAT: Newcombe's hybrid score interval (method 10 of Newcombe 1998, built from the
  two Wilson intervals) for the difference; the p-value is read off that interval.
- NPS: the adjusted-Wald difference and its z-test (Lewis & Sauro, MeasuringU: each group gets
  three pseudo answers, 0.75 of them promoters and 0.75 detractors) when both groups have at
  least 30 answers and its interval contains the observed difference; otherwise the MOVER
  interval (Zou & Donner 2008) built from the two groups' own NPS intervals, with the p-value
  read off it. Intervals are clipped to -200..200.
- CES and mean: Welch's t-test on the difference of means, Welch-Satterthwaite degrees of
  freedom.

Every interval contains the reported difference, and a change is significant exactly when its
interval excludes 0 (so exactly when p < 1 - level): the verdict never contradicts the
interval shown. Groups without answers (and, for means, with fewer than two) give NaN, never an
exception. The reported ``difference`` is always ``b.value - a.value``: the values the user sees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
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


def mover_difference(
    estimate_a: float,
    interval_a: tuple[float, float],
    estimate_b: float,
    interval_b: tuple[float, float],
) -> tuple[float, float]:
    """Zou & Donner's (2008) MOVER interval for ``estimate_b - estimate_a``.

    "Method of variance estimates recovery": each group's own interval tells how far its
    estimate may plausibly move down and up, and the two distances on the side that matters are
    added in quadrature (the form of Newcombe's interval, which is MOVER on Wilson intervals).
    The difference minus (plus) a square root is never above (below) the difference, so the
    interval contains it whenever each group's interval contains its own estimate.
    """
    low_a, high_a = interval_a
    low_b, high_b = interval_b
    difference = estimate_b - estimate_a
    low = difference - math.sqrt((estimate_b - low_b) ** 2 + (high_a - estimate_a) ** 2)
    high = difference + math.sqrt((high_b - estimate_b) ** 2 + (estimate_a - low_a) ** 2)
    return (low, high)


def nps_mover_difference(
    promoters_a: int,
    detractors_a: int,
    n_a: int,
    promoters_b: int,
    detractors_b: int,
    n_b: int,
    level: float,
) -> tuple[float, float]:
    """MOVER interval for NPS_b - NPS_a (on -2..2) from each group's ``nps_interval``.

    Those intervals always contain their group's score (Tango's score interval in small
    groups), so this one always contains the observed difference.
    """
    intervals.check_level(level)
    if n_a <= 0 or n_b <= 0:
        return (math.nan, math.nan)
    low, high = mover_difference(
        (promoters_a - detractors_a) / n_a,
        intervals.nps_interval(promoters_a, detractors_a, n_a, level),
        (promoters_b - detractors_b) / n_b,
        intervals.nps_interval(promoters_b, detractors_b, n_b, level),
    )
    return (max(-2.0, low), min(2.0, high))


def excludes_zero(interval: tuple[float, float]) -> bool:
    """The verdict: a change is significant exactly when its interval lies wholly on one side
    of 0 (NaN bounds: never)."""
    return interval[0] > 0 or interval[1] < 0


_TINY = 2.0**-52
"""The lowest level, and 1 minus the highest, a p-value is looked for between: 1 - _TINY is
the highest level a float can tell apart from 1."""

_Z_TOLERANCE = 1e-10
"""How closely the critical value where 0 reaches a bound is found: p to about nine digits."""


def _level_of(z: float) -> float:
    """The two-sided level whose normal critical value is ``z``, kept strictly inside 0..1."""
    return min(1 - _TINY, max(_TINY, 1 - intervals.normal_two_sided_p(z)))


def p_value_from_interval(
    interval_at: Callable[[float], tuple[float, float]], difference: float
) -> float:
    """The smallest 1 - level at which ``interval_at(level)`` excludes 0.

    The p-value of the test an interval stands for: p < 1 - level exactly when the interval at
    that level excludes 0, so the p-value shown never contradicts the interval shown. The
    intervals given here widen as the level rises, so 0 reaches the bound nearest to it at one
    level. It is looked for on the scale of the level's critical value z, where each bound moves
    almost in a straight line, by regula falsi (Illinois variant, a bisection every eighth step)
    between the lowest and the highest level a float can hold; p = 2(1 - Phi(z)). An interval
    that still excludes 0 at the highest level gives 0.0, as the normal p-value does for |z|
    above 8.3; a difference of 0 gives 1.0.
    """
    if math.isnan(difference) or difference == 0:
        return math.nan if math.isnan(difference) else 1.0

    def margin(z: float) -> float:
        """How far the interval at critical value ``z`` stays clear of 0 (> 0: excludes)."""
        low, high = interval_at(_level_of(z))
        return low if difference > 0 else -high

    # ``outside``: a z whose interval excludes 0; ``inside``: a larger one whose interval holds
    # it (intervals widen with z).
    outside, inside = 0.0, intervals.z_quantile(1 - _TINY)
    f_outside, f_inside = margin(outside), margin(inside)
    if f_inside > 0:
        return 0.0
    if f_outside <= 0:
        return 1.0  # a bound equal to the difference itself, even at the lowest level
    last_moved = 0
    for step in range(200):
        if inside - outside <= _Z_TOLERANCE:
            break
        if step % 8 == 7 or f_outside == f_inside:
            guess = (inside + outside) / 2
        else:
            guess = (outside * f_inside - inside * f_outside) / (f_inside - f_outside)
            if not outside < guess < inside:
                guess = (inside + outside) / 2
        f_guess = margin(guess)
        if f_guess > 0:
            outside, f_outside = guess, f_guess
            if last_moved > 0:
                f_inside /= 2  # Illinois: keep the other end from sticking
            last_moved = 1
        else:
            inside, f_inside = guess, f_guess
            if last_moved < 0:
                f_outside /= 2
            last_moved = -1
    return intervals.normal_two_sided_p((inside + outside) / 2)


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


def nps_keeps_adjusted_wald(
    promoters_a: int,
    detractors_a: int,
    n_a: int,
    promoters_b: int,
    detractors_b: int,
    n_b: int,
    level: float,
) -> bool:
    """Whether a comparison of two NPS uses the adjusted-Wald difference and its z-test.

    Only where published figures have always come from it and it holds the observed
    difference: both groups with at least ``SCORE_INTERVAL_BELOW_N`` answers and the observed
    difference inside. Its pseudo answers pull each group's centre towards 0, so between groups
    of opposite extremes (all promoters against all detractors) its interval can miss the
    difference even with hundreds of answers; there, and in small groups, ``compare`` uses
    ``nps_mover_difference``.
    """
    if min(n_a, n_b) < intervals.SCORE_INTERVAL_BELOW_N:
        return False
    *_, low, high = nps_adjusted_wald_difference(
        promoters_a, detractors_a, n_a, promoters_b, detractors_b, n_b, level
    )
    observed = (promoters_b - detractors_b) / n_b - (promoters_a - detractors_a) / n_a
    return low <= observed <= high


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
    return Comparison(
        metric=spec.metric,
        level=spec.level,
        difference=b.value - a.value,
        ci_low=interval[0],
        ci_high=interval[1],
        p_value=p_value,
        # The verdict is the interval's: "significant" next to an interval holding 0 (or "no
        # significant change" next to one that excludes it) would contradict the page.
        significant=excludes_zero(interval),
        method=method,
        a=a,
        b=b,
        extra=dict(extra),
    )


def _points(interval: tuple[float, float]) -> tuple[float, float]:
    return (interval[0] * 100, interval[1] * 100)


def compare(a: Histogram, b: Histogram, spec: MetricSpec) -> Comparison:
    """B minus A for the metric of ``spec``, with an interval and a test at ``spec.level``."""
    result_a, result_b = score(a, spec), score(b, spec)
    level = spec.level
    if spec.metric in (Metric.CSAT, Metric.DSAT):
        k_a, k_b = _proportion_counts(a, spec), _proportion_counts(b, spec)

        def newcombe_at(at: float) -> tuple[float, float]:
            return newcombe_difference(k_a, a.n, k_b, b.n, at)

        p = p_value_from_interval(newcombe_at, result_b.value - result_a.value)
        return _finish(
            spec,
            result_a,
            result_b,
            _points(newcombe_at(level)),
            p,
            "Newcombe hybrid score interval (p-value from the interval)",
            {},
        )
    if spec.metric is Metric.NPS:
        return _compare_nps(a, b, spec, result_a, result_b)
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


def _compare_nps(
    a: Histogram, b: Histogram, spec: MetricSpec, result_a: MetricResult, result_b: MetricResult
) -> Comparison:
    promoters_a, _, detractors_a = nps_bands(a, spec.thresholds)
    promoters_b, _, detractors_b = nps_bands(b, spec.thresholds)
    counts = (promoters_a, detractors_a, a.n, promoters_b, detractors_b, b.n)
    adjusted, se, z, low, high = nps_adjusted_wald_difference(*counts, spec.level)
    if nps_keeps_adjusted_wald(*counts, spec.level):
        # The interval is adjusted difference ± z·SE, so it excludes 0 exactly when |z|
        # exceeds the critical value: the z-test's p-value is the interval's.
        return _finish(
            spec,
            result_a,
            result_b,
            _points((low, high)),
            intervals.normal_two_sided_p(z),
            "adjusted-Wald difference (z-test)",
            {"adjusted_difference": adjusted * 100, "se": se * 100, "z": z},
        )

    def mover_at(at: float) -> tuple[float, float]:
        return nps_mover_difference(*counts, at)

    return _finish(
        spec,
        result_a,
        result_b,
        _points(mover_at(spec.level)),
        p_value_from_interval(mover_at, result_b.value - result_a.value),
        "MOVER difference of the two NPS intervals (p-value from the interval)",
        {},
    )
