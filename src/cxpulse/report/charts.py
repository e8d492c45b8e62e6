"""Charts of scores: Vega-Lite specs built with Altair, rendered to SVG by vl-convert.

Every chart exists in two forms from one spec builder:

- a Vega-Lite JSON spec (``*_spec``, ``width="container"``) for interactive pages, drawn in
  the browser at the width of its column by the vega-embed bundle of ``report.vega_bundle``
  (a static file of this stage that the web app serves; no CDN);
- SVG text (``*_svg``, ``responsive_svg``) for reports, e-mails and pages with JavaScript
  off, rendered offline by vl-convert, which embeds Vega's own renderer. One spec gives both
  drawings (``at_width``): ``wide_svg`` at ``WIDTH`` for desktops and print, ``narrow_svg``
  at ``NARROW_WIDTH`` for phones, so that a style rule shows the one that fits and its text
  stays at least 12 px when scaled to its box. The monthly report inlines both
  (``responsive_svg``); the dashboard inlines the wide one and links the narrow one as an
  image that only a phone fetches (``web/routes/chart_images.py``).

Readability rules shared by every chart: text at ``FONT_SIZE`` px; the time axis thinned to
calendar boundaries and written short (``report.period_axis``); n in tooltips and tables,
and as a label on the points only when they are few (``MAX_LABELLED_POINTS``) and wide
enough apart; colours that readers with red-green colour blindness tell apart (blue, grey,
orange) and that hold white text at WCAG AA contrast.

The functions take plain dataclasses, never ORM rows, so the dashboard, the monthly report and
the CLI feed them alike. SVG rendering is cached by spec: the first call in a process pays for
starting vl-convert's JavaScript engine (a few hundred milliseconds, see ``warm_up``); later
charts render in tens of milliseconds.

About 620 lines in one module on purpose: the three charts share one visual vocabulary
(fonts, axis, colours, labels, the interval band) and the SVG cache, which splitting would
scatter; the time axis lives in ``period_axis``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from cxpulse.report import period_axis

Spec = dict[str, Any]
Width = int | Literal["container"]

WIDTH = 720
"""Width of the server's SVG for desktops, reports and print, axes and legend included."""
NARROW_WIDTH = 350
"""Width of the server's SVG for phones, axes included: shown near 1:1 in a 390 px screen."""
AXES_WIDTH = 80
"""About what the y axis and its title take of a chart's width, leaving the plot the rest."""
HEIGHT = 240
FONT_SIZE = 13
"""Every text of a chart, in px: at least 12 px on desktop and phone."""
MAX_LABELLED_POINTS = 13
"""More points than this (a year of months and the current one) get their n in tooltips and
the table only, never on the chart."""
MIN_LABEL_SPACING = 44
"""Pixels between points needed to print "n=123" above each without overlap."""

# Colours checked for contrast on white (WCAG 2.2 non-text contrast >= 3:1, white text on the
# band colours >= 4.5:1, see tests) and for readers with red-green colour blindness: the good
# end blue, the bad end orange, the middle grey.
LINE_COLOUR = "#1f5fa8"
BAND_COLOUR = "#9cc0e8"
TOO_SMALL_COLOUR = "#5f5f5f"
GOAL_COLOUR = "#a34d00"
TEXT_COLOUR = "#1b1b1b"
BOTTOM_COLOUR = "#b34700"
MIDDLE_COLOUR = "#6e6e6e"
TOP_COLOUR = "#1f5fa8"
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
    """A horizontal line drawn across a trend: a goal's target."""

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
    """How many answers one scale value got (for a distribution)."""

    value: float
    count: int


@dataclass(frozen=True)
class ScaleBands:
    """The survey's bands of its scale: answers up to ``bottom_max`` are the bottom box
    (detractors, dissatisfied), from ``top_min`` the top box; ``names`` bottom, middle, top."""

    bottom_max: float
    top_min: float
    names: tuple[str, str, str]


def goal_line(target: float, name: str | None = None) -> ReferenceLine:
    label = f"Goal {_number(target)}" if not name else f"Goal: {name} ({_number(target)})"
    return ReferenceLine(value=target, label=label)


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}"


