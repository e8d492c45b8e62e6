import pytest

from cxpulse.metrics import Histogram, Metric, MetricSpec, Scale, Thresholds, score
from cxpulse.metrics.scales import (
    DEFAULT_SCALE,
    ELEVEN,
    FIVE,
    SEVEN,
    SUPPORTED_SCALES,
    THUMBS,
    ScaleError,
    check_scoring,
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


@pytest.mark.parametrize(("metric", "scale", "top_min", "bottom_max"), DEFAULTS)
def test_supported_scales_with_default_bands_pass_the_check(
    metric: Metric, scale: str, top_min: int, bottom_max: int
) -> None:
    spec = MetricSpec.default(metric, parse_scale(scale))
    check_scoring(spec.metric, spec.scale, spec.thresholds)


@pytest.mark.parametrize("scale", ["1-5", "0-10", "2-9", "thumbs", "1-100"])
def test_the_mean_takes_any_scale(scale: str) -> None:
    spec = MetricSpec.default(Metric.MEAN, parse_scale(scale))
    check_scoring(spec.metric, spec.scale, spec.thresholds)


@pytest.mark.parametrize(
    ("metric", "scale", "words"),
    [
        (Metric.CSAT, "2-9", "CSAT is asked on 1-3, 1-5, 1-7, 1-10 or thumbs, not 2-9"),
        (Metric.DSAT, "0-10", "DSAT is asked on"),
        (Metric.CES, "thumbs", "CES is asked on 1-7 or 1-5, not thumbs"),
        (Metric.CES, "0-10", "CES is asked on 1-7 or 1-5, not 0-10"),
    ],
)
def test_a_metric_on_a_scale_it_is_not_asked_on_is_refused(
    metric: Metric, scale: str, words: str
) -> None:
    spec = MetricSpec.default(metric, parse_scale(scale))
    with pytest.raises(ScaleError, match=words) as raised:
        check_scoring(spec.metric, spec.scale, spec.thresholds)
    assert raised.value.field == "scale"


def test_csat_on_another_scale_needs_both_bands_chosen() -> None:
    four = Scale(1, 4)
    bands = Thresholds(top_min=3, bottom_max=2)
    with pytest.raises(ScaleError, match="top_min and bottom_max"):
        check_scoring(Metric.CSAT, four, bands)
    check_scoring(Metric.CSAT, four, bands, own_bands=True)
    check_scoring(Metric.DSAT, four, bands, own_bands=True)
    # CES compares means on its own scale: chosen bands do not make 0-10 a CES scale.
    with pytest.raises(ScaleError, match="CES"):
        check_scoring(Metric.CES, ELEVEN, Thresholds(7, 3), own_bands=True)


@pytest.mark.parametrize(
    ("metric", "scale", "top_min", "bottom_max", "field"),
    [
        (Metric.NPS, ELEVEN, 11, 6, "top_min"),
        (Metric.NPS, ELEVEN, 9, -1, "bottom_max"),
        (Metric.CSAT, FIVE, 99, 2, "top_min"),
        (Metric.CSAT, FIVE, 4, 0.5, "bottom_max"),
        (Metric.CES, SEVEN, 8, 3, "top_min"),
    ],
)
def test_bands_must_lie_on_the_scale(
    metric: Metric, scale: Scale, top_min: float, bottom_max: float, field: str
) -> None:
    with pytest.raises(ScaleError, match=f"{field} .* outside the {scale} scale") as raised:
        check_scoring(metric, scale, Thresholds(top_min, bottom_max), own_bands=True)
    assert raised.value.field == field
    assert isinstance(raised.value, ValueError)


def test_bands_at_the_ends_of_the_scale_are_allowed() -> None:
    check_scoring(Metric.CSAT, FIVE, Thresholds(top_min=5, bottom_max=1))
    check_scoring(Metric.NPS, ELEVEN, Thresholds(top_min=10, bottom_max=0))


def test_scale_errors_name_their_field() -> None:
    with pytest.raises(ScaleError) as raised:
        parse_scale("five")
    assert raised.value.field == "scale"
    with pytest.raises(ScaleError) as raised:
        Scale(5, 1)
    assert raised.value.field == "scale"
    with pytest.raises(ScaleError) as raised:
        Thresholds(top_min=2, bottom_max=3)
    assert raised.value.field == "thresholds"
    with pytest.raises(ScaleError) as raised:
        default_thresholds(Metric.NPS, FIVE)
    assert raised.value.field == "scale"
