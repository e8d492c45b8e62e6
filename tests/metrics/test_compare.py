import json
import math

import pytest
import scipy.stats
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from cxpulse.metrics import Comparison, Histogram, Metric, MetricSpec, Scale, intervals
from cxpulse.metrics.compare import (
    compare,
    mover_difference,
    newcombe_difference,
    nps_adjusted_wald_difference,
    nps_keeps_adjusted_wald,
    nps_mover_difference,
    p_value_from_interval,
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
    expected_low, expected_high = confint_proportions_2indep(50, 80, 60, 70, method="newcomb")
    assert result.ci_low == pytest.approx(expected_low * 100)
    assert result.ci_high == pytest.approx(expected_high * 100)
    assert result.ci_high < 0
    # The p-value is the level at which the Newcombe interval's upper end reaches 0.
    _, upper_at_p = confint_proportions_2indep(
        50, 80, 60, 70, method="newcomb", alpha=result.p_value
    )
    assert upper_at_p == pytest.approx(0, abs=1e-9)
    assert result.p_value == pytest.approx(0.00143, abs=1e-5)  # pooled z-test: 0.00134
    assert result.significant
    assert result.verdict == "significant"
    assert "Newcombe" in result.method


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


# --- every interval contains the observed difference; the verdict is the interval's ----------

ALL_LEVELS = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]
NPS_SCALE = Scale(0, 10)


def nps_group(promoters: int, detractors: int, n: int) -> Histogram:
    """``n`` answers on 0-10: ``promoters`` tens, ``detractors`` zeros, the rest sevens."""
    counts = {10: promoters, 7: n - promoters - detractors, 0: detractors}
    return Histogram({value: count for value, count in counts.items() if count})


def small_nps_groups(largest: int) -> list[tuple[int, int, int]]:
    """Every (promoters, detractors, n) with 1 <= n <= ``largest``."""
    return [
        (promoters, detractors, n)
        for n in range(1, largest + 1)
        for promoters in range(n + 1)
        for detractors in range(n + 1 - promoters)
    ]


@st.composite
def skewed_nps_group(draw: st.DrawFn, smallest: int = 1, largest: int = 300) -> Histogram:
    """An NPS group, often all or nearly all promoters or detractors: where adjusted Wald's
    pseudo answers pull hardest."""
    n = draw(st.integers(min_value=smallest, max_value=largest))
    off = draw(st.integers(min_value=0, max_value=min(n, 3)))
    shape = draw(st.sampled_from(["promoters", "detractors", "any"]))
    if shape == "promoters":
        promoters, detractors = n - off, draw(st.integers(min_value=0, max_value=off))
    elif shape == "detractors":
        detractors, promoters = n - off, draw(st.integers(min_value=0, max_value=off))
    else:
        promoters = draw(st.integers(min_value=0, max_value=n))
        detractors = draw(st.integers(min_value=0, max_value=n - promoters))
    return nps_group(promoters, detractors, n)


def assert_reads_true(result: Comparison) -> None:
    """The interval holds the difference; significant exactly when it excludes 0 and exactly
    when p < 1 - level (away from a hair's breadth of the boundary)."""
    assert result.ci_low <= result.difference <= result.ci_high
    assert result.significant == (result.ci_low > 0 or result.ci_high < 0)
    if abs(result.p_value - (1 - result.level)) > 1e-9:
        assert result.significant == (result.p_value < 1 - result.level)


def test_nps_difference_contains_the_observed_difference_for_every_small_pair() -> None:
    """Every pair of NPS groups of 1 to 11 answers (131,769 pairs) at every level offered: the
    interval ``compare`` uses contains the observed difference. Adjusted Wald alone missed it
    in 1,050 of them at 95 %."""
    groups = small_nps_groups(11)
    for level in ALL_LEVELS:
        missed = 0
        for promoters_a, detractors_a, n_a in groups:
            score_a = (promoters_a - detractors_a) / n_a
            for promoters_b, detractors_b, n_b in groups:
                counts = (promoters_a, detractors_a, n_a, promoters_b, detractors_b, n_b)
                assert not nps_keeps_adjusted_wald(*counts, level)  # all below 30 answers
                low, high = nps_mover_difference(*counts, level)
                difference = (promoters_b - detractors_b) / n_b - score_a
                missed += not -2 <= low <= difference <= high <= 2
        assert missed == 0, level


