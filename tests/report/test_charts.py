"""Charts: specs hold the data and the readability rules (fonts, width, thinned axis, band
colours, n labels only when few), and the SVG renders offline with a text alternative."""

from __future__ import annotations

import html
import inspect
import json
import re
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from typing import Any

import pytest

from cxpulse.metrics import MetricSpec
from cxpulse.report import charts, period_axis
from cxpulse.report.charts import NpsBands, ScaleCount, TrendPoint
from cxpulse.report.scale_labels import scale_bands, scale_labels

POINTS = [
    TrendPoint("2026-07", 31.5, 20.1, 42.9, 25, True),
    TrendPoint("2026-08", None, None, None, 0, True),
    TrendPoint("2026-09", 44.25, 38.0, 50.5, 310, False),
    TrendPoint("2026-10", 47.0, 41.2, 52.8, 402, False),
]


def _series(labels: list[str]) -> list[TrendPoint]:
    return [TrendPoint(label, 70.0, 60.0, 80.0, 40, False) for label in labels]


def _days(count: int, first: date = date(2025, 12, 1)) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


WEEKS = [f"2025-W{w:02d}" for w in range(49, 53)] + [f"2026-W{w:02d}" for w in range(1, 50)]
MONTHS = ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 13)]


def _data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    # Altair moves inline data into named top-level datasets.
    rows: list[dict[str, Any]] = []
    for values in spec["datasets"].values():
        rows.extend(values)
    return rows


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [(el.text or "").strip() for el in root.iter() if el.tag.endswith(("text", "tspan"))]


def _x_axis(spec: dict[str, Any]) -> dict[str, Any]:
    axis: dict[str, Any] = spec["layer"][0]["encoding"]["x"]["axis"]
    return axis


def _n_label_layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "n_text"
    ]


def _wide_and_narrow(svg: str) -> tuple[str, str]:
    found = re.fullmatch(
        r'<div class="chart-wide">(.*)</div><div class="chart-narrow">(.*)</div>', svg, re.S
    )
    assert found is not None
    return found.group(1), found.group(2)


def test_trend_spec_holds_points_interval_n_and_the_goal() -> None:
    spec = charts.trend_spec(POINTS, metric_label="NPS", goal=charts.goal_line(50.0))
    charts.validate(spec)
    rows = _data(spec)
    by_period = {row["period"]: row for row in rows if "period" in row}
    assert by_period["2026-09"]["value"] == 44.25
    assert by_period["2026-09"]["ci_low"] == 38.0
    assert by_period["2026-09"]["ci_high"] == 50.5
    assert by_period["2026-10"]["n"] == 402
    assert by_period["2026-07"]["too_small"] is True
    assert by_period["2026-08"]["value"] is None
    assert {row["label"] for row in rows if "label" in row} == {"Goal 50.0"}
    small = [layer for layer in spec["layer"] if layer["mark"].get("shape") == "diamond"]
    assert len(small) == 1
    assert small[0]["mark"]["filled"] is False
    assert "datum.too_small" in json.dumps(small[0]["transform"])
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("area") == 1  # the interval band
    assert marks.count("rule") == 1  # the goal; no benchmark line
    tooltips = json.dumps([layer["encoding"].get("tooltip") for layer in spec["layer"]])
    assert '"field": "n"' in tooltips
    assert spec["layer"][0]["encoding"]["x"]["sort"] == [p.period for p in POINTS]


def test_the_trend_has_no_benchmark_layer() -> None:
    # The ACSI is an index on another scale: never a line on a chart of CSAT percentages.
    assert "benchmark" not in inspect.signature(charts.trend_spec).parameters
    spec = charts.trend_spec(POINTS, metric_label="CSAT")
    assert all(layer["mark"]["type"] not in ("rule",) for layer in spec["layer"])
    assert "ACSI" not in json.dumps(spec)


def test_charts_fill_their_column_with_text_of_at_least_12_px() -> None:
    specs = [
        charts.trend_spec(POINTS, metric_label="CSAT", goal=charts.goal_line(60)),
        charts.nps_distribution_spec([NpsBands("2026-09", 5, 3, 2)]),
        charts.scale_distribution_spec([ScaleCount(1, 3), ScaleCount(2, 5)]),
    ]
    for spec in specs:
        assert spec["width"] == "container"
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        config = spec["config"]
        assert config["axis"]["labelFontSize"] >= 12
        assert config["axis"]["titleFontSize"] >= 12
        assert config["legend"]["labelFontSize"] >= 12
        assert config["text"]["fontSize"] >= 12
        sizes = [layer["mark"].get("fontSize", 12) for layer in spec["layer"]]
        assert min(sizes) >= 12


