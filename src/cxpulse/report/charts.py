"""Charts of scores: Vega-Lite specs built with Altair, rendered to SVG by vl-convert.

Every chart exists in two forms from one spec:

- a Vega-Lite JSON spec (``*_spec``) for interactive pages, drawn in the browser by the
  vega-embed bundle of ``report.vega_bundle`` (a static file of this stage that the web app
  serves; no CDN);
- SVG text (``*_svg``) for reports, e-mails and pages with JavaScript off, rendered offline by
  vl-convert, which embeds Vega's own renderer.

The functions take plain dataclasses, never ORM rows, so the dashboard, the monthly report and
the CLI feed them alike. SVG rendering is cached by spec: the first call in a process pays for
starting vl-convert's JavaScript engine (a few hundred milliseconds, see ``warm_up``); later
charts render in tens of milliseconds.

About 410 lines in one module on purpose: the four charts share one visual vocabulary (axis,
colours, labels, the interval band) and the SVG cache, which splitting would scatter.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxpulse.metrics.benchmarks import BenchmarkScore

Spec = dict[str, Any]

WIDTH = 560
HEIGHT = 240
# Colours picked for contrast on white (WCAG 2.2 non-text contrast >= 3:1) and for readers
# with red-green colour blindness: blue line, orange goal, dark grey benchmark.
LINE_COLOUR = "#1f5fa8"
BAND_COLOUR = "#9cc0e8"
TOO_SMALL_COLOUR = "#6b6b6b"
GOAL_COLOUR = "#b35400"
BENCHMARK_COLOUR = "#444444"
PROMOTER_COLOUR = "#1a7f37"
PASSIVE_COLOUR = "#8c8c8c"
DETRACTOR_COLOUR = "#b42318"
BAR_COLOUR = "#1f5fa8"


@dataclass(frozen=True)
class TrendPoint:
    """One period's score: ``value`` is None when the period has no answers."""

    period: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    too_small: bool


@dataclass(frozen=True)
class ReferenceLine:
    """A horizontal line drawn across a trend: a benchmark or a goal's target."""

    value: float
    label: str


@dataclass(frozen=True)
class NpsBands:
    """How many promoters, passives and detractors answered in one period."""

    period: str
    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors


@dataclass(frozen=True)
class ScaleCount:
    """How many answers one scale value got (for a CSAT/CES distribution)."""

    value: float
    count: int


def benchmark_line(benchmark: BenchmarkScore) -> ReferenceLine:
    """The ACSI score of an industry as a reference line labelled "ACSI <industry> <year>"."""
    return ReferenceLine(value=benchmark.score, label=f"ACSI {benchmark.industry} {benchmark.year}")


def goal_line(target: float, name: str | None = None) -> ReferenceLine:
    label = f"Goal {_number(target)}" if not name else f"Goal: {name} ({_number(target)})"
    return ReferenceLine(value=target, label=label)


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def _trend_rows(points: Sequence[TrendPoint]) -> list[dict[str, Any]]:
    rows = []
    for point in points:
        if point.value is None:
            status = "no answers"
        elif point.too_small:
            status = "too few answers to read"
        else:
            status = "enough answers"
        rows.append(
            {
                "period": point.period,
                "value": point.value,
                "ci_low": point.ci_low,
                "ci_high": point.ci_high,
                "n": point.n,
                "too_small": point.too_small,
                "status": status,
                "value_text": _number(point.value),
                "interval_text": (
                    f"{_number(point.ci_low)} to {_number(point.ci_high)}"
                    if point.ci_low is not None and point.ci_high is not None
                    else "–"
                ),
                "n_text": f"n={point.n}",
            }
        )
    return rows