def test_adjusted_wald_alone_misses_small_differences() -> None:
    """The failure the MOVER interval replaces, counted as in the issue."""
    groups = small_nps_groups(11)
    missed = 0
    for pa, da, na in groups:
        for pb, db, nb in groups:
            *_, low, high = nps_adjusted_wald_difference(pa, da, na, pb, db, nb, 0.95)
            missed += not low <= (pb - db) / nb - (pa - da) / na <= high
    assert missed == 1050


@pytest.mark.parametrize("level", ALL_LEVELS)
def test_every_comparison_of_tiny_groups_reads_true(level: float) -> None:
    """``compare`` itself, p-value included, for every pair of groups of 1 to 3 answers."""
    histograms = [nps_group(*group) for group in small_nps_groups(3)]
    for a in histograms:
        for b in histograms:
            for metric in (Metric.NPS, Metric.CSAT, Metric.MEAN):
                result = compare(a, b, MetricSpec.default(metric, NPS_SCALE, level=level))
                if metric is Metric.MEAN and min(a.n, b.n) < 2:
                    continue  # no interval: see test_welch_without_two_answers_has_no_interval
                assert_reads_true(result)


def test_newcombe_contains_the_difference_for_every_small_pair() -> None:
    """Every pair of proportions of 1 to 20 answers at every level offered."""
    samples = [(k, n) for n in range(1, 21) for k in range(n + 1)]
    for level in ALL_LEVELS:
        for k_a, n_a in samples:
            for k_b, n_b in samples:
                low, high = newcombe_difference(k_a, n_a, k_b, n_b, level)
                assert -1 <= low <= k_b / n_b - k_a / n_a <= high <= 1


@settings(max_examples=300, derandomize=True, deadline=None)
@given(skewed_nps_group(), skewed_nps_group(), st.sampled_from(ALL_LEVELS))
def test_nps_comparison_reads_true(a: Histogram, b: Histogram, level: float) -> None:
    assert_reads_true(compare(a, b, MetricSpec.default("nps", NPS_SCALE, level=level)))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    skewed_nps_group(smallest=30),
    skewed_nps_group(smallest=30),
    st.sampled_from(ALL_LEVELS),
)
def test_published_nps_differences_do_not_move(a: Histogram, b: Histogram, level: float) -> None:
    """From 30 answers in each group, wherever adjusted Wald holds the observed difference,
    the interval, z and p are adjusted Wald's to the last digit; elsewhere MOVER."""
    result = compare(a, b, MetricSpec.default("nps", NPS_SCALE, level=level))
    bands_a = (a.count_at_least(9), a.count_at_most(6), a.n)
    bands_b = (b.count_at_least(9), b.count_at_most(6), b.n)
    adjusted, _, z, low, high = nps_adjusted_wald_difference(*bands_a, *bands_b, level)
    if low * 100 <= result.difference <= high * 100:
        assert result.method == "adjusted-Wald difference (z-test)"
        assert (result.ci_low, result.ci_high) == (low * 100, high * 100)
        assert result.p_value == intervals.normal_two_sided_p(z)
        assert result.extra["adjusted_difference"] == adjusted * 100
    else:
        assert result.method.startswith("MOVER")
        assert (result.ci_low, result.ci_high) == tuple(
            x * 100 for x in nps_mover_difference(*bands_a, *bands_b, level)
        )
    assert_reads_true(result)


def test_opposite_extremes_with_many_answers_use_mover() -> None:
    """200 promoters against 200 detractors: adjusted Wald's centre is 197.0 and its upper end
    199.9, below the observed 200; MOVER reaches it."""
    *_, high = nps_adjusted_wald_difference(0, 200, 200, 200, 0, 200, 0.95)
    assert high < 2
    result = compare(nps_group(0, 200, 200), nps_group(200, 0, 200), MetricSpec.default("nps"))
    assert result.method.startswith("MOVER")
    assert result.difference == result.ci_high == 200
    assert result.significant
    assert result.p_value < 1e-15


