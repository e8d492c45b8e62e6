import json
import math
import statistics

import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.metrics import (
    Histogram,
    Metric,
    MetricSpec,
    NpsMethod,
    Scale,
    ces,
    csat,
    dsat,
    format_value,
    mean,
    nps,
    score,
)

nps_answers = st.lists(st.integers(min_value=0, max_value=10), max_size=80)
five_point_answers = st.lists(st.integers(min_value=1, max_value=5), max_size=80)


# --- worked examples --------------------------------------------------------------------------


def test_csat_241_of_289() -> None:
    result = csat(Histogram({5: 200, 4: 41, 3: 20, 2: 18, 1: 10}), MetricSpec.default("csat"))
    assert result.value == pytest.approx(83.3910, abs=1e-4)
    assert format_value(result.value, 2) == "83.39"
    assert result.n == 289
    assert result.counts == {"satisfied": 241, "not_satisfied": 48}
    assert result.method == "wilson"
    assert result.ci_low < result.value < result.ci_high


def test_csat_160_of_200() -> None:
    result = csat(Histogram({4: 60, 5: 100, 3: 40}), MetricSpec.default("csat"))
    assert result.value == pytest.approx(80.0)


def test_csat_30_fours_and_50_fives_of_112() -> None:
    result = csat(Histogram({1: 12, 2: 8, 3: 12, 4: 30, 5: 50}), MetricSpec.default("csat"))
    assert result.n == 112
    assert result.value == pytest.approx(71.4286, abs=1e-4)
    assert format_value(result.value, 2) == "71.43"


def test_nps_plain_wald_worked_example() -> None:
    # 200 answers: 50 % promoters, 30 % passives, 20 % detractors -> NPS 30 ± 10.8.
    h = Histogram({10: 60, 9: 40, 8: 40, 7: 20, 5: 25, 0: 15})
    result = nps(h, MetricSpec.default("nps", nps_method="wald"))
    assert result.value == pytest.approx(30.0)
    assert result.method == "wald"
    assert (result.ci_high - result.ci_low) / 2 == pytest.approx(10.82, abs=0.005)
    assert format_value(result.ci_high - result.value) == "10.8"
    assert format_value(result.value - result.ci_low) == "10.8"


def test_nps_is_not_rounded_before_display() -> None:
    h = Histogram({9: 30, 10: 50, 7: 10, 8: 10, 6: 15, 3: 25})
    result = nps(h, MetricSpec.default("nps"))
    assert result.counts == {"promoters": 80, "passives": 20, "detractors": 40}
    assert result.value == pytest.approx(28.571428571428573)
    assert result.value != 28
    assert format_value(result.value) == "28.6"
    assert format_value(result.value, 0) == "29"


def test_format_value_of_missing_values() -> None:
    assert format_value(None) == "–"
    assert format_value(math.nan) == "–"
    assert format_value(-3.05, 2) == "-3.05"


# --- each metric --------------------------------------------------------------------------------


def test_dsat_counts_the_bottom_boxes() -> None:
    h = Histogram({1: 5, 2: 15, 3: 30, 4: 25, 5: 25})
    result = dsat(h, MetricSpec.default("dsat"))
    assert result.value == pytest.approx(20.0)
    assert result.counts == {"dissatisfied": 20, "not_dissatisfied": 80}


def test_dsat_on_ten_points_counts_one_to_five() -> None:
    h = Histogram.from_values(range(1, 11))
    assert dsat(h, MetricSpec.default("dsat", Scale(1, 10))).value == pytest.approx(50.0)


def test_ces_mean_and_percent_agree() -> None:
    values = [7] * 20 + [6] * 15 + [5] * 10 + [4] * 5 + [2] * 10
    result = ces(Histogram.from_values(values), MetricSpec.default("ces"))
    assert result.value == pytest.approx(statistics.fmean(values))
    assert result.method == "t"
    assert result.counts == {"agree": 45, "neutral": 5, "disagree": 10}
    assert result.extra["pct_agree"] == pytest.approx(75.0)
    assert result.extra["pct_agree_ci_low"] < 75 < result.extra["pct_agree_ci_high"]
    expected = scipy.stats.t.interval(
        0.95, len(values) - 1, loc=statistics.fmean(values), scale=scipy.stats.sem(values)
    )
    assert result.ci_low == pytest.approx(expected[0])
    assert result.ci_high == pytest.approx(expected[1])


def test_ces_on_five_points() -> None:
    result = ces(Histogram({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}), MetricSpec.default("ces", Scale(1, 5)))
    assert result.value == pytest.approx(3.0)
    assert result.counts == {"agree": 2, "neutral": 1, "disagree": 2}


