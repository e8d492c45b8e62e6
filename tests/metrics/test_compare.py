import json
import math

import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from cxpulse.metrics import Comparison, Histogram, Metric, MetricSpec, Scale
from cxpulse.metrics.compare import (
    compare,
    newcombe_difference,
    nps_adjusted_wald_difference,
    two_proportion_z_test,
    welch,
)

LEVELS = [0.8, 0.9, 0.95, 0.99]


@st.composite
def two_samples(draw: st.DrawFn) -> tuple[int, int, int, int]:
    """(successes_a, n_a, successes_b, n_b), every n at least 1."""
    n_a = draw(st.integers(min_value=1, max_value=400))
    n_b = draw(st.integers(min_value=1, max_value=400))
    return (
        draw(st.integers(min_value=0, max_value=n_a)),
        n_a,
        draw(st.integers(min_value=0, max_value=n_b)),
        n_b,
    )


nps_histograms = st.lists(st.integers(min_value=0, max_value=10), max_size=60).map(
    Histogram.from_values
)


# --- CSAT and DSAT: pooled two-proportion test, Newcombe interval -----------------------------


@pytest.mark.parametrize(
    ("k_a", "n_a", "k_b", "n_b"),
    [
        (60, 70, 50, 80),
        (241, 289, 160, 200),
        (5, 12, 11, 14),
        (0, 30, 3, 30),
        (400, 1000, 430, 1000),
    ],
)
def test_two_proportion_p_value_matches_statsmodels(k_a: int, n_a: int, k_b: int, n_b: int) -> None:
    z, p = two_proportion_z_test(k_a, n_a, k_b, n_b)
    expected_z, expected_p = proportions_ztest([k_b, k_a], [n_b, n_a])
    assert z == pytest.approx(expected_z, rel=1e-10)
    assert p == pytest.approx(expected_p, rel=1e-9)