@pytest.mark.parametrize("width", [charts.WIDTH, charts.NARROW_WIDTH])
def test_server_drawings_keep_their_text_at_12_px_on_their_screen(width: int) -> None:
    # The narrow drawing is shown in a 390 px phone's ~360 px column, the wide one in a
    # column at least as wide as itself: at those scales no text may fall under 12 px.
    column = 358 if width == charts.NARROW_WIDTH else charts.WIDTH
    for svg in (
        charts.to_svg(charts.at_width(charts.trend_spec(POINTS, metric_label="NPS"), width)),
        charts.to_svg(charts.at_width(charts.scale_distribution_spec([ScaleCount(1, 3)]), width)),
    ):
        root = ET.fromstring(svg)
        drawn = float(root.get("width") or 0)
        assert drawn <= width + 1
        scale = min(1.0, column / drawn)
        sizes = [
            float(el.get("font-size", "0px").rstrip("px"))
            for el in root.iter()
            if el.tag.endswith("text") and el.get("font-size")
        ]
        assert sizes
        assert min(sizes) * scale >= 12, (width, min(sizes), scale)


def test_responsive_svg_draws_a_wide_and_a_narrow_chart() -> None:
    wide, narrow = _wide_and_narrow(charts.trend_svg(POINTS, metric_label="NPS"))
    assert float(ET.fromstring(wide).get("width") or 0) == charts.WIDTH
    assert float(ET.fromstring(narrow).get("width") or 0) == charts.NARROW_WIDTH


def test_the_wide_and_narrow_drawings_are_those_of_responsive_svg() -> None:
    # The dashboard inlines wide_svg and serves narrow_svg as an image; the monthly report
    # inlines both: the same drawings either way.
    spec = charts.trend_spec(POINTS, metric_label="NPS")
    wide, narrow = _wide_and_narrow(charts.responsive_svg(spec))
    assert charts.wide_svg(spec) == wide
    assert charts.narrow_svg(spec) == narrow
    assert float(ET.fromstring(narrow).get("width") or 0) == charts.NARROW_WIDTH
    assert f'aria-label="{html.escape(str(spec["description"]), quote=True)}"' in narrow


@pytest.mark.parametrize(
    ("labels", "expected_first", "most"),
    [
        (MONTHS, ["2025-12", "2026-01"], 13),
        (WEEKS, ["2025-W49", "2026-W01", "2026-W05"], 14),
        (_days(365), ["2025-12-01", "2026-01-01"], 14),
        ([f"{y}-Q{q}" for y in (2024, 2025, 2026) for q in (1, 2, 3, 4)], ["2024-Q1"], 14),
        ([str(y) for y in range(2000, 2027)], ["2000", "2002"], 14),
    ],
)
def test_time_axis_is_thinned_to_calendar_boundaries_per_grain(
    labels: list[str], expected_first: list[str], most: int
) -> None:
    spec = charts.trend_spec(_series(labels), metric_label="CSAT")
    axis = _x_axis(spec)
    values = axis["values"]
    assert 2 <= len(values) <= most
    assert values[: len(expected_first)] == expected_first
    assert axis["labelOverlap"] == "greedy"
    assert axis["labelAngle"] == 0
    # Every tick is a period of the chart, and the short text is what the axis shows.
    assert set(values) <= set(labels)
    assert "datum.value ===" in axis["labelExpr"]


def test_tick_texts_are_short_and_name_the_year_once() -> None:
    assert period_axis.tick_text("2026-03", first=True) == ["Mar", "2026"]
    assert period_axis.tick_text("2026-04", first=False) == ["Apr"]
    assert period_axis.tick_text("2027-01", first=False) == ["Jan", "2027"]
    assert period_axis.tick_text("2026-W10", first=False) == ["W10"]
    assert period_axis.tick_text("2026-03-04", first=False) == ["4 Mar"]
    assert period_axis.tick_text("2026-Q3", first=False) == ["Q3"]
    assert period_axis.tick_text("2026", first=False) == ["2026"]
    assert period_axis.tick_text("Team A", first=True) == ["Team A"]


def test_day_ticks_fall_on_mondays_when_weeks_fit() -> None:
    values = period_axis.tick_values(_days(60, date(2026, 3, 2)), 600)
    assert all(date.fromisoformat(v).weekday() == 0 for v in values)


