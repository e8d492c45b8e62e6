import pytest

from cxpulse.metrics import Histogram, Metric, MetricSpec, Scale, Thresholds, score
from cxpulse.metrics.scales import (
    DEFAULT_SCALE,
    FIVE,
    SUPPORTED_SCALES,
    THUMBS,
    default_thresholds,
    parse_scale,
)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("1-5", 1, 5),
        ("0-10", 0, 10),
        (" 1-7 ", 1, 7),
        ("1-10", 1, 10),
        ("1-3", 1, 3),
        ("thumbs", 0, 1),
        ("Stars", 1, 5),
        ("emoji", 1, 5),
    ],
)
def test_parse_scale(text: str, low: int, high: int) -> None:
    assert parse_scale(text) == Scale(low, high)


@pytest.mark.parametrize("text", ["", "five", "1to5", "1-x", "a-5", "5-1", "3-3"])
def test_parse_scale_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="scale"):
        parse_scale(text)


def test_scale_name_values_and_membership() -> None:
    assert THUMBS.name == "thumbs"
    assert str(FIVE) == "1-5"
    assert list(FIVE.values) == [1, 2, 3, 4, 5]
    assert FIVE.contains(3)
    assert FIVE.contains(3.0)
    assert not FIVE.contains(3.5)
    assert not FIVE.contains(0)
    assert not FIVE.contains(6)


def test_default_scales() -> None:
    assert DEFAULT_SCALE[Metric.CSAT] == Scale(1, 5)
    assert DEFAULT_SCALE[Metric.NPS] == Scale(0, 10)
    assert DEFAULT_SCALE[Metric.CES] == Scale(1, 7)


# (metric, scale, top_min, bottom_max): the table of docs/metrics.md.
DEFAULTS = [
    (Metric.CSAT, "1-3", 3, 1),
    (Metric.CSAT, "1-5", 4, 2),
    (Metric.CSAT, "1-7", 6, 2),
    (Metric.CSAT, "1-10", 9, 5),
    (Metric.CSAT, "thumbs", 1, 0),
    (Metric.DSAT, "1-3", 3, 1),
    (Metric.DSAT, "1-5", 4, 2),
    (Metric.DSAT, "1-7", 6, 2),
    (Metric.DSAT, "1-10", 9, 5),
    (Metric.DSAT, "thumbs", 1, 0),
    (Metric.NPS, "0-10", 9, 6),
    (Metric.NPS, "1-10", 9, 6),
    (Metric.CES, "1-7", 5, 3),
    (Metric.CES, "1-5", 4, 2),
]


@pytest.mark.parametrize(("metric", "scale", "top_min", "bottom_max"), DEFAULTS)
def test_default_thresholds(metric: Metric, scale: str, top_min: int, bottom_max: int) -> None:
    assert default_thresholds(metric, parse_scale(scale)) == Thresholds(top_min, bottom_max)


def test_every_supported_scale_has_a_tested_default() -> None:
    tested = {(metric, scale) for metric, scale, _, _ in DEFAULTS}
    for metric, scales in SUPPORTED_SCALES.items():
        for scale in scales:
            assert (metric, scale) in tested


@pytest.mark.parametrize(
    ("metric", "scale", "counted"),
    [
        (Metric.CSAT, "1-3", {3}),
        (Metric.CSAT, "1-5", {4, 5}),
        (Metric.CSAT, "1-7", {6, 7}),
        (Metric.CSAT, "1-10", {9, 10}),
        (Metric.CSAT, "thumbs", {1}),
        (Metric.DSAT, "1-3", {1}),
        (Metric.DSAT, "1-5", {1, 2}),
        (Metric.DSAT, "1-7", {1, 2}),
        (Metric.DSAT, "1-10", {1, 2, 3, 4, 5}),
        (Metric.DSAT, "thumbs", {0}),
    ],
)
def test_default_bands_count_the_right_answers(
    metric: Metric, scale: str, counted: set[int]
) -> None:
    parsed = parse_scale(scale)
    spec = MetricSpec.default(metric, parsed)
    for value in parsed.values:
        expected = 100.0 if value in counted else 0.0
        assert score(Histogram({value: 7}), spec).value == expected, value


@pytest.mark.parametrize("scale", ["0-10", "1-10"])
def test_nps_bands_on_both_eleven_and_ten_point_scales(scale: str) -> None:
    parsed = parse_scale(scale)
    result = score(Histogram.from_values(parsed.values), MetricSpec.default("nps", parsed))
    assert result.counts == {"promoters": 2, "passives": 2, "detractors": len(parsed.values) - 4}


@pytest.mark.parametrize("scale", ["1-5", "1-7", "thumbs"])
def test_nps_needs_a_ten_point_scale(scale: str) -> None:
    with pytest.raises(ValueError, match="NPS"):
        default_thresholds(Metric.NPS, parse_scale(scale))


def test_custom_thresholds_override_the_defaults() -> None:
    spec = MetricSpec.default("csat", FIVE, top_min=5)
    assert spec.thresholds == Thresholds(top_min=5, bottom_max=2)
    h = Histogram({3: 10, 4: 10, 5: 20})
    assert score(h, spec).value == pytest.approx(50.0)
    assert score(h, MetricSpec.default("csat", FIVE)).value == pytest.approx(75.0)
    dsat = MetricSpec.default("dsat", FIVE, bottom_max=3)
    assert score(h, dsat).value == pytest.approx(25.0)


def test_thresholds_must_not_overlap() -> None:
    with pytest.raises(ValueError, match="below"):
        Thresholds(top_min=3, bottom_max=3)
    with pytest.raises(ValueError, match="below"):
        MetricSpec.default("csat", FIVE, top_min=2, bottom_max=2)