def _plot_width(width: Width) -> int:
    return (WIDTH if width == "container" else width) - AXES_WIDTH


_CONFIG: dict[str, dict[str, Any]] = {
    "axis": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "titleFontWeight": "normal",
        "labelColor": TEXT_COLOUR,
        "titleColor": TEXT_COLOUR,
    },
    "legend": {
        "labelFontSize": FONT_SIZE,
        "titleFontSize": FONT_SIZE,
        "labelColor": TEXT_COLOUR,
        "labelLimit": 0,
    },
    "title": {"fontSize": FONT_SIZE + 2, "anchor": "start"},
    "text": {"fontSize": FONT_SIZE},
    "view": {"stroke": None},
}
"""Fonts and colours of every chart, as Altair's ``configure_*`` would write them."""


def _finish(chart: Any, width: Width, description: str, title: str | None) -> Spec:
    """Size, fonts and the text alternative every chart shares."""
    # The width is the whole chart's, axes and legend included ("fit-x"): in the browser its
    # column's, on the server WIDTH or NARROW_WIDTH.
    chart = chart.properties(
        width=width,
        description=description,
        title=title or "",
        autosize={"type": "fit-x", "contains": "padding"},
    )
    spec = _to_dict(chart)
    # Vega's default font, "sans-serif": vl-convert measures text with the same font the
    # browser here draws it with, and elsewhere it maps to narrower fonts (Helvetica, Arial),
    # so right-aligned axis labels never run out of the drawing.
    # The configuration is merged into the dict rather than set with Altair's configure_*
    # methods: each of those copies the whole chart, data included, which was about half of
    # building a spec (tens of milliseconds per chart on a page nobody has seen before).
    config: dict[str, Any] = spec.setdefault("config", {})
    for key, values in _CONFIG.items():
        config[key] = {**config.get(key, {}), **values}
    return spec


def _period_x(order: Sequence[str], width: Width) -> Any:
    """The x encoding of a chart over periods: ticks thinned to calendar boundaries that fit
    the width, written short; on a narrow screen Vega drops what still overlaps."""
    import altair as alt

    ticks = period_axis.tick_values(order, _plot_width(width))
    axis = alt.Axis(
        values=ticks,
        labelExpr=period_axis.label_expression(ticks),
        labelAngle=0,
        labelOverlap="greedy",
        labelSeparation=6,
        labelFlush=True,
        labelPadding=4,
        grid=False,
    )
    return alt.X("period:O", sort=list(order), title=None, axis=axis)


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


def show_n_labels(count: int) -> str | None:
    """When the points carry "n=..." labels: only when few (else n is in the tooltips and
    the table), and only while each has room, a Vega expression on the drawn width (known
    in the browser only when drawn)."""
    if count == 0 or count > MAX_LABELLED_POINTS:
        return None
    return f"width / {count} >= {MIN_LABEL_SPACING}"


MANY_POINTS = 60
"""More points than this (a year of days) are drawn as a line without dots: the dots stay,
invisible, to carry the tooltips."""


def _point_size(count: int) -> int:
    # Dots shrink as points crowd, so a year of weeks stays readable.
    return 64 if count <= 24 else 30


