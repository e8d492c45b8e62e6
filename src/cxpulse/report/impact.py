"""How much each segment moves the overall score: pure arithmetic on histograms.

The impact of a segment is the overall score minus the score of everyone else:

    impact(segment) = score(all answers) - score(all answers except the segment's)

in the metric's own points (percentage points for CSAT and DSAT, NPS points, scale points
for CES and means). A positive impact means the segment lifts the overall score: without
it, the score would be that much lower. It combines how far a segment is from the rest and
how big it is, so a large segment a little below the rest can matter more than a tiny
segment far below it. Segments are sorted by the size of their impact, largest first.

The segments must partition the answers (every answer in exactly one segment, "no value"
included), as a GROUP BY gives them; the overall histogram is their sum.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from cxpulse.metrics import Histogram, MetricResult, MetricSpec, merge, score

Key = TypeVar("Key", bound=Hashable)


def subtract(total: Histogram, part: Histogram) -> Histogram:
    """``total`` without the answers of ``part``; ValueError if ``part`` is not inside it."""
    counts = dict(total.counts)
    for value, count in part.counts.items():
        left = counts.get(value, 0) - count
        if left < 0:
            raise ValueError(f"the part holds {count} answers at {value}, the total fewer")
        counts[value] = left
    return Histogram(counts)


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


def segment_impacts(
    segments: Mapping[Key, Histogram], spec: MetricSpec
) -> tuple[MetricResult, list[SegmentImpact[Key]]]:
    """The overall result and one impact per segment, largest impact first (undefined last,
    then by size)."""
    total = merge(segments.values())
    overall = score(total, spec)
    impacts: list[SegmentImpact[Key]] = []
    for key, histogram in segments.items():
        rest = score(subtract(total, histogram), spec)
        impact = overall.value - rest.value
        impacts.append(
            SegmentImpact(
                key=key,
                result=score(histogram, spec),
                rest=rest,
                impact=impact,
                share=histogram.n / total.n if total.n else math.nan,
            )
        )
    impacts.sort(
        key=lambda item: (
            math.isnan(item.impact),
            -abs(item.impact) if not math.isnan(item.impact) else 0.0,
            -item.result.n,
        )
    )
    return overall, impacts
