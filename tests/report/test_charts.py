"""Charts: specs hold the data, SVG renders offline and shows the values and labels."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from typing import Any

from cxpulse.metrics.benchmarks import BenchmarkScore
from cxpulse.report import charts
from cxpulse.report.charts import NpsBands, ScaleCount, TrendPoint

POINTS = [
    TrendPoint("2026-07", 31.5, 20.1, 42.9, 25, True),
    TrendPoint("2026-08", None, None, None, 0, True),
    TrendPoint("2026-09", 44.25, 38.0, 50.5, 310, False),
    TrendPoint("2026-10", 47.0, 41.2, 52.8, 402, False),
]
BANK = BenchmarkScore(industry="Banks", score=78.0, year=2024, source="ACSI")


def _data(spec: dict[str, Any]) -> list[dict[str, Any]]:
    # Altair moves inline data into named top-level datasets.
    rows: list[dict[str, Any]] = []
    for values in spec["datasets"].values():
        rows.extend(values)
    return rows


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [el.text or "" for el in root.iter() if el.tag.endswith("text")]


def test_trend_spec_holds_points_interval_n_and_references() -> None:
    spec = charts.trend_spec(
        POINTS,
        metric_label="NPS",
        benchmark=charts.benchmark_line(BANK),
        goal=charts.goal_line(50.0),
    )
    charts.validate(spec)
    rows = _data(spec)
    by_period = {row["period"]: row for row in rows if "period" in row}
    assert by_period["2026-09"]["value"] == 44.25
    assert by_period["2026-09"]["ci_low"] == 38.0
    assert by_period["2026-09"]["ci_high"] == 50.5
    assert by_period["2026-10"]["n"] == 402
    assert by_period["2026-07"]["too_small"] is True
    assert by_period["2026-08"]["value"] is None
    labels = {row["label"] for row in rows if "label" in row}
    assert labels == {"ACSI Banks 2024", "Goal 50.0"}
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    # Too-small points get their own hollow diamond layer (not colour alone).
    small = [layer for layer in spec["layer"] if layer["mark"].get("shape") == "diamond"]
    assert len(small) == 1
    assert small[0]["mark"]["filled"] is False
    assert "datum.too_small" in json.dumps(small[0]["transform"])
    assert marks.count("area") == 1  # the interval band
    assert marks.count("rule") == 2
    # n is in the tooltip for browsers.
    tooltips = json.dumps([layer["encoding"].get("tooltip") for layer in spec["layer"]])
    assert '"field": "n"' in tooltips
    # Periods keep the caller's order, not alphabetical order.
    assert spec["layer"][0]["encoding"]["x"]["sort"] == [p.period for p in POINTS]


def test_trend_without_references_has_no_rules() -> None:
    spec = charts.trend_spec(POINTS, metric_label="CSAT (%)")
    assert all(layer["mark"]["type"] != "rule" for layer in spec["layer"])


def test_trend_svg_shows_n_labels_references_and_a_text_alternative() -> None:
    svg = charts.trend_svg(
        POINTS, metric_label="NPS", benchmark=charts.benchmark_line(BANK), goal=charts.goal_line(50)
    )
    texts = _texts(svg)
    for expected in ("n=25", "n=310", "n=402", "ACSI Banks 2024", "Goal 50.0", "2026-10"):
        assert expected in texts, expected
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    label = root.get("aria-label") or ""
    assert "2026-09: 44.2" in label or "2026-09: 44.3" in label
    assert "too few answers" in label
    assert not re.search(r"""(src|href)=["']https?:""", svg)


def test_nps_distribution_spec_and_svg() -> None:
    bands = [NpsBands("2026-09", 50, 30, 20), NpsBands("2026-10", 8, 1, 1)]
    spec = charts.nps_distribution_spec(bands)
    charts.validate(spec)
    rows = [row for row in _data(spec) if row["period"] == "2026-10"]
    shares = {row["group"]: (row["count"], row["share"]) for row in rows}
    assert shares == {"Promoters": (8, 80.0), "Passives": (1, 10.0), "Detractors": (1, 10.0)}
    texts = _texts(charts.to_svg(spec))
    for expected in ("50%", "30%", "20%", "80%", "Promoters", "Passives", "Detractors"):
        assert expected in texts, expected


def test_nps_distribution_with_an_empty_period_draws_no_shares() -> None:
    spec = charts.nps_distribution_spec([NpsBands("2026-09", 0, 0, 0)])
    assert {row["share"] for row in _data(spec)} == {0.0}
    charts.to_svg(spec)


def test_scale_distribution_counts_per_value() -> None:
    counts = [ScaleCount(1, 3), ScaleCount(2, 5), ScaleCount(3, 11), ScaleCount(4, 40)]
    counts.append(ScaleCount(5, 42))
    spec = charts.scale_distribution_spec(counts, title="CSAT answers")
    charts.validate(spec)
    assert [(row["value"], row["count"]) for row in _data(spec)] == [
        ("1", 3),
        ("2", 5),
        ("3", 11),
        ("4", 40),
        ("5", 42),
    ]
    texts = _texts(charts.to_svg(spec))
    for expected in ("3", "5", "11", "40", "42", "CSAT answers"):
        assert expected in texts, expected


def test_user_text_in_labels_is_escaped_in_svg() -> None:
    nasty = '<script>alert("x")</script> & co'
    svg = charts.trend_svg(POINTS, metric_label="NPS", goal=charts.goal_line(40, nasty))
    assert "<script>" not in svg
    ET.fromstring(svg)  # still well-formed XML


def test_spec_json_cannot_close_a_script_element() -> None:
    spec = charts.trend_spec(POINTS, metric_label="</script><b>x</b>")
    text = charts.spec_json(spec)
    assert "</script>" not in text
    assert json.loads(text) == spec


def test_rendering_is_cached_and_fast_once_warm() -> None:
    charts.warm_up()
    spec = charts.trend_spec(POINTS, metric_label="Fresh metric for timing")
    started = time.perf_counter()
    first = charts.to_svg(spec)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = charts.to_svg(spec)
    cached = time.perf_counter() - started
    assert first == again
    assert cold < 1.0, f"a warm render took {cold:.3f}s"
    assert cached < 0.01, f"a cached render took {cached:.4f}s"
