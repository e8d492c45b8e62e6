"""The headline numbers of a dashboard view (its metric, and DSAT beside CSAT, against the
period before) and the distribution of its answers; each carries the drill-down filters of
the responses it counts, so that every number links to them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cxpulse.metrics import Comparison, Histogram, Metric, MetricResult, MetricSpec, compare, score
from cxpulse.report.filters_url import DrillFilters
from cxpulse.store.models import Survey

METRIC_LABELS = {
    Metric.CSAT: "CSAT",
    Metric.DSAT: "DSAT",
    Metric.NPS: "NPS",
    Metric.CES: "CES",
    Metric.MEAN: "Mean",
}
UNITS = {Metric.CSAT: "%", Metric.DSAT: "%", Metric.NPS: "", Metric.CES: "", Metric.MEAN: ""}


@dataclass(frozen=True)
class Headline:
    label: str
    spec: MetricSpec
    current: MetricResult
    previous: MetricResult
    change: Comparison
    """Current minus previous, tested at the spec's level."""
    drill: DrillFilters
    """Which responses are "in" the number (satisfied, dissatisfied ...)."""

    @property
    def verdict(self) -> str:
        if self.current.n == 0 or self.previous.n == 0:
            return "no comparison: a period has no answers"
        return "significant" if self.change.significant else "no significant change"


@dataclass(frozen=True)
class DistributionRow:
    label: str
    count: int
    share: float
    """0..100; NaN without answers."""
    drill: DrillFilters


def headline_specs(survey: Survey, min_n: int) -> list[tuple[str, MetricSpec, DrillFilters]]:
    """The survey's own metric, and DSAT beside CSAT; with the responses each one counts."""
    spec = survey.metric_spec(min_n=min_n)
    metric = spec.metric
    label = METRIC_LABELS[metric]
    if metric is Metric.CSAT:
        dsat = MetricSpec.default(
            Metric.DSAT, survey.scale, bottom_max=survey.bottom_max, min_n=min_n
        )
        return [
            (label, spec, DrillFilters(min_score=spec.thresholds.top_min)),
            ("DSAT", dsat, DrillFilters(max_score=dsat.thresholds.bottom_max)),
        ]
    if metric is Metric.DSAT:
        return [(label, spec, DrillFilters(max_score=spec.thresholds.bottom_max))]
    return [(label, spec, DrillFilters())]


def headlines(
    specs: Sequence[tuple[str, MetricSpec, DrillFilters]],
    current: Histogram,
    previous: Histogram,
) -> list[Headline]:
    return [
        Headline(
            label,
            spec,
            score(current, spec),
            score(previous, spec),
            compare(previous, current, spec),
            drill,
        )
        for label, spec, drill in specs
    ]


def distribution(histogram: Histogram, spec: MetricSpec) -> list[DistributionRow]:
    """NPS: promoters, passives, detractors; other metrics: one row per scale value."""
    n = histogram.n

    def share(count: int) -> float:
        return count / n * 100 if n else math.nan

    if spec.metric is Metric.NPS:
        top, bottom = spec.thresholds.top_min, spec.thresholds.bottom_max
        promoters = histogram.count_at_least(top)
        detractors = histogram.count_at_most(bottom)
        passives = n - promoters - detractors
        return [
            DistributionRow("Promoters", promoters, share(promoters), DrillFilters(min_score=top)),
            DistributionRow(
                "Passives",
                passives,
                share(passives),
                DrillFilters(min_score=bottom + 1, max_score=top - 1),
            ),
            DistributionRow(
                "Detractors", detractors, share(detractors), DrillFilters(max_score=bottom)
            ),
        ]
    counts = dict(histogram.counts)
    rows = []
    for value in range(spec.scale.low, spec.scale.high + 1):
        count = counts.get(value, 0)
        rows.append(
            DistributionRow(
                str(value), count, share(count), DrillFilters(min_score=value, max_score=value)
            )
        )
    return rows