@given(two_samples())
def test_two_proportion_p_value_matches_statsmodels_everywhere(
    counts: tuple[int, int, int, int],
) -> None:
    k_a, n_a, k_b, n_b = counts
    pooled = (k_a + k_b) / (n_a + n_b)
    z, p = two_proportion_z_test(k_a, n_a, k_b, n_b)
    if pooled in (0, 1):  # no spread at all: statsmodels divides 0 by 0
        assert (z, p) == (0.0, 1.0)
        return
    expected_z, expected_p = proportions_ztest([k_b, k_a], [n_b, n_a])
    assert z == pytest.approx(expected_z, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(expected_p, rel=1e-9, abs=1e-15)


@given(two_samples(), st.sampled_from(LEVELS))
def test_newcombe_interval_matches_statsmodels(
    counts: tuple[int, int, int, int], level: float
) -> None:
    k_a, n_a, k_b, n_b = counts
    low, high = newcombe_difference(k_a, n_a, k_b, n_b, level)
    expected = confint_proportions_2indep(k_b, n_b, k_a, n_a, method="newcomb", alpha=1 - level)
    assert low == pytest.approx(expected[0], abs=1e-9)
    assert high == pytest.approx(expected[1], abs=1e-9)
    difference = k_b / n_b - k_a / n_a
    assert -1 <= low <= difference <= high <= 1


def test_csat_comparison_worked_example() -> None:
    a = Histogram({5: 40, 4: 20, 2: 10})  # 60 of 70 satisfied: 85.71 %
    b = Histogram({5: 30, 4: 20, 1: 30})  # 50 of 80 satisfied: 62.5 %
    result = compare(a, b, MetricSpec.default("csat"))
    assert isinstance(result, Comparison)
    assert result.metric is Metric.CSAT
    assert result.a.value == pytest.approx(600 / 7)
    assert result.b.value == pytest.approx(62.5)
    assert result.difference == pytest.approx(62.5 - 600 / 7)
    _, expected_p = proportions_ztest([50, 60], [80, 70])
    assert result.p_value == pytest.approx(expected_p)
    assert result.p_value == pytest.approx(0.00134, abs=1e-5)
    expected_low, expected_high = confint_proportions_2indep(50, 80, 60, 70, method="newcomb")
    assert result.ci_low == pytest.approx(expected_low * 100)
    assert result.ci_high == pytest.approx(expected_high * 100)
    assert result.ci_high < 0
    assert result.significant
    assert result.verdict == "significant"
    assert "two-proportion" in result.method


def test_dsat_comparison_counts_the_bottom_boxes() -> None:
    a = Histogram({5: 40, 4: 20, 2: 10})
    b = Histogram({5: 30, 4: 20, 1: 30})
    result = compare(a, b, MetricSpec.default("dsat"))
    assert result.a.value == pytest.approx(1000 / 70)
    assert result.b.value == pytest.approx(37.5)
    assert result.difference == pytest.approx(37.5 - 1000 / 70)
    assert result.ci_low > 0
    assert result.significant


def test_small_difference_is_not_significant() -> None:
    a = Histogram({5: 40, 4: 20, 2: 40})
    b = Histogram({5: 42, 4: 20, 2: 38})
    result = compare(a, b, MetricSpec.default("csat"))
    assert result.difference == pytest.approx(2.0)
    assert result.p_value > 0.5
    assert not result.significant
    assert result.verdict == "not significant"
    assert result.ci_low < 0 < result.ci_high


def test_significance_follows_the_level() -> None:
    # p is about 0.03: significant at 95 %, not at 99 %.
    a = Histogram({5: 50, 1: 50})
    b = Histogram({5: 65, 1: 35})
    at_95 = compare(a, b, MetricSpec.default("csat"))
    at_99 = compare(a, b, MetricSpec.default("csat", level=0.99))
    assert 0.01 < at_95.p_value < 0.05
    assert at_95.p_value == at_99.p_value
    assert at_95.significant
    assert not at_99.significant
    assert at_99.ci_low < at_95.ci_low


def test_identical_groups() -> None:
    h = Histogram({5: 10, 3: 5, 1: 5})
    for metric in Metric:
        spec = MetricSpec.default(metric, Scale(0, 10) if metric is Metric.NPS else None)
        result = compare(h, h, spec)
        assert result.difference == 0
        assert result.p_value == pytest.approx(1.0)
        assert not result.significant


def test_groups_without_spread() -> None:
    everyone_happy = Histogram({5: 50})
    result = compare(everyone_happy, everyone_happy, MetricSpec.default("csat"))
    assert (result.difference, result.p_value, result.significant) == (0, 1.0, False)
    mean_result = compare(Histogram({5: 50}), Histogram({1: 50}), MetricSpec.default("mean"))
    assert mean_result.difference == -4
    assert mean_result.p_value == 0.0
    assert mean_result.significant
    assert (mean_result.ci_low, mean_result.ci_high) == (-4, -4)
    json.dumps(mean_result.to_dict(), allow_nan=False)  # infinite t and df become null


@pytest.mark.parametrize("metric", list(Metric))
@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Histogram(), Histogram({5: 10, 1: 3})),
        (Histogram({5: 10, 1: 3}), Histogram()),
        (Histogram(), Histogram()),
    ],
)
def test_empty_groups_give_nan_without_exception(
    metric: Metric, a: Histogram, b: Histogram
) -> None:
    spec = MetricSpec.default(metric, Scale(0, 10) if metric is Metric.NPS else None)
    result = compare(a, b, spec)
    assert math.isnan(result.difference)
    assert math.isnan(result.ci_low)
    assert math.isnan(result.ci_high)
    assert math.isnan(result.p_value)
    assert not result.significant
    assert result.verdict == "not significant"
    data = result.to_dict()
    assert data["difference"] is None
    assert data["p_value"] is None
    json.dumps(data, allow_nan=False)