@settings(max_examples=300, derandomize=True, deadline=None)
@given(two_samples(), st.sampled_from(ALL_LEVELS))
def test_proportion_comparison_reads_true(counts: tuple[int, int, int, int], level: float) -> None:
    k_a, n_a, k_b, n_b = counts
    a = Histogram({value: count for value, count in {5: k_a, 1: n_a - k_a}.items() if count})
    b = Histogram({value: count for value, count in {5: k_b, 1: n_b - k_b}.items() if count})
    result = compare(a, b, MetricSpec.default("csat", level=level))
    assert_reads_true(result)
    if 1e-6 < result.p_value < 1:
        # The p-value is where 0 reaches the Newcombe interval (below 1e-6 the level 1 - p
        # is too close to 1 for a double to place the bound this precisely).
        low, high = newcombe_difference(k_a, n_a, k_b, n_b, 1 - result.p_value)
        assert min(abs(low), abs(high)) == pytest.approx(0, abs=1e-7)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=300),
    st.lists(st.integers(min_value=1, max_value=7), min_size=2, max_size=300),
    st.sampled_from(ALL_LEVELS),
)
def test_welch_comparison_reads_true(
    a_values: list[int], b_values: list[int], level: float
) -> None:
    a, b = Histogram.from_values(a_values), Histogram.from_values(b_values)
    assert_reads_true(compare(a, b, MetricSpec.default("ces", level=level)))


@pytest.mark.parametrize("metric", [Metric.CES, Metric.MEAN])
def test_welch_without_two_answers_has_no_interval(metric: Metric) -> None:
    """One answer has no spread to test against: no interval, no p-value, never a verdict of
    "significant"; the difference itself is still reported."""
    result = compare(Histogram({3: 1}), Histogram({6: 1}), MetricSpec.default(metric))
    assert result.difference == 3
    assert math.isnan(result.ci_low)
    assert math.isnan(result.ci_high)
    assert math.isnan(result.p_value)
    assert result.verdict == "not significant"
    data = result.to_dict()
    assert (data["ci_low"], data["ci_high"], data["p_value"]) == (None, None, None)


def test_mover_difference_by_hand() -> None:
    # Newcombe's interval is MOVER on Wilson intervals.
    wilson_a, wilson_b = intervals.wilson(6, 10, 0.95), intervals.wilson(9, 12, 0.95)
    assert mover_difference(0.6, wilson_a, 0.75, wilson_b) == pytest.approx(
        newcombe_difference(6, 10, 9, 12, 0.95)
    )
    low, high = mover_difference(0.2, (0.1, 0.5), 0.6, (0.3, 0.8))
    assert low == pytest.approx(0.4 - math.sqrt(0.3**2 + 0.3**2))
    assert high == pytest.approx(0.4 + math.sqrt(0.2**2 + 0.1**2))


def test_nps_mover_by_hand() -> None:
    """One detractor against one promoter: each NPS interval is Tango's (-100 to 58.7 and
    -58.7 to 100 at 95 %); the difference 200 sits at the top of its interval."""
    _low_a, high_a = intervals.nps_interval(0, 1, 1, 0.95)
    low_b, _high_b = intervals.nps_interval(1, 0, 1, 0.95)
    low, high = nps_mover_difference(0, 1, 1, 1, 0, 1, 0.95)
    assert high == 2.0
    assert low == pytest.approx(2 - math.sqrt((1 - low_b) ** 2 + (high_a + 1) ** 2))
    result = compare(nps_group(0, 1, 1), nps_group(1, 0, 1), MetricSpec.default("nps"))
    assert (result.difference, result.ci_high) == (200, 200)
    assert result.ci_low == pytest.approx(low * 100)
    assert result.method == "MOVER difference of the two NPS intervals (p-value from the interval)"


def test_p_value_from_interval_inverts_a_wald_interval() -> None:
    """On an interval whose test is known, d ± z·se, the p-value found is the z-test's."""
    for difference, se in [(0.3, 0.1), (-0.05, 0.04), (1.2, 0.15), (0.001, 2.0)]:

        def wald(level: float, d: float = difference, s: float = se) -> tuple[float, float]:
            half = intervals.z_quantile(level) * s
            return (d - half, d + half)

        expected = intervals.normal_two_sided_p(difference / se)
        assert p_value_from_interval(wald, difference) == pytest.approx(expected, rel=1e-8)
    assert p_value_from_interval(lambda level: (-1.0, 1.0), 0.0) == 1.0
    assert math.isnan(p_value_from_interval(lambda level: (math.nan, math.nan), math.nan))