def test_mean_with_t_interval_matches_scipy() -> None:
    values = [1, 2, 2, 3, 4, 4, 4, 5, 5, 5, 5]
    result = mean(Histogram.from_values(values), MetricSpec.default("mean"))
    expected = scipy.stats.t.interval(
        0.9, len(values) - 1, loc=statistics.fmean(values), scale=scipy.stats.sem(values)
    )
    narrower = mean(Histogram.from_values(values), MetricSpec.default("mean", level=0.9))
    assert result.value == pytest.approx(statistics.fmean(values))
    assert narrower.ci_low == pytest.approx(expected[0])
    assert narrower.ci_high == pytest.approx(expected[1])
    assert result.counts == {"1": 1, "2": 2, "3": 1, "4": 3, "5": 4}


@pytest.mark.parametrize("metric", list(Metric))
def test_score_dispatches_on_the_metric(metric: Metric) -> None:
    h = Histogram({1: 3, 4: 5, 5: 9}) if metric is not Metric.NPS else Histogram({0: 3, 9: 14})
    spec = MetricSpec.default(metric)
    assert score(h, spec).metric is metric


@pytest.mark.parametrize("metric", list(Metric))
def test_empty_histogram_gives_nan_without_exception(metric: Metric) -> None:
    result = score(Histogram(), MetricSpec.default(metric))
    assert result.n == 0
    assert math.isnan(result.value)
    assert math.isnan(result.ci_low)
    assert math.isnan(result.ci_high)
    assert result.too_small
    data = result.to_dict()
    assert data["value"] is None
    assert data["ci_low"] is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize("method", list(NpsMethod))
def test_empty_nps_for_every_method(method: NpsMethod) -> None:
    result = nps(Histogram(), MetricSpec.default("nps", nps_method=method))
    assert math.isnan(result.value)
    assert math.isnan(result.ci_low)


def test_mean_of_one_answer_has_no_interval() -> None:
    result = mean(Histogram({4: 1}), MetricSpec.default("mean"))
    assert result.value == 4
    assert math.isnan(result.ci_low)
    assert result.to_dict()["ci_high"] is None


def test_too_small_flag_default_and_custom_min_n() -> None:
    h = Histogram({5: 20, 1: 9})  # 29 answers
    assert csat(h, MetricSpec.default("csat")).too_small
    assert not csat(h + Histogram({4: 1}), MetricSpec.default("csat")).too_small
    assert not csat(h, MetricSpec.default("csat", min_n=29)).too_small
    assert csat(h, MetricSpec.default("csat", min_n=100)).too_small
    assert csat(h, MetricSpec.default("csat", min_n=100)).to_dict()["too_small"] is True


def test_bootstrap_is_close_to_wald_at_large_n() -> None:
    h = Histogram({10: 700, 9: 500, 8: 400, 7: 100, 5: 200, 1: 100})
    wald = nps(h, MetricSpec.default("nps", nps_method="wald"))
    boot = nps(h, MetricSpec.default("nps", nps_method="bootstrap"))
    adjusted = nps(h, MetricSpec.default("nps"))
    assert boot.method == "bootstrap"
    assert boot.value == wald.value == adjusted.value
    assert boot.ci_low == pytest.approx(wald.ci_low, abs=0.5)
    assert boot.ci_high == pytest.approx(wald.ci_high, abs=0.5)
    assert adjusted.ci_low == pytest.approx(wald.ci_low, abs=0.5)


def test_spec_rejects_a_bad_level_and_accepts_strings() -> None:
    with pytest.raises(ValueError, match="confidence level"):
        MetricSpec.default("csat", level=95)
    spec = MetricSpec.default("nps", nps_method="bootstrap")
    assert spec.metric is Metric.NPS
    assert spec.nps_method is NpsMethod.BOOTSTRAP
    with pytest.raises(ValueError, match="xsat"):
        MetricSpec.default("xsat")


def test_to_dict_includes_extra_values() -> None:
    data = ces(Histogram({6: 10, 2: 10}), MetricSpec.default("ces")).to_dict()
    assert data["pct_agree"] == pytest.approx(50.0)
    assert data["n"] == 20
    assert data["level"] == 0.95


# --- properties ---------------------------------------------------------------------------------


@settings(deadline=None)
@given(nps_answers, st.sampled_from(list(NpsMethod)))
def test_nps_lies_within_minus_100_and_100(values: list[int], method: NpsMethod) -> None:
    result = nps(Histogram.from_values(values), MetricSpec.default("nps", nps_method=method))
    if not values:
        assert math.isnan(result.value)
        return
    assert -100 <= result.value <= 100
    assert -100 <= result.ci_low <= result.ci_high <= 100
    promoters, passives, detractors = result.counts.values()
    assert promoters + passives + detractors == len(values)


@settings(deadline=None)
@given(nps_answers, nps_answers, st.sampled_from(list(Metric)))
def test_metrics_of_merged_histograms_equal_those_of_the_concatenation(
    xs: list[int], ys: list[int], metric: Metric
) -> None:
    spec = MetricSpec.default(metric, Scale(0, 10))
    merged = score(Histogram.from_values(xs) + Histogram.from_values(ys), spec)
    concatenated = score(Histogram.from_values(xs + ys), spec)
    assert merged.to_dict() == concatenated.to_dict()