def trend_spec(
    points: Sequence[TrendPoint],
    *,
    metric_label: str,
    title: str | None = None,
    goal: ReferenceLine | None = None,
    width: Width = "container",
    height: int = HEIGHT,
) -> Spec:
    """A line of the score per period over its confidence interval as a band.

    Points with too few answers are drawn hollow and grey. n is in every tooltip and, when
    the points are few and far enough apart, above each point. ``goal`` adds a dashed rule
    labelled at its right end, over a white halo so that it stays legible over the line.
    """
    import altair as alt

    # Encodings are channel objects (alt.Y("value:Q")), never shorthand strings or
    # alt.value dicts, here and in every chart: Altair turns each of those into an object
    # through a schema lookup that costs milliseconds, which made most of building a spec.
    rows = _trend_rows(points)
    order = [row["period"] for row in rows]
    base = alt.Chart({"values": rows})
    x = _period_x(order, width)
    tooltip = [
        alt.Tooltip("period:N", title="Period"),
        alt.Tooltip("value_text:N", title=metric_label),
        alt.Tooltip("interval_text:N", title="95% interval"),
        alt.Tooltip("n:Q", title="Answers (n)"),
        alt.Tooltip("status:N", title="Reading"),
    ]
    y_axis = alt.Axis(tickCount=5, labelOverlap=True, title=metric_label)
    band = base.mark_area(color=BAND_COLOUR, opacity=0.45).encode(
        x=x,
        y=alt.Y("ci_low:Q", axis=y_axis, scale=alt.Scale(zero=False)),
        y2=alt.Y2("ci_high:Q"),
        tooltip=tooltip,
    )
    many = len(rows) > MANY_POINTS
    line = base.mark_line(color=LINE_COLOUR, strokeWidth=1.25 if many else 2).encode(
        x=x, y=alt.Y("value:Q")
    )
    size = _point_size(len(rows))
    dots = (
        base.transform_filter("!datum.too_small")
        .mark_point(size=size, filled=True, color=LINE_COLOUR, opacity=0 if many else 1)
        .encode(x=x, y=alt.Y("value:Q"), tooltip=tooltip)
    )
    # Hollow grey diamonds: visible as "different" without relying on colour alone.
    small_dots = (
        base.transform_filter("datum.too_small && datum.value != null")
        .mark_point(
            size=size + 16,
            filled=False,
            strokeWidth=2,
            shape="diamond",
            color=TOO_SMALL_COLOUR,
            opacity=0 if many else 1,
        )
        .encode(x=x, y=alt.Y("value:Q"), tooltip=tooltip)
    )
    layers: list[Any] = [band, line, dots, small_dots]
    labelled = show_n_labels(len(rows))
    if labelled:
        layers.append(
            base.transform_filter("datum.value != null")
            .mark_text(dy=-12, color=TEXT_COLOUR, opacity={"expr": f"{labelled} ? 1 : 0"})
            .encode(x=x, y=alt.Y("value:Q"), text=alt.Text("n_text:N"))
        )
    if goal is not None:
        ref = alt.Chart({"values": [{"value": goal.value, "label": goal.label}]})
        layers.append(
            ref.mark_rule(color=GOAL_COLOUR, strokeDash=[6, 3], strokeWidth=2).encode(
                y=alt.Y("value:Q")
            )
        )
        label: dict[str, Any] = {"align": "right", "dy": -8, "fontWeight": "bold"}
        # The label's right end at the plot's right edge. Altair leaves this constructor
        # unannotated.
        right_edge = alt.XValue("width")  # type: ignore[no-untyped-call]
        layers.append(
            ref.mark_text(**label, stroke="white", strokeWidth=4, strokeJoin="round").encode(
                y=alt.Y("value:Q"), x=right_edge, text=alt.Text("label:N")
            )
        )
        layers.append(
            ref.mark_text(**label, color=GOAL_COLOUR).encode(
                y=alt.Y("value:Q"), x=right_edge, text=alt.Text("label:N")
            )
        )
    description = _trend_description(points, metric_label, goal)
    chart = alt.layer(*layers).properties(height=height)
    return _finish(chart, width, description, title)


def _trend_description(
    points: Sequence[TrendPoint], metric_label: str, goal: ReferenceLine | None
) -> str:
    parts = [
        f"{p.period}: {_number(p.value)} (n={p.n}{', too few answers' if p.too_small else ''})"
        for p in points
    ]
    text = f"{metric_label} per period. " + "; ".join(parts) + "."
    if goal is not None:
        text += f" {goal.label}."
    return text


NPS_GROUPS = (
    ("Detractors", "detractors", BOTTOM_COLOUR, 0),
    ("Passives", "passives", MIDDLE_COLOUR, 1),
    ("Promoters", "promoters", TOP_COLOUR, 2),
)