@pytest.mark.parametrize("metric", [Metric.CES, Metric.MEAN])
def test_means_need_two_answers_per_group(metric: Metric) -> None:
    result = compare(Histogram({5: 1}), Histogram({1: 10, 2: 10}), MetricSpec.default(metric))
    assert math.isnan(result.p_value)
    assert math.isnan(result.ci_low)
    assert not result.significant


# --- NPS: adjusted-Wald difference ------------------------------------------------------------


def test_nps_comparison_by_hand() -> None:
    a = Histogram({10: 50, 8: 20, 3: 30})  # NPS 20
    b = Histogram({10: 40, 8: 20, 3: 40})  # NPS 0
    result = compare(a, b, MetricSpec.default("nps"))
    assert result.difference == pytest.approx(-20.0)
    # Adjusted: (P + .75) / (n + 3), (D + .75) / (n + 3) in each group.
    pa, da = 50.75 / 103, 30.75 / 103
    pb, db = 40.75 / 103, 40.75 / 103
    var_a, var_b = pa + da - (pa - da) ** 2, pb + db - (pb - db) ** 2
    se = math.sqrt(var_a / 103 + var_b / 103)
    adjusted = (pb - db) - (pa - da)
    z = adjusted / se
    assert result.extra["adjusted_difference"] == pytest.approx(adjusted * 100)
    assert result.extra["z"] == pytest.approx(z)
    assert result.p_value == pytest.approx(2 * scipy.stats.norm.sf(abs(z)))
    assert result.ci_low == pytest.approx((adjusted - 1.959963984540054 * se) * 100)
    assert result.ci_high == pytest.approx((adjusted + 1.959963984540054 * se) * 100)
    assert result.method == "adjusted-Wald difference (z-test)"
    assert not result.significant  # p is about 0.11


def test_nps_comparison_keeps_the_sign() -> None:
    worse = Histogram({10: 20, 8: 30, 2: 50})  # NPS -30
    better = Histogram({10: 60, 8: 30, 2: 10})  # NPS +50
    up = compare(worse, better, MetricSpec.default("nps"))
    down = compare(better, worse, MetricSpec.default("nps"))
    assert up.difference == pytest.approx(80.0)
    assert up.ci_low > 0
    assert up.significant
    assert down.difference == pytest.approx(-80.0)
    assert down.ci_high < 0
    assert down.p_value == pytest.approx(up.p_value)


def test_nps_difference_interval_is_clipped() -> None:
    difference, _, _, low, high = nps_adjusted_wald_difference(0, 1, 1, 1, 0, 1, 0.999)
    assert -2 <= low < difference < high <= 2
    assert high == 2.0
    result = compare(Histogram({0: 1}), Histogram({10: 1}), MetricSpec.default("nps", level=0.999))
    assert -200 <= result.ci_low <= result.ci_high == 200


@settings(deadline=None)
@given(nps_histograms, nps_histograms, st.sampled_from(LEVELS))
def test_swapping_groups_negates_the_comparison(a: Histogram, b: Histogram, level: float) -> None:
    for metric in (Metric.CSAT, Metric.NPS, Metric.MEAN):
        spec = MetricSpec.default(metric, Scale(0, 10), level=level)
        forward, backward = compare(a, b, spec), compare(b, a, spec)
        if math.isnan(forward.p_value):
            assert math.isnan(backward.p_value)
            continue
        assert forward.difference == pytest.approx(-backward.difference, abs=1e-9)
        assert forward.ci_low == pytest.approx(-backward.ci_high, abs=1e-9)
        assert forward.ci_high == pytest.approx(-backward.ci_low, abs=1e-9)
        assert forward.p_value == pytest.approx(backward.p_value, abs=1e-12)
        assert forward.significant == (forward.p_value < 1 - level)


@settings(deadline=None)
@given(nps_histograms, nps_histograms)
def test_nps_comparison_stays_within_bounds(a: Histogram, b: Histogram) -> None:
    result = compare(a, b, MetricSpec.default("nps"))
    if a.n == 0 or b.n == 0:
        assert math.isnan(result.p_value)
        return
    assert -200 <= result.difference <= 200
    assert -200 <= result.ci_low <= result.ci_high <= 200
    assert 0 <= result.p_value <= 1


