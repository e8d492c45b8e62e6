"""The charts of a survey's dashboard, each drawn twice: as SVG on the server (shown with
JavaScript off, in a desktop and a phone size) and as a Vega-Lite spec that app.js draws
interactively at the width of its column.

Charts are a pure function of their numbers, so drawn charts are cached per process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from markupsafe import Markup

from cxpulse.metrics import Metric, MetricSpec
from cxpulse.report import charts
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report.scale_labels import scale_bands, scale_labels


@dataclass(frozen=True)
class Chart:
    """A chart twice: SVG drawn on the server (shown with JavaScript off) and its Vega-Lite
    spec as JSON, which app.js draws interactively (tooltips, its column's width)."""

    svg: Markup
    spec: Markup
    """JSON with every ``<`` escaped, safe inside ``<script type="application/json">``."""


def _chart(spec: charts.Spec) -> Chart:
    spec_text = charts.spec_json(spec).replace("<", "\\u003c")
    # SVG made by vl-convert from our own numbers; it escapes the text it draws, and
    # charts.py escapes the description it adds.
    return Chart(Markup(charts.responsive_svg(spec)), Markup(spec_text))  # noqa: S704


def _own_spec(view: dashboard_data.DashboardView) -> MetricSpec:
    """The survey's metric spec (scale and bands), from its own headline."""
    for headline in view.headlines:
        if headline.spec.metric is view.metric:
            return headline.spec
    return MetricSpec.default(view.metric)


def survey_charts(view: dashboard_data.DashboardView) -> dict[str, Chart]:
    """The charts of a survey's dashboard: its trend, and the distribution of its scores.

    No benchmark line: the ACSI is an index on its own scale, not a CSAT percentage, so it is
    shown as text beside the CSAT headline instead of as a line on the chart.
    """
    points = [
        charts.TrendPoint(
            period=b.label,
            value=None if b.result.n == 0 else b.result.value,
            ci_low=None if b.result.n == 0 or math.isnan(b.result.ci_low) else b.result.ci_low,
            ci_high=None if b.result.n == 0 or math.isnan(b.result.ci_high) else b.result.ci_high,
            n=b.result.n,
            too_small=b.result.too_small,
        )
        for b in view.trend
    ]
    goal = None
    if view.goal_line is not None:
        goal = charts.goal_line(view.goal_line.goal.target, view.goal_line.goal.name)
    out = {"trend": trend_chart(tuple(points), view.label, goal)}
    if view.metric is Metric.NPS:
        bands = tuple(charts.NpsBands(label, *counts) for label, counts in view.bands.items())
        out["distribution"] = nps_chart(bands)
    else:
        spec = _own_spec(view)
        counts = tuple(charts.ScaleCount(float(row.label), row.count) for row in view.distribution)
        labels = tuple(sorted(scale_labels(spec).items()))
        out["distribution"] = scale_chart(counts, labels, scale_bands(spec))
    return out


# Charts are a pure function of their numbers: a view seen again (a reload, a shared link,
# a colleague's visit) skips building the spec with Altair and drawing it with vl-convert.
@functools.lru_cache(maxsize=256)
def trend_chart(
    points: tuple[charts.TrendPoint, ...], label: str, goal: charts.ReferenceLine | None
) -> Chart:
    return _chart(charts.trend_spec(points, metric_label=label, goal=goal))


@functools.lru_cache(maxsize=256)
def nps_chart(bands: tuple[charts.NpsBands, ...]) -> Chart:
    return _chart(charts.nps_distribution_spec(bands))


@functools.lru_cache(maxsize=256)
def scale_chart(
    counts: tuple[charts.ScaleCount, ...],
    labels: tuple[tuple[int, str], ...],
    bands: charts.ScaleBands,
) -> Chart:
    return _chart(charts.scale_distribution_spec(counts, labels=dict(labels), bands=bands))


def clear_chart_caches() -> None:
    """Forget every drawn chart (benchmarks use it to time drawing)."""
    for cached in (trend_chart, nps_chart, scale_chart):
        cached.cache_clear()
    charts.clear_cache()