def nps_distribution_spec(
    bands: Sequence[NpsBands],
    *,
    title: str | None = None,
    width: Width = "container",
    height: int = HEIGHT,
) -> Spec:
    """Stacked shares of promoters, passives and detractors per period (each bar is 100%);
    shares are printed on the bars only when the bars are few and wide."""
    import altair as alt

    rows = []
    for band in bands:
        for label, attribute, _colour, position in NPS_GROUPS:
            count = int(getattr(band, attribute))
            share = 100.0 * count / band.n if band.n else 0.0
            rows.append(
                {
                    "period": band.period,
                    "group": label,
                    "position": position,
                    "count": count,
                    "share": share,
                    "share_text": f"{share:.0f}%" if share >= 10 else "",
                    "n": band.n,
                }
            )
    order = [band.period for band in bands]
    base = alt.Chart({"values": rows})
    x = _period_x(order, width)
    colour = alt.Color(
        "group:N",
        scale=alt.Scale(domain=[g[0] for g in NPS_GROUPS], range=[g[2] for g in NPS_GROUPS]),
        legend=alt.Legend(title=None, orient="bottom", direction="horizontal"),
    )
    bars = base.mark_bar().encode(
        x=x,
        y=alt.Y(
            "share:Q",
            stack="zero",
            title="Share of answers (%)",
            scale=alt.Scale(domain=[0, 100]),
            axis=alt.Axis(tickCount=5),
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
    layers: list[Any] = [bars]
    labelled = show_n_labels(len(bands))
    if labelled:
        layers.append(
            base.mark_text(
                color="white", baseline="middle", opacity={"expr": f"{labelled} ? 1 : 0"}
            ).encode(
                x=x,
                y=alt.Y("share:Q", stack="zero", bandPosition=0.5),
                order=alt.Order("position:Q"),
                text=alt.Text("share_text:N"),
                detail=alt.Detail("group:N"),
            )
        )
    description = "Promoters, passives and detractors per period. " + "; ".join(
        f"{b.period}: {b.promoters} promoters, {b.passives} passives, {b.detractors} detractors"
        f" (n={b.n})"
        for b in bands
    )
    chart = alt.layer(*layers).properties(height=height)
    return _finish(chart, width, description, title)


LABEL_LINE_CHARACTERS = 20
"""Scale labels longer than this wrap onto a second line beside their bar."""


def _wrap(text: str, limit: int = LABEL_LINE_CHARACTERS) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [text]


def band_of(value: float, bands: ScaleBands) -> str:
    if value <= bands.bottom_max:
        return bands.names[0]
    if value >= bands.top_min:
        return bands.names[2]
    return bands.names[1]


def scale_distribution_spec(
    counts: Sequence[ScaleCount],
    *,
    labels: Mapping[int, str] | None = None,
    bands: ScaleBands | None = None,
    title: str | None = None,
    width: Width = "container",
) -> Spec:
    """Horizontal bars of answers per scale value, the highest value on top, each named by its
    meaning ("5 Very satisfied"), coloured by the survey's band (bottom box, middle, top box)
    with a legend, and labelled with its count and share."""
    import altair as alt

    total = sum(c.count for c in counts)
    names = labels or {}
    rows: list[dict[str, Any]] = []
    for c in counts:
        key = _scale_key(c.value)
        share = 100.0 * c.count / total if total else 0.0
        rows.append(
            {
                "value": c.value,
                "label": names.get(int(c.value), key) if float(c.value).is_integer() else key,
                "count": c.count,
                "share": share,
                "count_text": f"{c.count} ({share:.0f}%)",
                "band": band_of(c.value, bands) if bands else "Answers",
            }
        )
    order = sorted(rows, key=lambda row: -row["value"])
    wrapped = {row["label"]: _wrap(row["label"]) for row in rows}
    step = 38 if any(len(lines) > 1 for lines in wrapped.values()) else 28
    expression = "datum.value"
    for label, lines in wrapped.items():
        text = "[" + ", ".join(json.dumps(line) for line in lines) + "]"
        expression = f"datum.value === {json.dumps(label)} ? {text} : ({expression})"
    y = alt.Y(
        "label:N",
        sort=[row["label"] for row in order],
        title=None,
        axis=alt.Axis(labelExpr=expression, labelLimit=0, ticks=False, labelPadding=6),
    )
    most = max((c.count for c in counts), default=0)
    x = alt.X(
        "count:Q",
        title="Answers",
        # Room to the right of the longest bar for its "count (share)" label, also on a
        # phone, where the bars have about 210 px.
        scale=alt.Scale(domain=[0, max(1, most) * 1.55], nice=False),
        axis=alt.Axis(tickCount=4, labelOverlap=True, format="d"),
    )
    if bands is not None:
        present = [name for name in bands.names if name in {row["band"] for row in rows}]
        colours = dict(zip(bands.names, (BOTTOM_COLOUR, MIDDLE_COLOUR, TOP_COLOUR), strict=True))
        colour: Any = alt.Color(
            "band:N",
            scale=alt.Scale(domain=present, range=[colours[name] for name in present]),
            # Stacked: a row of three names would run past a phone's edge, as the legend
            # starts where the bars start, right of the answers' names.
            legend=alt.Legend(title=None, orient="bottom", direction="vertical"),
        )
    else:
        colour = alt.ColorValue(BAR_COLOUR)
    base = alt.Chart({"values": rows})
    bars = base.mark_bar().encode(
        x=x,
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip("label:N", title="Answer"),
            alt.Tooltip("band:N", title="Band"),
            alt.Tooltip("count:Q", title="Answers"),
            alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
        ],
    )
    text = base.mark_text(align="left", dx=4, color=TEXT_COLOUR).encode(
        x=alt.X("count:Q"), y=y, text=alt.Text("count_text:N")
    )
    description = f"Answers per scale value (n={total}). " + "; ".join(
        f"{row['label']}: {row['count']}" + (f" ({row['band']})" if bands else "") for row in rows
    )
    chart = alt.layer(bars, text).properties(height={"step": step})
    return _finish(chart, width, description, title)


def _scale_key(value: float) -> str:
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


def at_width(spec: Spec, width: int) -> Spec:
    """The same chart drawn at a fixed width (for SVG): a "container" width means nothing
    outside a page. Axis labels that no longer fit are dropped by Vega's ``labelOverlap``
    and crowded n labels hide themselves (their opacity reads the plot's width)."""
    fixed = dict(spec)
    fixed["width"] = width
    return fixed


def wide_svg(spec: Spec) -> str:
    """The chart drawn for desktops and print (``WIDTH``)."""
    return to_svg(at_width(spec, WIDTH))


def narrow_svg(spec: Spec) -> str:
    """The chart drawn for phones (``NARROW_WIDTH``): near 1:1 in a 390 px screen, so its
    13 px text stays about 13 px."""
    return to_svg(at_width(spec, NARROW_WIDTH))


def responsive_svg(spec: Spec) -> str:
    """The chart drawn for desktop and print and for phone, in two boxes (``chart-wide``,
    ``chart-narrow``) of which a style rule shows one: a single drawing scaled to a phone
    would shrink its 13 px text to about 6 px. For self-contained documents (the monthly
    report, its e-mail and PDF), which can fetch nothing."""
    return (
        f'<div class="chart-wide">{wide_svg(spec)}</div>'
        f'<div class="chart-narrow">{narrow_svg(spec)}</div>'
    )


def trend_svg(points: Sequence[TrendPoint], **options: Any) -> str:
    return responsive_svg(trend_spec(points, **options))


def nps_distribution_svg(bands: Sequence[NpsBands], **options: Any) -> str:
    return responsive_svg(nps_distribution_spec(bands, **options))


def scale_distribution_svg(counts: Sequence[ScaleCount], **options: Any) -> str:
    return responsive_svg(scale_distribution_spec(counts, **options))


def warm_up() -> None:
    """Start vl-convert's JavaScript engine now (call at app start, e.g. in a thread).

    The first render in a process costs ~0.4 s on a small machine; later ones ~25 ms.
    """
    to_svg(scale_distribution_spec([ScaleCount(1, 1)], width=NARROW_WIDTH))
