"""Theme impacts: checked against direct computation on small hand examples and independent
libraries (statsmodels for Newcombe, scipy for Welch), and by properties over many groups."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep

from cxpulse.metrics import Histogram, Metric, MetricSpec, Scale, compare, score
from cxpulse.text.theme_impact import (
    better_when_higher,
    by_effect,
    costs_most,
    theme_impact,
    theme_impacts,
    wins_most,
)

# 100 answers on 1-5: CSAT 60 %, DSAT 20 %, mean 3.6.
EVERYONE = Histogram({1: 10, 2: 10, 3: 20, 4: 30, 5: 30})
# 20 of them mention late delivery and are unhappy: CSAT 20 %.
LATE = Histogram({1: 8, 2: 4, 3: 4, 4: 2, 5: 2})
# 26 mention friendly staff and are happy: CSAT 25/26.
STAFF = Histogram({3: 1, 4: 10, 5: 15})


def test_csat_by_hand() -> None:
    spec = MetricSpec.default("csat")
    impact = theme_impact("delivery-delay", EVERYONE, LATE, spec, comments=60, mentions=24)
    # Without the theme: 80 answers, 56 satisfied -> 70 %. Overall 60 %.
    assert impact.with_theme.value == pytest.approx(20.0)
    assert impact.without_theme.value == pytest.approx(70.0)
    assert impact.without_theme.n == 80
    assert impact.overall.value == pytest.approx(60.0)
    assert impact.scored_share == pytest.approx(0.2)
    assert impact.impact == pytest.approx(60.0 - 70.0)
    # The interval: the share 0.2 times Newcombe's interval of 4/20 - 56/80 (statsmodels).
    low, high = confint_proportions_2indep(4, 20, 56, 80, method="newcomb", compare="diff")
    assert impact.impact_ci_low == pytest.approx(0.2 * low * 100)
    assert impact.impact_ci_high == pytest.approx(0.2 * high * 100)
    assert impact.significant
    # Share of comments: 24 of 60, Wilson.
    assert impact.share == pytest.approx(40.0)
    wilson = scipy.stats.binomtest(24, 60).proportion_ci(0.95, method="wilson")
    assert impact.share_ci_low == pytest.approx(wilson.low * 100)
    assert impact.share_ci_high == pytest.approx(wilson.high * 100)
    assert impact.too_small  # 20 mentioners < 30
    assert impact.effect == impact.impact


def test_mean_by_hand_against_welch_on_the_raw_answers() -> None:
    spec = MetricSpec.default("mean")
    impact = theme_impact("staff", EVERYONE, STAFF, spec, comments=100)
    with_values = np.repeat([3, 4, 5], [1, 10, 15])
    rest = np.repeat([1, 2, 3, 4, 5], [10, 10, 19, 20, 15])
    assert impact.without_theme.value == pytest.approx(rest.mean())
    everyone = np.concatenate([with_values, rest])
    assert impact.impact == pytest.approx(everyone.mean() - rest.mean())
    welch = scipy.stats.ttest_ind(with_values, rest, equal_var=False).confidence_interval(0.95)
    share = 26 / 100
    assert impact.impact_ci_low == pytest.approx(share * welch.low)
    assert impact.impact_ci_high == pytest.approx(share * welch.high)
    assert impact.difference_method == "Welch t-test"
    assert impact.mentions == 26  # scored mentioners when no count is given


def test_nps_by_hand() -> None:
    spec = MetricSpec.default("nps")
    everyone = Histogram({0: 20, 5: 20, 7: 20, 8: 20, 9: 40, 10: 40})  # NPS (80 - 40) / 160 = 25
    rude = Histogram({0: 15, 5: 10, 9: 5})  # NPS (5 - 25) / 30 = -66.7
    impact = theme_impact("staff-friendliness", everyone, rude, spec, comments=90)
    rest = Histogram({0: 5, 5: 10, 7: 20, 8: 20, 9: 35, 10: 40})  # (75 - 15) / 130
    assert impact.overall.value == pytest.approx(25.0)
    assert impact.without_theme.value == pytest.approx(60 / 130 * 100)
    assert impact.impact == pytest.approx(25.0 - 60 / 130 * 100)
    direct = compare(rest, rude, spec)
    assert impact.impact_ci_low == pytest.approx(30 / 160 * direct.ci_low)
    assert impact.impact_ci_high == pytest.approx(30 / 160 * direct.ci_high)
    assert impact.difference_method == direct.method


def test_dsat_costs_when_it_rises() -> None:
    spec = MetricSpec.default("dsat")
    late = theme_impact("late", EVERYONE, LATE, spec, comments=60)
    staff = theme_impact("staff", EVERYONE, STAFF, spec, comments=60)
    # Late delivery raises DSAT (12 of 20 dissatisfied against 8 of 80): impact +10 points.
    assert late.impact == pytest.approx(20.0 - 10.0)
    assert late.effect < 0 < staff.effect
    assert [i.theme for i in costs_most([staff, late])] == ["late"]
    assert [i.theme for i in wins_most([staff, late])] == ["staff"]
    assert not better_when_higher(Metric.DSAT)
    assert better_when_higher(Metric.CSAT)


def test_a_theme_that_scores_like_the_rest_has_no_impact() -> None:
    spec = MetricSpec.default("csat")
    half = Histogram({1: 5, 2: 5, 3: 10, 4: 15, 5: 15})
    impact = theme_impact("price", half + half, half, spec, comments=100)
    assert impact.impact == 0.0
    assert impact.impact_ci_low < 0 < impact.impact_ci_high
    assert not impact.significant
    for metric in ("dsat", "nps", "mean"):
        nps_half = Histogram({0: 3, 6: 7, 7: 10, 9: 10, 10: 5})
        h = nps_half if metric == "nps" else half
        same = theme_impact("price", h + h, h, MetricSpec.default(metric), comments=100)
        assert same.impact == pytest.approx(0.0, abs=1e-12)
        assert same.impact_ci_low <= 0 <= same.impact_ci_high


def test_ranking_helpers() -> None:
    spec = MetricSpec.default("csat")
    neutral = Histogram({1: 1, 2: 1, 3: 2, 4: 3, 5: 3})
    impacts = theme_impacts(
        EVERYONE,
        {"staff": STAFF, "late": LATE, "unscored": Histogram(), "neutral": neutral},
        spec,
        comments=80,
        mentions={"unscored": 4},
    )
    assert [i.theme for i in impacts] == ["late", "neutral", "staff", "unscored"]
    assert [i.theme for i in costs_most(impacts)] == ["late"]
    assert [i.theme for i in wins_most(impacts)] == ["staff"]
    assert costs_most(impacts, significant_only=True) == [impacts[0]]
    unscored = impacts[-1]
    # Four comments mention it, none with a score: share known, impact not.
    assert unscored.mentions == 4
    assert unscored.share == pytest.approx(5.0)
    assert math.isnan(unscored.impact)
    assert not unscored.significant
    assert unscored.to_dict()["impact"] is None
    assert by_effect(reversed(impacts)) == impacts


def test_a_theme_everyone_mentions_has_no_rest_to_compare_with() -> None:
    impact = theme_impact("all", LATE, LATE, MetricSpec.default("csat"), comments=20)
    assert math.isnan(impact.impact)
    assert impact.without_theme.n == 0


def test_inconsistent_inputs_are_refused() -> None:
    spec = MetricSpec.default("csat")
    with pytest.raises(ValueError, match="part of everyone"):
        theme_impact("x", LATE, EVERYONE, spec, comments=200)
    with pytest.raises(ValueError, match="between 0 and the number of comments"):
        theme_impact("x", EVERYONE, LATE, spec, comments=10)
    with pytest.raises(ValueError, match="each scored mention"):
        theme_impact("x", EVERYONE, LATE, spec, comments=60, mentions=5)


def test_to_dict_is_json_ready() -> None:
    impact = theme_impact("late", EVERYONE, LATE, MetricSpec.default("csat"), comments=60)
    out = impact.to_dict()
    assert out["theme"] == "late"
    assert out["metric"] == "csat"
    assert out["with_theme"]["n"] == 20
    assert out["without_theme"]["n"] == 80
    assert out["significant"] is True
    assert out["too_small"] is True
    assert out["impact"] == pytest.approx(-10.0)


# --- properties over many groups ------------------------------------------------------------

SPECS = {
    "csat": MetricSpec.default("csat"),
    "dsat": MetricSpec.default("dsat"),
    "nps": MetricSpec.default("nps"),
    "mean": MetricSpec.default("mean"),
    "ces": MetricSpec.default("ces", Scale(1, 7)),
    "csat90": MetricSpec.default("csat", level=0.9, min_n=5),
}


@st.composite
def groups(draw: st.DrawFn) -> tuple[MetricSpec, Histogram, Histogram]:
    spec = SPECS[draw(st.sampled_from(sorted(SPECS)))]
    values = list(spec.scale.values)
    rest = draw(st.lists(st.integers(0, 40), min_size=len(values), max_size=len(values)))
    part = draw(st.lists(st.integers(0, 40), min_size=len(values), max_size=len(values)))
    mentioners = Histogram(dict(zip(values, part, strict=True)))
    everyone = mentioners + Histogram(dict(zip(values, rest, strict=True)))
    return spec, everyone, mentioners


@settings(max_examples=400, deadline=None, derandomize=True)
@given(groups())
def test_impact_is_overall_minus_without_and_inside_its_interval(
    group: tuple[MetricSpec, Histogram, Histogram],
) -> None:
    spec, everyone, mentioners = group
    impact = theme_impact("t", everyone, mentioners, spec, comments=everyone.n)
    without_n = everyone.n - mentioners.n
    assert impact.with_theme.n == mentioners.n
    assert impact.without_theme.n == without_n
    if mentioners.n == 0 or without_n == 0:
        assert math.isnan(impact.impact)
        return
    direct = score(everyone, spec).value - impact.without_theme.value
    assert impact.impact == pytest.approx(direct, abs=1e-9)
    low, high = impact.impact_ci_low, impact.impact_ci_high
    if math.isnan(low):  # a mean of one answer on a side: no interval, never a wrong one
        assert spec.metric in (Metric.MEAN, Metric.CES)
        assert min(mentioners.n, without_n) < 2
        assert not impact.significant
        return
    assert low - 1e-9 <= impact.impact <= high + 1e-9
    assert impact.significant == (low > 0 or high < 0)
    assert impact.too_small == (min(mentioners.n, without_n) < spec.min_n)
    if everyone.n:
        assert impact.share_ci_low <= impact.share <= impact.share_ci_high


def test_the_interval_contains_the_estimate_at_the_edge_of_the_scale() -> None:
    from cxpulse.metrics import Histogram, MetricSpec
    from cxpulse.metrics.scales import Scale
    from cxpulse.text.theme_impact import theme_impact

    spec = MetricSpec.default("csat", Scale(1, 5))
    # Everyone who mentions the theme is dissatisfied, everyone else satisfied.
    mentioners = Histogram({1: 37})
    everyone = Histogram({1: 37, 5: 263})
    result = theme_impact("delivery", everyone, mentioners, spec, comments=37)
    assert result.impact_ci_low <= result.impact <= result.impact_ci_high
