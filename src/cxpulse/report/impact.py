"""How much each segment moves the overall score, and whether it differs from the rest: pure
arithmetic on histograms.

The impact of a segment is the overall score minus the score of everyone else:

    impact(segment) = score(all answers) - score(all answers except the segment's)

in the metric's own points (percentage points for CSAT and DSAT, NPS points, scale points
for CES and means). A positive impact means the segment lifts the overall score: without
it, the score would be that much lower. It combines how far a segment is from the rest and
how big it is, so a large segment a little below the rest can matter more than a tiny
segment far below it. Segments are sorted by the size of their impact, largest first.

Each segment is also tested against the rest of the answers (``metrics.compare``: the
Newcombe's interval for CSAT and DSAT, the adjusted-Wald or MOVER difference for NPS, Welch's t-test
for CES and means) at the view's level. A breakdown tests many segments at once, so the
p-values are Holm-adjusted over the segments tested: by chance alone, one of twenty segments
would otherwise be marked at the 95% level. Segments under the minimum n are not tested
(they carry the "too few" flag instead).

The segments must partition the answers (every answer in exactly one segment, "no value"
included), as a GROUP BY gives them; the overall histogram is their sum.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from cxpulse.metrics import Histogram, Metric, MetricResult, MetricSpec, merge, score
from cxpulse.metrics.compare import Comparison, compare

Key = TypeVar("Key", bound=Hashable)

IMPACT_DIGITS = {Metric.CSAT: 1, Metric.DSAT: 1, Metric.NPS: 1, Metric.CES: 2, Metric.MEAN: 2}
"""Decimals an impact is shown with: percentage and NPS points move in tenths, while on a
1-7 scale two segments half a point apart move the mean by hundredths."""

TEST_NAMES = {
    Metric.CSAT: "Newcombe interval",
    Metric.DSAT: "Newcombe interval",
    Metric.NPS: "NPS difference (adjusted Wald or MOVER)",
    Metric.CES: "Welch's t-test",
    Metric.MEAN: "Welch's t-test",
}

MINUS = "\N{MINUS SIGN}"


def subtract(total: Histogram, part: Histogram) -> Histogram:
    """``total`` without the answers of ``part``; ValueError if ``part`` is not inside it."""
    counts = dict(total.counts)
    for value, count in part.counts.items():
        left = counts.get(value, 0) - count
        if left < 0:
            raise ValueError(f"the part holds {count} answers at {value}, the total fewer")
        counts[value] = left
    return Histogram(counts)


def impact_text(value: float, digits: int) -> str:
    """An impact with its sign, never a signed zero for a value that is not zero.

    >>> impact_text(0.004, 2), impact_text(-0.52, 2), impact_text(0.0, 1)
    ('+<0.01', '−0.52', '0.0')
    """
    if math.isnan(value):
        return "–"
    if value == 0:
        return f"{0:.{digits}f}"
    sign = "+" if value > 0 else MINUS
    shown = f"{abs(value):.{digits}f}"
    if float(shown) == 0:
        # Rounding would print "+0.0" for a segment that does move the score.
        return f"{sign}<{10**-digits:.{digits}f}"
    return f"{sign}{shown}"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (NaN stays NaN and is not counted).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class SegmentImpact(Generic[Key]):
    key: Key
    result: MetricResult
    """The segment's own score."""
    rest: MetricResult
    """The score of every answer outside the segment."""
    impact: float
    """Overall score minus ``rest.value``; NaN when either is undefined."""
    share: float
    """The segment's share of all answers, 0..1."""
    digits: int = 1
    """Decimals to show the impact with (``IMPACT_DIGITS`` of the metric)."""
    comparison: Comparison | None = None
    """The segment against the rest (difference = segment - rest); None when not tested."""
    p_adjusted: float = math.nan
    """The comparison's p-value, Holm-adjusted over the segments tested."""
    significant: bool = False
    """Whether the adjusted p-value is under 1 - level."""
    method: str = ""
    """The test, in words (``method_text``): the same for every segment of a breakdown."""

    @property
    def impact_text(self) -> str:
        return impact_text(self.impact, self.digits)

    @property
    def direction(self) -> Literal["higher", "lower"] | None:
        """How a significant segment differs from the rest; None when it does not."""
        if not self.significant or self.comparison is None:
            return None
        return "higher" if self.comparison.difference > 0 else "lower"

    @property
    def verdict(self) -> str:
        """The significance mark in words, for a screen reader and the legend."""
        if self.comparison is None:
            return "not tested (too few answers)"
        if self.direction is None:
            return "not significantly different from the rest"
        return f"significantly {self.direction} than the rest"


def _tested(histogram: Histogram, rest: Histogram, spec: MetricSpec) -> Comparison | None:
    """The segment (B) against the rest (A), or None when either is too small to test."""
    if histogram.n < max(spec.min_n, 2) or rest.n < max(spec.min_n, 2):
        return None
    found = compare(rest, histogram, spec)
    return found if math.isfinite(found.p_value) else None


def segment_impacts(
    segments: Mapping[Key, Histogram], spec: MetricSpec
) -> tuple[MetricResult, list[SegmentImpact[Key]]]:
    """The overall result and one impact per segment, largest impact first (undefined last,
    then by size), each with its test against the rest of the answers."""
    total = merge(segments.values())
    overall = score(total, spec)
    digits = IMPACT_DIGITS[spec.metric]
    rows = []
    for key, histogram in segments.items():
        rest_histogram = subtract(total, histogram)
        rest = score(rest_histogram, spec)
        rows.append((key, histogram, rest, _tested(histogram, rest_histogram, spec)))
    adjusted = holm([math.nan if c is None else c.p_value for *_, c in rows])
    alpha = 1 - spec.level
    method = method_text(spec)
    impacts = [
        SegmentImpact(
            key=key,
            result=score(histogram, spec),
            rest=rest,
            impact=overall.value - rest.value,
            share=histogram.n / total.n if total.n else math.nan,
            digits=digits,
            comparison=comparison,
            p_adjusted=p,
            significant=comparison is not None and p < alpha,
            method=method,
        )
        for (key, histogram, rest, comparison), p in zip(rows, adjusted, strict=True)
    ]
    impacts.sort(
        key=lambda item: (
            math.isnan(item.impact),
            -abs(item.impact) if not math.isnan(item.impact) else 0.0,
            -item.result.n,
        )
    )
    return overall, impacts


def method_text(spec: MetricSpec) -> str:
    """The breakdown's significance test, named for the page's legend."""
    return (
        f"{TEST_NAMES[spec.metric]} of each segment against the rest of the answers at the "
        f"{spec.level:.0%} level, Holm-adjusted for the number of segments tested"
    )