def test_svg_axis_shows_short_month_labels_not_every_period() -> None:
    svg = charts.to_svg(
        charts.at_width(charts.trend_spec(_series(WEEKS), metric_label="CSAT"), 720)
    )
    texts = _texts(svg)
    assert "W01" in texts
    assert "2026-W02" not in texts
    assert sum(1 for t in texts if re.fullmatch(r"W\d\d", t)) <= 14


def test_n_labels_only_when_points_are_few() -> None:
    few = charts.trend_spec(_series(MONTHS[:12]), metric_label="CSAT")
    (layer,) = _n_label_layers(few)
    # And only while they have room: the browser hides them on a narrow column.
    assert "width / 12 >= 44" in layer["mark"]["opacity"]["expr"]
    many = charts.trend_spec(_series(WEEKS), metric_label="CSAT")
    assert _n_label_layers(many) == []
    texts = _texts(charts.to_svg(charts.at_width(many, charts.WIDTH)))
    assert not any(t.startswith("n=") for t in texts)
    # n stays in the tooltip.
    assert '"field": "n"' in json.dumps(many["layer"])


def test_n_labels_hide_when_the_drawing_is_too_narrow_for_them() -> None:
    spec = charts.trend_spec(_series(MONTHS[:12]), metric_label="CSAT")
    wide = _texts(charts.to_svg(charts.at_width(spec, charts.WIDTH)))
    assert "n=40" in wide
    narrow_svg = charts.to_svg(charts.at_width(spec, charts.NARROW_WIDTH))
    # Drawn, but with opacity 0: nothing a reader sees.
    visible = [
        el
        for el in ET.fromstring(narrow_svg).iter()
        if el.tag.endswith("text") and (el.text or "").startswith("n=") and el.get("opacity") != "0"
    ]
    assert visible == []


def test_a_year_of_days_draws_a_line_without_dots() -> None:
    spec = charts.trend_spec(_series(_days(365)), metric_label="CSAT")
    points = [layer for layer in spec["layer"] if layer["mark"]["type"] == "point"]
    assert points
    assert all(layer["mark"]["opacity"] == 0 for layer in points)
    assert all("tooltip" in layer["encoding"] for layer in points)


def test_goal_label_sits_at_the_right_end_over_a_halo() -> None:
    spec = charts.trend_spec(POINTS, metric_label="NPS", goal=charts.goal_line(50.0, "Up"))
    labels = [
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "label"
    ]
    assert len(labels) == 2
    assert labels[0]["mark"]["stroke"] == "white"
    assert labels[1]["mark"]["color"] == charts.GOAL_COLOUR
    assert all(layer["encoding"]["x"] == {"value": "width"} for layer in labels)
    assert all(layer["mark"]["align"] == "right" for layer in labels)
    svg = charts.trend_svg(POINTS, metric_label="NPS", goal=charts.goal_line(50, "Up"))
    for drawing in _wide_and_narrow(svg):
        assert "Goal: Up (50.0)" in _texts(drawing)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_band_colours_hold_white_text_and_stand_out_on_white() -> None:
    for colour in (charts.BOTTOM_COLOUR, charts.MIDDLE_COLOUR, charts.TOP_COLOUR):
        assert _contrast(colour, "#ffffff") >= 4.5, colour
    for colour in (charts.LINE_COLOUR, charts.GOAL_COLOUR, charts.TOO_SMALL_COLOUR):
        assert _contrast(colour, "#ffffff") >= 3.0, colour
    # Not red against green: the ends are orange and blue (hue apart for red-green blindness).
    assert charts.BOTTOM_COLOUR.lower().startswith("#b3")
    assert charts.TOP_COLOUR.lower() == "#1f5fa8"


def test_nps_distribution_spec_and_svg() -> None:
    bands = [NpsBands("2026-09", 50, 30, 20), NpsBands("2026-10", 8, 1, 1)]
    spec = charts.nps_distribution_spec(bands)
    charts.validate(spec)
    rows = [row for row in _data(spec) if row["period"] == "2026-10"]
    shares = {row["group"]: (row["count"], row["share"]) for row in rows}
    assert shares == {"Promoters": (8, 80.0), "Passives": (1, 10.0), "Detractors": (1, 10.0)}
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["Detractors", "Passives", "Promoters"]
    assert colour["range"] == [charts.BOTTOM_COLOUR, charts.MIDDLE_COLOUR, charts.TOP_COLOUR]
    texts = _texts(charts.to_svg(charts.at_width(spec, charts.WIDTH)))
    for expected in ("50%", "30%", "20%", "80%", "Promoters", "Passives", "Detractors"):
        assert expected in texts, expected