# --- CES and mean: Welch ------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_welch_matches_scipy(level: float) -> None:
    a_values = [7] * 12 + [6] * 9 + [5] * 4 + [3] * 3 + [1] * 2
    b_values = [7] * 5 + [6] * 6 + [5] * 8 + [4] * 10 + [2] * 6 + [1] * 5
    result = compare(
        Histogram.from_values(a_values),
        Histogram.from_values(b_values),
        MetricSpec.default("ces", level=level),
    )
    expected = scipy.stats.ttest_ind(b_values, a_values, equal_var=False)
    interval = expected.confidence_interval(confidence_level=level)
    assert result.difference == pytest.approx(
        sum(b_values) / len(b_values) - sum(a_values) / len(a_values)
    )
    assert result.extra["t"] == pytest.approx(expected.statistic)
    assert result.extra["df"] == pytest.approx(expected.df)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.ci_low == pytest.approx(interval.low)
    assert result.ci_high == pytest.approx(interval.high)
    assert result.method == "Welch t-test"
    assert result.significant == (expected.pvalue < 1 - level)


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=50),
    st.lists(st.integers(min_value=1, max_value=5), min_size=2, max_size=50),
)
def test_welch_matches_scipy_from_values(a_values: list[int], b_values: list[int]) -> None:
    a, b = Histogram.from_values(a_values), Histogram.from_values(b_values)
    # scipy warns (an error here) when a group has no spread; see the tests below.
    assume(a.variance() > 0 and b.variance() > 0)
    result = compare(a, b, MetricSpec.default("mean"))
    expected = scipy.stats.ttest_ind(b_values, a_values, equal_var=False)
    interval = expected.confidence_interval(confidence_level=0.95)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-12)
    assert result.extra["df"] == pytest.approx(expected.df, rel=1e-9)
    assert result.ci_low == pytest.approx(interval.low, rel=1e-9, abs=1e-9)
    assert result.ci_high == pytest.approx(interval.high, rel=1e-9, abs=1e-9)


def test_welch_with_one_group_without_spread_is_a_one_sample_t_test() -> None:
    b_values = [1, 2, 2, 3, 5]
    result = compare(Histogram({4: 8}), Histogram.from_values(b_values), MetricSpec.default("mean"))
    expected = scipy.stats.ttest_1samp(b_values, 4.0)
    assert result.extra["df"] == pytest.approx(4)
    assert result.p_value == pytest.approx(expected.pvalue)
    assert result.difference == pytest.approx(2.6 - 4)


def test_welch_function_directly() -> None:
    difference, t, df, p, low, high = welch(3.0, 1.0, 50, 3.5, 2.0, 40, 0.95)
    se = math.sqrt(1 / 50 + 2 / 40)
    assert difference == pytest.approx(0.5)
    assert t == pytest.approx(0.5 / se)
    expected_df = se**4 / ((1 / 50) ** 2 / 49 + (2 / 40) ** 2 / 39)
    assert df == pytest.approx(expected_df)
    assert p == pytest.approx(2 * scipy.stats.t.sf(0.5 / se, expected_df))
    half = scipy.stats.t.ppf(0.975, expected_df) * se
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))


# --- output -------------------------------------------------------------------------------------


def test_to_dict_is_json_ready() -> None:
    a = Histogram({10: 50, 8: 20, 3: 30})
    b = Histogram({10: 40, 8: 20, 3: 40})
    data = compare(a, b, MetricSpec.default("nps")).to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["metric"] == "nps"
    assert data["verdict"] == "not significant"
    assert data["significant"] is False
    assert data["a"]["value"] == pytest.approx(20.0)
    assert data["b"]["counts"] == {"promoters": 40, "passives": 20, "detractors": 40}
    assert set(data) >= {"difference", "ci_low", "ci_high", "p_value", "method", "level"}