@given(five_point_answers, st.integers(min_value=0))
def test_csat_rises_when_a_2_becomes_a_5(values: list[int], pick: int) -> None:
    values = [*values, 2]
    spec = MetricSpec.default("csat")
    before = csat(Histogram.from_values(values), spec)
    twos = [i for i, v in enumerate(values) if v == 2]
    changed = list(values)
    changed[twos[pick % len(twos)]] = 5
    after = csat(Histogram.from_values(changed), spec)
    assert after.value > before.value
    assert after.value - before.value == pytest.approx(100 / len(values))
    assert after.ci_low >= before.ci_low
    assert after.ci_high >= before.ci_high


@given(five_point_answers)
def test_csat_and_dsat_are_shares_in_points(values: list[int]) -> None:
    h = Histogram.from_values(values)
    satisfied = csat(h, MetricSpec.default("csat"))
    dissatisfied = dsat(h, MetricSpec.default("dsat"))
    if not values:
        assert math.isnan(satisfied.value)
        return
    assert satisfied.value == pytest.approx(sum(v >= 4 for v in values) / len(values) * 100)
    assert dissatisfied.value == pytest.approx(sum(v <= 2 for v in values) / len(values) * 100)
    assert satisfied.value + dissatisfied.value <= 100 + 1e-9
    assert 0 <= satisfied.ci_low <= satisfied.value <= satisfied.ci_high <= 100


# --- every interval contains its estimate (issue 11) --------------------------------------------

# Every level the CLI and the API accept (0.5 to 0.999): the corners and the usual choices.
OFFERED_LEVELS = [0.5, 0.6, 0.8, 0.85, 0.9, 0.95, 0.99, 0.999]
SCORED_SCALES = [
    (Metric.CSAT, Scale(1, 5)),
    (Metric.CSAT, Scale(1, 3)),
    (Metric.CSAT, Scale(0, 1)),
    (Metric.DSAT, Scale(1, 5)),
    (Metric.DSAT, Scale(1, 10)),
    (Metric.NPS, Scale(0, 10)),
    (Metric.NPS, Scale(1, 10)),
    (Metric.CES, Scale(1, 7)),
    (Metric.CES, Scale(1, 5)),
    (Metric.MEAN, Scale(1, 5)),
]


@st.composite
def scored_histograms(draw: st.DrawFn) -> tuple[Metric, Scale, Histogram]:
    """A metric, its scale and a histogram of 1 to 200 answers on it (one value often)."""
    metric, scale = draw(st.sampled_from(SCORED_SCALES))
    answer = st.integers(min_value=int(scale.low), max_value=int(scale.high))
    one_value = st.builds(lambda v, k: [v] * k, answer, st.integers(min_value=1, max_value=200))
    values = draw(st.one_of(one_value, st.lists(answer, min_size=1, max_size=200)))
    return metric, scale, Histogram.from_values(values)


def _contains(low: float, value: float, high: float) -> bool:
    return low <= value <= high


@pytest.mark.parametrize("level", OFFERED_LEVELS)
@settings(max_examples=300, derandomize=True, deadline=None)
@given(drawn=scored_histograms())
def test_every_interval_contains_its_estimate(
    drawn: tuple[Metric, Scale, Histogram], level: float
) -> None:
    metric, scale, h = drawn
    methods = list(NpsMethod) if metric is Metric.NPS else [NpsMethod.ADJUSTED_WALD]
    for method in methods:
        result = score(h, MetricSpec.default(metric, scale, level=level, nps_method=method))
        if metric in (Metric.CES, Metric.MEAN) and h.n == 1:
            # A t interval needs two answers: with one there is none (NaN, null in JSON,
            # shown as "–" with n = 1), never an interval that misses the answer.
            assert math.isnan(result.ci_low)
            assert math.isnan(result.ci_high)
        else:
            assert _contains(result.ci_low, result.value, result.ci_high), (method, result)
        if metric is Metric.CES:
            extra = result.extra
            assert _contains(
                extra["pct_agree_ci_low"], extra["pct_agree"], extra["pct_agree_ci_high"]
            )


@pytest.mark.parametrize("level", OFFERED_LEVELS)
@pytest.mark.parametrize(("metric", "scale"), SCORED_SCALES)
def test_one_answer_at_each_scale_value_is_inside_its_interval(
    metric: Metric, scale: Scale, level: float
) -> None:
    for answer in range(int(scale.low), int(scale.high) + 1):
        result = score(Histogram({answer: 1}), MetricSpec.default(metric, scale, level=level))
        assert result.n == 1
        if metric in (Metric.CES, Metric.MEAN):
            assert result.value == answer
            assert math.isnan(result.ci_low)
            assert result.to_dict()["ci_low"] is None
        else:
            assert _contains(result.ci_low, result.value, result.ci_high)
