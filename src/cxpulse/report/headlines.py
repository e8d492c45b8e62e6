"""The headline numbers of a dashboard view (its metric, and DSAT beside CSAT, against the
period before) and the distribution of its answers; each carries the drill-down filters of
the responses it counts, so that every number links to them.

``Headline.verdict`` is the one wording of a change, shared by the overview and each survey's
dashboard: a significant change says its direction and size ("up 6.2 points, significant"),
one that is not says "no significant change", and when either period holds fewer answers
than ``min_n`` it says "too few answers to compare (12 before, 40 now)" instead of a number.
``Headline.tone`` says how to colour it (better, worse, quiet, too-few). ``shown_value``
and ``scale_note`` put each metric in its units: "83.4%", "+23.2 (−100 to 100)",
"5.1 of 7 (higher is easier)".

``answer_groups`` gives the distribution a person reads: every answer of the scale with its
words ("0 Not at all likely") under its band ("Detractors 0–6") with the band's total, the
highest band first, as the chart draws them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cxpulse.metrics import Comparison, Histogram, Metric, MetricResult, MetricSpec, compare, score
from cxpulse.report.charts import ScaleBands, band_of
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
CHANGE_UNITS = {
    Metric.CSAT: " points",
    Metric.DSAT: " points",
    Metric.NPS: " points",
    Metric.CES: "",
    Metric.MEAN: "",
}
"""What a change is counted in: percentage points for shares and NPS, the answer scale for
means (where "points" would read as scale points and mislead)."""
LOWER_IS_BETTER = frozenset({Metric.DSAT})
"""A rise in DSAT (more dissatisfied answers) is bad news; every other metric is better
higher (CES as cxpulse asks it: agreement that it was easy)."""
MINUS = "\u2212"
"""The minus sign, which reads better than a hyphen beside numbers."""

Tone = Literal["better", "worse", "quiet", "too-few", "empty"]


def _digits(metric: Metric) -> int:
    return 2 if metric in (Metric.CES, Metric.MEAN) else 1


def _plain(value: float, digits: int) -> str:
    return f"{abs(value):.{digits}f}"


def signed_text(value: float, digits: int = 1) -> str:
    """``-3.25`` -> ``−3.3`` with a true minus sign, ``2`` -> ``+2.0``; a dash for NaN."""
    if math.isnan(value):
        return "–"
    text = _plain(value, digits)
    if float(text) == 0:
        return text
    return (MINUS if value < 0 else "+") + text


def interval_name(level: float) -> str:
    """ "95% interval": how the text names an interval of confidence ``level`` (0.95)."""
    return f"{round(level * 100)}% interval"


def shown_value(result: MetricResult, spec: MetricSpec) -> str:
    """A score in its units: "83.4%" (CSAT, DSAT), "+23.2" (NPS), "5.1 of 7" (CES, mean);
    a dash without answers."""
    return value_with_unit(result, spec.metric, spec.scale.high)


def value_with_unit(result: MetricResult, metric: Metric, scale_high: int | None) -> str:
    """``shown_value`` where only the metric and the top of the scale are known (the monthly
    report): the one way every page and report writes a score; without ``scale_high`` a CES
    or mean is the bare number."""
    if result.n == 0 or math.isnan(result.value):
        return "–"
    if metric in (Metric.CSAT, Metric.DSAT):
        return f"{result.value:.1f}%"
    if metric is Metric.NPS:
        return signed_text(result.value)
    if not scale_high:
        return f"{result.value:.1f}"
    return f"{result.value:.1f} of {scale_high}"


def scale_note(spec: MetricSpec) -> str:
    """What the number means, in a few words beside it."""
    metric, scale = spec.metric, spec.scale
    if metric is Metric.NPS:
        return f"from {MINUS}100 to 100"
    if metric is Metric.CES:
        return "higher is easier"
    top, bottom = spec.thresholds.top_min, spec.thresholds.bottom_max
    if metric is Metric.CSAT:
        return f"answers of {_score(top)} or more of {scale.high}"
    if metric is Metric.DSAT:
        return f"answers of {_score(bottom)} or less of {scale.high}"
    return f"mean on {scale.low} to {scale.high}"


def _score(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


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
    def comparable(self) -> bool:
        """Both periods hold at least ``min_n`` answers: the change is worth reading."""
        return min(self.current.n, self.previous.n) >= self.spec.min_n

    @property
    def tone(self) -> Tone:
        """How the change is coloured: a significant change is better or worse news (a rise
        in DSAT is worse), anything else quiet; too few answers or none say so instead."""
        if self.current.n == 0 and self.previous.n == 0:
            return "empty"
        if not self.comparable:
            return "too-few"
        if not self.change.significant:
            return "quiet"
        rose = self.change.difference > 0
        good = rose != (self.spec.metric in LOWER_IS_BETTER)
        return "better" if good else "worse"

    @property
    def verdict(self) -> str:
        """The change in words: "up 6.2 points, significant", "no significant change" or
        "too few answers to compare (12 before, 40 now)"."""
        tone = self.tone
        if tone == "empty":
            return "no answers in either period"
        if tone == "too-few":
            return f"too few answers to compare ({self.previous.n} before, {self.current.n} now)"
        if tone == "quiet":
            return "no significant change"
        return f"{self.direction} {self.change_size}, significant"

    @property
    def direction(self) -> str:
        difference = self.change.difference
        return "up" if difference > 0 else "down" if difference < 0 else "unchanged"

    @property
    def change_size(self) -> str:
        """The size of the change in its units, without sign: "6.2 points", "0.25"."""
        metric = self.spec.metric
        return _plain(self.change.difference, _digits(metric)) + CHANGE_UNITS[metric]

    @property
    def change_text(self) -> str:
        """The change with its sign and its interval: "+6.2 (95% interval +1.0 to +11.4)"."""
        digits = _digits(self.spec.metric)
        low, high = (signed_text(end, digits) for end in (self.change.ci_low, self.change.ci_high))
        difference = signed_text(self.change.difference, digits)
        return f"{difference} ({interval_name(self.change.level)} {low} to {high})"

    @property
    def value_text(self) -> str:
        return shown_value(self.current, self.spec)

    @property
    def previous_text(self) -> str:
        return shown_value(self.previous, self.spec)

    @property
    def note(self) -> str:
        return scale_note(self.spec)


@dataclass(frozen=True)
class DistributionRow:
    label: str
    count: int
    share: float
    """0..100; NaN without answers."""
    drill: DrillFilters
    value: int | None = None
    """The scale value of one answer's row; None for a group (promoters, a band)."""
    band: str = ""
    """The band an answer falls in ("Promoters 9–10"); empty for a group."""