def trend_spec(
    points: Sequence[TrendPoint],
    *,
    metric_label: str,
    title: str | None = None,
    benchmark: ReferenceLine | None = None,
    goal: ReferenceLine | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Spec:
    """A line of the score per period over its confidence interval as a band.

    Points with too few answers are drawn hollow and grey; every point is labelled with its n
    (the label shows in SVG, the tooltip in the browser). ``benchmark`` and ``goal`` add
    labelled horizontal rules.
    """
    import altair as alt

    rows = _trend_rows(points)
    order = [row["period"] for row in rows]
    base = alt.Chart({"values": rows})
    x = alt.X("period:O", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    y_title = f"{metric_label} (95% interval as band)"
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("value_text:N", title=metric_label),
        alt.Tooltip("interval_text:N", title="Interval"),
        alt.Tooltip("n:Q", title="Answers (n)"),
        alt.Tooltip("status:N", title="Reading"),
    ]
    band = base.mark_area(color=BAND_COLOUR, opacity=0.45).encode(
        x=x,
        y=alt.Y("ci_low:Q", title=y_title, scale=alt.Scale(zero=False)),
        y2="ci_high:Q",
    )
    line = base.mark_line(color=LINE_COLOUR, strokeWidth=2).encode(x=x, y="value:Q")
    dots = (
        base.transform_filter("!datum.too_small")
        .mark_point(size=70, filled=True, color=LINE_COLOUR)
        .encode(x=x, y="value:Q", tooltip=tooltip)
    )
    # Hollow grey diamonds: visible as "different" without relying on colour alone.
    small_dots = (
        base.transform_filter("datum.too_small && datum.value != null")
        .mark_point(size=80, filled=False, strokeWidth=2, shape="diamond", color=TOO_SMALL_COLOUR)
        .encode(x=x, y="value:Q", tooltip=tooltip)
    )
    n_labels = base.mark_text(dy=-12, fontSize=10, color="#333333").encode(
        x=x, y="value:Q", text="n_text:N"
    )
    layers: list[Any] = [band, line, dots, small_dots, n_labels]
    for reference, colour, dash in (
        (benchmark, BENCHMARK_COLOUR, [2, 2]),
        (goal, GOAL_COLOUR, [6, 3]),
    ):
        if reference is None:
            continue
        ref = alt.Chart({"values": [{"value": reference.value, "label": reference.label}]})
        layers.append(
            ref.mark_rule(color=colour, strokeDash=dash, strokeWidth=1.5).encode(y="value:Q")
        )
        layers.append(
            ref.mark_text(align="left", dx=4, dy=-6, fontSize=11, color=colour).encode(
                y="value:Q", x=alt.value(0), text="label:N"
            )
        )
    description = _trend_description(points, metric_label, benchmark, goal)
    chart = alt.layer(*layers).properties(
        width=width, height=height, description=description, title=title or ""
    )
    return _to_dict(chart)


def _trend_description(
    points: Sequence[TrendPoint],
    metric_label: str,
    benchmark: ReferenceLine | None,
    goal: ReferenceLine | None,
) -> str:
    parts = [
        f"{p.period}: {_number(p.value)} (n={p.n}{', too few answers' if p.too_small else ''})"
        for p in points
    ]
    text = f"{metric_label} per period. " + "; ".join(parts) + "."
    if benchmark is not None:
        text += f" {benchmark.label}: {_number(benchmark.value)}."
    if goal is not None:
        text += f" {goal.label}."
    return text


def nps_distribution_spec(
    bands: Sequence[NpsBands],
    *,
    title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Spec:
    """Stacked shares of promoters, passives and detractors per period (each bar is 100%)."""
    import altair as alt

    groups = (
        ("Detractors", "detractors", DETRACTOR_COLOUR, 0),
        ("Passives", "passives", PASSIVE_COLOUR, 1),
        ("Promoters", "promoters", PROMOTER_COLOUR, 2),
    )
    rows = []
    for band in bands:
        for label, attribute, _colour, position in groups:
            count = int(getattr(band, attribute))
            share = 100.0 * count / band.n if band.n else 0.0
            rows.append(
                {
                    "period": band.period,
                    "group": label,
                    "position": position,
                    "count": count,
                    "share": share,
                    "share_text": f"{share:.0f}%" if share >= 8 else "",
                    "n": band.n,
                }
            )
    order = [band.period for band in bands]
    base = alt.Chart({"values": rows})
    x = alt.X("period:O", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    colour = alt.Color(
        "group:N",
        scale=alt.Scale(domain=[g[0] for g in groups], range=[g[2] for g in groups]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    bars = base.mark_bar().encode(
        x=x,
        y=alt.Y(
            "share:Q", stack="zero", title="Share of answers (%)", scale=alt.Scale(domain=[0, 100])
        ),
        color=colour,
        order=alt.Order("position:Q"),
        tooltip=[
            alt.Tooltip("period:N", title="Period"),
            alt.Tooltip("group:N", title="Group"),
            alt.Tooltip("count:Q", title="Answers"),
            alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
            alt.Tooltip("n:Q", title="All answers (n)"),
        ],
    )
    labels = base.mark_text(color="white", fontSize=10, baseline="middle").encode(
        x=x,
        y=alt.Y("share:Q", stack="zero", bandPosition=0.5),
        order=alt.Order("position:Q"),
        text="share_text:N",
        detail="group:N",
    )
    description = "Promoters, passives and detractors per period. " + "; ".join(
        f"{b.period}: {b.promoters} promoters, {b.passives} passives, {b.detractors} detractors"
        for b in bands
    )
    chart = alt.layer(bars, labels).properties(
        width=width, height=height, description=description, title=title or ""
    )
    return _to_dict(chart)


def scale_distribution_spec(
    counts: Sequence[ScaleCount],
    *,
    title: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Spec:
    """Bars of answers per scale value (CSAT 1-5, CES 1-7, ...), labelled with the count."""
    import altair as alt

    total = sum(c.count for c in counts)
    rows = [
        {
            "value": _scale_label(c.value),
            "count": c.count,
            "share": 100.0 * c.count / total if total else 0.0,
        }
        for c in counts
    ]
    base = alt.Chart({"values": rows})
    order = [_scale_label(c.value) for c in counts]
    x = alt.X("value:O", sort=order, title="Answer", axis=alt.Axis(labelAngle=0))
    bars = base.mark_bar(color=BAR_COLOUR).encode(
        x=x,
        y=alt.Y("count:Q", title="Answers"),
        tooltip=[
            alt.Tooltip("value:N", title="Answer"),
            alt.Tooltip("count:Q", title="Answers"),
            alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
        ],
    )
    labels = base.mark_text(dy=-6, fontSize=11, color="#222222").encode(
        x=x, y="count:Q", text="count:Q"
    )
    description = f"Answers per scale value (n={total}). " + "; ".join(
        f"{row['value']}: {row['count']}" for row in rows
    )
    chart = alt.layer(bars, labels).properties(
        width=width, height=height, description=description, title=title or ""
    )
    return _to_dict(chart)


def _scale_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _to_dict(chart: Any) -> Spec:
    # Altair validates against the full Vega-Lite JSON schema on every to_dict, which costs
    # tens of milliseconds per chart; our specs are built from fixed code paths and the
    # tests validate them once, so dashboards skip that cost.
    spec: Spec = chart.to_dict(validate=False)
    return spec


def validate(spec: Spec) -> None:
    """Check one of our (layered) specs against the Vega-Lite schema Altair ships."""
    import altair as alt

    alt.LayerChart.from_dict(spec, validate=True)


def spec_json(spec: Spec) -> str:
    """The spec as compact JSON, safe to place inside an HTML ``<script>`` element."""
    text = json.dumps(spec, separators=(",", ":"), ensure_ascii=False)
    # "</" would close the script element early; JSON allows the escaped form.
    return text.replace("</", "<\\/")


def to_svg(spec: Spec) -> str:
    """Render a Vega-Lite spec to standalone SVG text, offline (cached by spec)."""
    return _render_svg(json.dumps(spec, sort_keys=True, separators=(",", ":")))


@lru_cache(maxsize=256)
def _render_svg(spec_text: str) -> str:
    import vl_convert

    spec = json.loads(spec_text)
    svg: str = vl_convert.vegalite_to_svg(spec)
    return _accessible(svg, str(spec.get("description", "")))


def clear_cache() -> None:
    """Forget every SVG drawn so far (benchmarks use it to time drawing)."""
    _render_svg.cache_clear()


def _accessible(svg: str, description: str) -> str:
    """Give the SVG an image role and a text alternative for screen readers."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    if start < 0 or end < 0:
        raise ValueError("vl-convert returned no <svg> element")
    title = f"<title>{html.escape(description)}</title>" if description else ""
    label = f' role="img" aria-label="{html.escape(description, quote=True)}"'
    return svg[:end] + label + svg[end : end + 1] + title + svg[end + 1 :]


def trend_svg(points: Sequence[TrendPoint], **options: Any) -> str:
    return to_svg(trend_spec(points, **options))


def nps_distribution_svg(bands: Sequence[NpsBands], **options: Any) -> str:
    return to_svg(nps_distribution_spec(bands, **options))


def scale_distribution_svg(counts: Sequence[ScaleCount], **options: Any) -> str:
    return to_svg(scale_distribution_spec(counts, **options))


def warm_up() -> None:
    """Start vl-convert's JavaScript engine now (call at app start, e.g. in a thread).

    The first render in a process costs ~0.4 s on a small machine; later ones ~25 ms.
    """
    to_svg(scale_distribution_spec([ScaleCount(1, 1)]))
