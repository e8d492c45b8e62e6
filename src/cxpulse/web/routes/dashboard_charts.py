"""The charts of a survey's dashboard, each in three forms: a Vega-Lite spec that app.js draws
interactively at the width of its column, and for pages with JavaScript off two SVG drawings
made on the server, one for desktops (inlined in the page) and one for phones (served by
``chart_images`` as an image the page links, so that only a phone pays for drawing it).

Charts are a pure function of their numbers, so built specs and drawn charts are cached per
process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from cxpulse.report import charts
from cxpulse.report import dashboard as dashboard_data

ChartName = Literal["trend", "distribution"]
CHART_NAMES: tuple[ChartName, ...] = ("trend", "distribution")


@dataclass(frozen=True)
class Chart:
    """A chart of the page: its desktop SVG drawn on the server (shown with JavaScript off),
    its Vega-Lite spec as JSON, which app.js draws interactively (tooltips, its column's
    width), and what the phone drawing needs (``narrow_svg``)."""

    svg: Markup
    """The desktop drawing (``charts.WIDTH``), with its text alternative."""
    spec: Markup
    """JSON with every ``<`` escaped, safe inside ``<script type="application/json">``."""
    description: str
    """The chart's text alternative: the phone image's ``alt``."""
    source: charts.Spec = field(repr=False, compare=False)


def _chart(spec: charts.Spec) -> Chart:
    spec_text = charts.spec_json(spec).replace("<", "\\u003c")
    # SVG made by vl-convert from our own numbers; it escapes the text it draws, and
    # charts.py escapes the description it adds.
    wide = Markup(charts.wide_svg(spec))  # noqa: S704
    return Chart(wide, Markup(spec_text), str(spec.get("description", "")), spec)  # noqa: S704


def narrow_svg(chart: Chart) -> str:
    """The phone drawing of ``chart`` (cached by spec in ``charts``)."""
    return charts.narrow_svg(chart.source)


def survey_charts(view: dashboard_data.DashboardView) -> dict[str, Chart]:
    """The charts of a survey's dashboard: its trend, and the distribution of its scores
    over the view's window: one bar per answer of the scale (NPS 0 to 10 too), named by its
    words and coloured by its band (detractors, passives, promoters; bottom, middle, top).

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
    # The table's rows name each answer as the chart does ("10 Extremely likely").
    answers = [
        (value, row.label, row.count)
        for row in view.scale_counts
        if (value := row.value) is not None
    ]
    counts = tuple(charts.ScaleCount(float(value), count) for value, _, count in answers)
    labels = tuple((value, label) for value, label, _ in answers)
    return {
        "trend": trend_chart(tuple(points), view.label, goal),
        "distribution": scale_chart(counts, labels, view.scale_bands),
    }


# Charts are a pure function of their numbers: a view seen again (a reload, a shared link,
# a colleague's visit) skips building the spec with Altair and drawing it with vl-convert.
@functools.lru_cache(maxsize=256)
def trend_chart(
    points: tuple[charts.TrendPoint, ...], label: str, goal: charts.ReferenceLine | None
) -> Chart:
    return _chart(charts.trend_spec(points, metric_label=label, goal=goal))


@functools.lru_cache(maxsize=256)
def scale_chart(
    counts: tuple[charts.ScaleCount, ...],
    labels: tuple[tuple[int, str], ...],
    bands: charts.ScaleBands,
) -> Chart:
    return _chart(charts.scale_distribution_spec(counts, labels=dict(labels), bands=bands))


def clear_chart_caches() -> None:
    """Forget every drawn chart (benchmarks use it to time drawing)."""
    for cached in (trend_chart, scale_chart):
        cached.cache_clear()
    charts.clear_cache()
