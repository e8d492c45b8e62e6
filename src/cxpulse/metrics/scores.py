"""CSAT, DSAT, NPS, CES and mean: each a function of a Histogram.

Percentages are in points (CSAT 83.39 means 83.39 %); NPS runs from -100 to 100; CES and
mean are on the answer scale. Nothing is rounded here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cxpulse.metrics import intervals
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import DEFAULT_SCALE, Metric, Scale, Thresholds, default_thresholds

DEFAULT_LEVEL = 0.95
DEFAULT_MIN_N = 30


class NpsMethod(StrEnum):
    ADJUSTED_WALD = "adjusted-wald"
    WALD = "wald"
    BOOTSTRAP = "bootstrap"


@dataclass(frozen=True)
class MetricResult:
    """One metric of one group, with everything needed to read it honestly."""

    metric: Metric
    value: float
    ci_low: float
    ci_high: float
    n: int
    level: float
    method: str
    counts: Mapping[str, int]
    too_small: bool
    extra: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; values not defined (no answers) become ``None``."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else x

        out: dict[str, Any] = {
            "value": clean(self.value),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "n": self.n,
            "level": self.level,
            "method": self.method,
            "counts": dict(self.counts),
            "too_small": self.too_small,
        }
        for key, value in self.extra.items():
            out[key] = clean(value)
        return out


@dataclass(frozen=True)
class MetricSpec:
    """Which metric, on which scale, with which bands: everything a survey configures."""

    metric: Metric
    scale: Scale
    thresholds: Thresholds
    level: float = DEFAULT_LEVEL
    min_n: int = DEFAULT_MIN_N
    nps_method: NpsMethod = NpsMethod.ADJUSTED_WALD

    @classmethod
    def default(
        cls,
        metric: Metric | str,
        scale: Scale | None = None,
        *,
        top_min: float | None = None,
        bottom_max: float | None = None,
        level: float = DEFAULT_LEVEL,
        min_n: int = DEFAULT_MIN_N,
        nps_method: NpsMethod | str = NpsMethod.ADJUSTED_WALD,
    ) -> MetricSpec:
        metric = Metric(metric)
        scale = scale or DEFAULT_SCALE[metric]
        intervals.check_level(level)
        if metric is Metric.MEAN:
            thresholds = Thresholds(top_min=scale.high, bottom_max=scale.low)
        else:
            thresholds = default_thresholds(metric, scale)
        if top_min is not None or bottom_max is not None:
            thresholds = Thresholds(
                top_min=thresholds.top_min if top_min is None else top_min,
                bottom_max=thresholds.bottom_max if bottom_max is None else bottom_max,
            )
        return cls(metric, scale, thresholds, level, min_n, NpsMethod(nps_method))


def _points(interval: tuple[float, float]) -> tuple[float, float]:
    return (interval[0] * 100, interval[1] * 100)


def _share(part: int, n: int) -> float:
    return part / n * 100 if n else math.nan


def csat(h: Histogram, spec: MetricSpec) -> MetricResult:
    """Share of answers in the top box(es), with a Wilson interval."""
    n = h.n
    satisfied = h.count_at_least(spec.thresholds.top_min)
    low, high = _points(intervals.wilson(satisfied, n, spec.level))
    return MetricResult(
        metric=Metric.CSAT,
        value=_share(satisfied, n),
        ci_low=low,
        ci_high=high,
        n=n,
        level=spec.level,
        method="wilson",
        counts={"satisfied": satisfied, "not_satisfied": n - satisfied},
        too_small=n < spec.min_n,
    )


def dsat(h: Histogram, spec: MetricSpec) -> MetricResult:
    """Share of answers in the bottom box(es), with a Wilson interval."""
    n = h.n
    dissatisfied = h.count_at_most(spec.thresholds.bottom_max)
    low, high = _points(intervals.wilson(dissatisfied, n, spec.level))
    return MetricResult(
        metric=Metric.DSAT,
        value=_share(dissatisfied, n),
        ci_low=low,
        ci_high=high,
        n=n,
        level=spec.level,
        method="wilson",
        counts={"dissatisfied": dissatisfied, "not_dissatisfied": n - dissatisfied},
        too_small=n < spec.min_n,
    )


def nps_bands(h: Histogram, thresholds: Thresholds) -> tuple[int, int, int]:
    """(promoters, passives, detractors)."""
    promoters = h.count_at_least(thresholds.top_min)
    detractors = h.count_at_most(thresholds.bottom_max)
    return promoters, h.n - promoters - detractors, detractors


def nps(h: Histogram, spec: MetricSpec) -> MetricResult:
    """% promoters minus % detractors, -100..100."""
    n = h.n
    promoters, passives, detractors = nps_bands(h, spec.thresholds)
    if spec.nps_method is NpsMethod.WALD:
        interval = intervals.nps_wald(promoters, detractors, n, spec.level)
    elif spec.nps_method is NpsMethod.BOOTSTRAP:
        interval = intervals.nps_bootstrap(promoters, passives, detractors, spec.level)
    else:
        interval = intervals.nps_interval(promoters, detractors, n, spec.level)
    low, high = _points(interval)
    value = (promoters - detractors) / n * 100 if n else math.nan
    return MetricResult(
        metric=Metric.NPS,
        value=value,
        ci_low=low,
        ci_high=high,
        n=n,
        level=spec.level,
        method=str(spec.nps_method),
        counts={"promoters": promoters, "passives": passives, "detractors": detractors},
        too_small=n < spec.min_n,
    )


def mean(h: Histogram, spec: MetricSpec) -> MetricResult:
    """Arithmetic mean of the answers with a t interval."""
    n = h.n
    average = h.mean()
    low, high = intervals.t_interval(average, h.variance(), n, spec.level)
    return MetricResult(
        metric=Metric.MEAN,
        value=average,
        ci_low=low,
        ci_high=high,
        n=n,
        level=spec.level,
        method="t",
        counts={str(v): c for v, c in h},
        too_small=n < spec.min_n,
    )


def ces(h: Histogram, spec: MetricSpec) -> MetricResult:
    """Mean effort score with a t interval, and the % who agree with a Wilson interval."""
    n = h.n
    agree = h.count_at_least(spec.thresholds.top_min)
    disagree = h.count_at_most(spec.thresholds.bottom_max)
    average = h.mean()
    low, high = intervals.t_interval(average, h.variance(), n, spec.level)
    agree_low, agree_high = _points(intervals.wilson(agree, n, spec.level))
    return MetricResult(
        metric=Metric.CES,
        value=average,
        ci_low=low,
        ci_high=high,
        n=n,
        level=spec.level,
        method="t",
        counts={"agree": agree, "neutral": n - agree - disagree, "disagree": disagree},
        too_small=n < spec.min_n,
        extra={
            "pct_agree": _share(agree, n),
            "pct_agree_ci_low": agree_low,
            "pct_agree_ci_high": agree_high,
        },
    )


_FUNCTIONS = {
    Metric.CSAT: csat,
    Metric.DSAT: dsat,
    Metric.NPS: nps,
    Metric.CES: ces,
    Metric.MEAN: mean,
}


def score(h: Histogram, spec: MetricSpec) -> MetricResult:
    """The metric ``spec`` names, computed from ``h``."""
    return _FUNCTIONS[spec.metric](h, spec)


def format_value(value: float | None, digits: int = 1) -> str:
    """Display rounding happens here and only here: 28.571... -> '28.6'."""
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.{digits}f}"
