"""One metric over many groups in one pass, as columns: the numbers ``score`` gives each group.

``cxpulse score`` on a large file scores tens of thousands of groups, and building one
``MetricResult`` per group (then one dict per result) cost more than the query that counted
them. CSAT, DSAT and NPS (Wald and adjusted Wald) are scored here from their band counts with
the same interval functions as ``score``, so every number is identical; CES, mean and the NPS
bootstrap call ``score`` per group (their intervals need SciPy or NumPy anyway).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import compress

from cxpulse.metrics import intervals
from cxpulse.metrics.histogram import Histogram, merge
from cxpulse.metrics.scales import Metric
from cxpulse.metrics.scores import MetricResult, MetricSpec, NpsMethod, score

_BAND_NAMES = {
    Metric.CSAT: ("satisfied", "not_satisfied"),
    Metric.DSAT: ("dissatisfied", "not_dissatisfied"),
    Metric.NPS: ("promoters", "passives", "detractors"),
}


@dataclass(frozen=True)
class ScoredColumns:
    """Row ``i`` of every list is what ``score`` gives for the ``i``-th histogram."""

    metric: Metric
    level: float
    method: str
    value: list[float]
    ci_low: list[float]
    ci_high: list[float]
    n: list[int]
    counts: list[Mapping[str, int]]
    too_small: list[bool]
    extra: list[Mapping[str, float]]

    def __len__(self) -> int:
        return len(self.n)

    def result(self, i: int) -> MetricResult:
        return MetricResult(
            metric=self.metric,
            value=self.value[i],
            ci_low=self.ci_low[i],
            ci_high=self.ci_high[i],
            n=self.n[i],
            level=self.level,
            method=self.method,
            counts=self.counts[i],
            too_small=self.too_small[i],
            extra=self.extra[i],
        )


def score_many(
    histograms: Sequence[Histogram], spec: MetricSpec, *, total_first: bool = False
) -> ScoredColumns:
    """``score(h, spec)`` for every ``h``; with ``total_first``, their merged total comes first."""
    if spec.metric in _BAND_NAMES and spec.nps_method is not NpsMethod.BOOTSTRAP:
        return _score_bands(histograms, spec, total_first)
    scored = [score(merge(histograms), spec)] if total_first else []
    scored += [score(h, spec) for h in histograms]
    return _columns(scored, spec)


def _columns(results: Sequence[MetricResult], spec: MetricSpec) -> ScoredColumns:
    method = results[0].method if results else _method(spec)
    return ScoredColumns(
        metric=spec.metric,
        level=spec.level,
        method=method,
        value=[r.value for r in results],
        ci_low=[r.ci_low for r in results],
        ci_high=[r.ci_high for r in results],
        n=[r.n for r in results],
        counts=[r.counts for r in results],
        too_small=[r.too_small for r in results],
        extra=[r.extra for r in results],
    )


def _method(spec: MetricSpec) -> str:
    if spec.metric is Metric.NPS:
        return str(spec.nps_method)
    return "t" if spec.metric in (Metric.CES, Metric.MEAN) else "wilson"


def _score_bands(
    histograms: Sequence[Histogram], spec: MetricSpec, total_first: bool
) -> ScoredColumns:
    top, bottom = spec.thresholds.top_min, spec.thresholds.bottom_max
    sizes: list[int] = []
    tops: list[int] = []
    bottoms: list[int] = []
    # Which of a histogram's values fall in the top and bottom bands, per tuple of values:
    # most groups hold the same few values, so the band counts become C-level sums.
    masks: dict[tuple[float, ...], tuple[tuple[bool, ...], tuple[bool, ...]]] = {}
    for histogram in histograms:
        at_value = histogram.counts
        keys = tuple(at_value)
        mask = masks.get(keys)
        if mask is None:
            mask = masks[keys] = (
                tuple(value >= top for value in keys),
                tuple(value <= bottom for value in keys),
            )
        answers = at_value.values()
        sizes.append(sum(answers))
        tops.append(sum(compress(answers, mask[0])))
        bottoms.append(sum(compress(answers, mask[1])))
    if total_first:
        # Band membership is per answer value, so the total's bands are the groups' sums.
        sizes.insert(0, sum(sizes))
        tops.insert(0, sum(tops))
        bottoms.insert(0, sum(bottoms))

    level, metric, min_n = spec.level, spec.metric, spec.min_n
    names = _BAND_NAMES[metric]
    values: list[float] = []
    lows: list[float] = []
    highs: list[float] = []
    counts: list[Mapping[str, int]] = []
    if metric is Metric.NPS:
        interval = (
            intervals.nps_wald if spec.nps_method is NpsMethod.WALD else intervals.nps_interval
        )
        for n, promoters, detractors in zip(sizes, tops, bottoms, strict=True):
            low, high = interval(promoters, detractors, n, level)
            values.append((promoters - detractors) / n * 100 if n else math.nan)
            lows.append(low * 100)
            highs.append(high * 100)
            counts.append(
                {names[0]: promoters, names[1]: n - promoters - detractors, names[2]: detractors}
            )
    else:
        shares = tops if metric is Metric.CSAT else bottoms
        for n, part in zip(sizes, shares, strict=True):
            low, high = intervals.wilson(part, n, level)
            values.append(part / n * 100 if n else math.nan)
            lows.append(low * 100)
            highs.append(high * 100)
            counts.append({names[0]: part, names[1]: n - part})
    return ScoredColumns(
        metric=metric,
        level=level,
        method=_method(spec),
        value=values,
        ci_low=lows,
        ci_high=highs,
        n=sizes,
        counts=counts,
        too_small=[n < min_n for n in sizes],
        extra=[{}] * len(sizes),
    )