def test_nps_distribution_with_an_empty_period_draws_no_shares() -> None:
    spec = charts.nps_distribution_spec([NpsBands("2026-09", 0, 0, 0)])
    assert {row["share"] for row in _data(spec)} == {0.0}
    charts.to_svg(charts.at_width(spec, charts.WIDTH))


def test_scale_distribution_is_coloured_by_the_surveys_bands_with_scale_labels() -> None:
    spec_csat = MetricSpec.default("csat")
    counts = [ScaleCount(1, 3), ScaleCount(2, 5), ScaleCount(3, 11), ScaleCount(4, 40)]
    counts.append(ScaleCount(5, 42))
    spec = charts.scale_distribution_spec(
        counts, labels=scale_labels(spec_csat), bands=scale_bands(spec_csat), title="CSAT"
    )
    charts.validate(spec)
    rows = {row["count"]: row for row in _data(spec)}
    assert rows[3]["label"] == "1 Very dissatisfied"
    assert rows[42]["label"] == "5 Very satisfied"
    assert [rows[c]["band"] for c in (3, 5, 11, 40, 42)] == [
        "Dissatisfied 1–2",
        "Dissatisfied 1–2",
        "Neutral 3",
        "Satisfied 4–5",
        "Satisfied 4–5",
    ]
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["scale"]["range"] == [
        charts.BOTTOM_COLOUR,
        charts.MIDDLE_COLOUR,
        charts.TOP_COLOUR,
    ]
    assert colour["legend"]["orient"] == "bottom"
    # Highest value on top.
    assert spec["layer"][0]["encoding"]["y"]["sort"][0] == "5 Very satisfied"
    texts = _texts(charts.to_svg(charts.at_width(spec, charts.WIDTH)))
    for expected in ("5 Very satisfied", "42 (42%)", "Satisfied 4–5", "CSAT"):
        assert expected in texts, expected


def test_scale_bands_follow_the_surveys_thresholds() -> None:
    nps = scale_bands(MetricSpec.default("nps"))
    assert nps.names == ("Detractors 0–6", "Passives 7–8", "Promoters 9–10")
    ces = scale_bands(MetricSpec.default("ces"))
    assert ces.names == ("Hard 1–3", "Neutral 4", "Easy 5–7")
    labels = scale_labels(MetricSpec.default("nps"))
    assert labels[0] == "0 Not at all likely"
    assert labels[10] == "10 Extremely likely"
    assert labels[5] == "5"
    assert scale_labels(MetricSpec.default("ces"))[7] == "7 Strongly agree"
    counts = [ScaleCount(v, 1) for v in range(0, 11)]
    spec = charts.scale_distribution_spec(counts, bands=nps)
    bands = [row["band"] for row in _data(spec)]
    assert bands == ["Detractors 0–6"] * 7 + ["Passives 7–8"] * 2 + ["Promoters 9–10"] * 2


def test_svg_has_a_text_alternative_and_nothing_from_the_network() -> None:
    svg = charts.trend_svg(POINTS, metric_label="NPS", goal=charts.goal_line(50))
    for drawing in _wide_and_narrow(svg):
        root = ET.fromstring(drawing)
        assert root.get("role") == "img"
        label = root.get("aria-label") or ""
        assert "2026-09: 44.2" in label or "2026-09: 44.3" in label
        assert "too few answers" in label
        assert "Goal 50.0" in label
    assert not re.search(r"""(src|href)=["']https?:""", svg)


def test_user_text_in_labels_is_escaped_in_svg() -> None:
    nasty = '<script>alert("x")</script> & co'
    svg = charts.trend_svg(POINTS, metric_label="NPS", goal=charts.goal_line(40, nasty))
    assert "<script>" not in svg
    for drawing in _wide_and_narrow(svg):
        ET.fromstring(drawing)  # still well-formed XML


def test_spec_json_cannot_close_a_script_element() -> None:
    spec = charts.trend_spec(POINTS, metric_label="</script><b>x</b>")
    text = charts.spec_json(spec)
    assert "</script>" not in text
    assert json.loads(text) == spec


def test_rendering_is_cached_and_fast_once_warm() -> None:
    charts.warm_up()
    spec = charts.at_width(charts.trend_spec(POINTS, metric_label="Fresh metric"), charts.WIDTH)
    started = time.perf_counter()
    first = charts.to_svg(spec)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = charts.to_svg(spec)
    cached = time.perf_counter() - started
    assert first == again
    assert cold < 1.0, f"a warm render took {cold:.3f}s"
    assert cached < 0.01, f"a cached render took {cached:.4f}s"