@dataclass(frozen=True)
class AnswerGroup:
    """One band of the scale: its total and its answers, the highest first."""

    total: DistributionRow
    rows: list[DistributionRow]


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


def answer_rows(
    histogram: Histogram, spec: MetricSpec, labels: Mapping[int, str], bands: ScaleBands
) -> list[DistributionRow]:
    """One row per scale value, lowest first, named by its words (``labels``, "5 Very
    satisfied") and its band; each links to the answers of exactly that value."""
    n = histogram.n
    counts = dict(histogram.counts)
    rows = []
    for value in range(spec.scale.low, spec.scale.high + 1):
        count = counts.get(value, 0)
        rows.append(
            DistributionRow(
                labels.get(value, str(value)),
                count,
                count / n * 100 if n else math.nan,
                DrillFilters(min_score=value, max_score=value),
                value=value,
                band=band_of(value, bands),
            )
        )
    return rows


def answer_groups(rows: Sequence[DistributionRow], bands: ScaleBands) -> list[AnswerGroup]:
    """The rows of ``answer_rows`` under their bands, the top band first and the highest
    answer first in each (as the chart draws them); each band with its total, which links to
    its answers (for NPS the promoters, passives and detractors). A band without any value of
    the scale (the middle of a 1-3 scale whose thresholds touch) is left out."""
    groups = []
    for name in reversed(bands.names):
        members = sorted((r for r in rows if r.band == name), key=lambda r: -(r.value or 0))
        if not members:
            continue
        count = sum(r.count for r in members)
        shares = [r.share for r in members]
        share = math.nan if any(math.isnan(x) for x in shares) else math.fsum(shares)
        low, high = members[-1].value, members[0].value
        total = DistributionRow(name, count, share, DrillFilters(min_score=low, max_score=high))
        groups.append(AnswerGroup(total, members))
    return groups
