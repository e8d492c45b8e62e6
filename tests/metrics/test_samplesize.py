import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.metrics import Metric, SampleSizePlan, Scale, intervals, required_sample_size
from cxpulse.metrics.samplesize import worst_case_nps_variance

Z95 = 1.959963984540054


# --- proportions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "margin", "expected", "n"),
    [
        # 1.96² · .25 / .05² = 384.15 -> 385: the classic worst case.
        ("csat", 5, None, 385),
        ("csat", 3, None, 1068),
        ("dsat", 10, None, 97),
        # 1.96² · .85 · .15 / .03² = 544.2 -> 545.
        ("csat", 3, 0.85, 545),
        ("dsat", 2, 0.1, 865),
    ],
)
def test_proportion_sample_sizes(
    metric: str, margin: float, expected: float | None, n: int
) -> None:
    plan = required_sample_size(metric, margin, expected=expected)
    assert isinstance(plan, SampleSizePlan)
    assert plan.n == n
    assert plan.metric is Metric(metric)
    share = 0.5 if expected is None else expected
    assert plan.assumptions == {"expected_pct": pytest.approx(share * 100)}
    assert plan.n == math.ceil(Z95**2 * share * (1 - share) / (margin / 100) ** 2)


def test_a_higher_level_needs_more_answers() -> None:
    assert required_sample_size("csat", 5, level=0.99).n == 664
    assert required_sample_size("csat", 5, level=0.90).n == 271


@given(
    st.floats(min_value=0.5, max_value=30),
    st.floats(min_value=0.01, max_value=0.99),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_planned_n_is_the_smallest_that_reaches_the_margin(
    margin: float, share: float, level: float
) -> None:
    n = required_sample_size("csat", margin, level=level, expected=share).n
    z = intervals.z_quantile(level)

    def half_width(answers: int) -> float:
        return z * math.sqrt(share * (1 - share) / answers) * 100

    assert half_width(n) <= margin * (1 + 1e-9)
    if n > 1:
        assert half_width(n - 1) > margin * (1 - 1e-9)


@given(st.floats(min_value=0.5, max_value=50), st.floats(min_value=0.5, max_value=50))
def test_a_smaller_margin_needs_at_least_as_many_answers(a: float, b: float) -> None:
    small, large = sorted((a, b))
    for metric in ("csat", "nps"):
        assert required_sample_size(metric, small).n >= required_sample_size(metric, large).n


def test_ces_percent_agree_is_planned_as_a_proportion() -> None:
    plan = required_sample_size("ces", 5, expected=0.7)
    assert plan.n == math.ceil(Z95**2 * 0.7 * 0.3 / 0.05**2)
    assert "% agree" in plan.method


def test_certain_share_needs_one_answer() -> None:
    assert required_sample_size("csat", 5, expected=1.0).n == 1


# --- NPS ------------------------------------------------------------------------------------


def test_nps_worst_case() -> None:
    # Variance 1 at 50 % promoters and 50 % detractors: 1.96² / .05² = 1536.6 -> 1537 adjusted
    # answers, of which three are the pseudo answers of the adjusted-Wald interval.
    plan = required_sample_size("nps", 5)
    assert plan.n == 1534
    assert plan.assumptions == {"promoters_pct": 50.0, "detractors_pct": 50.0}
    assert "- 3" in plan.method


def test_nps_with_expected_shares() -> None:
    # 50 % promoters, 20 % detractors: variance .61, 1.96² · .61 / .05² = 937.4 -> 938 - 3.
    plan = required_sample_size("nps", 5, promoters=0.5, detractors=0.2)
    assert plan.n == 935
    assert plan.assumptions == {
        "promoters_pct": pytest.approx(50.0),
        "detractors_pct": pytest.approx(20.0),
    }


def test_nps_plan_reaches_the_margin_with_the_adjusted_wald_interval() -> None:
    plan = required_sample_size("nps", 10, promoters=0.5, detractors=0.2)
    promoters, detractors = round(0.5 * plan.n), round(0.2 * plan.n)
    low, high = intervals.nps_adjusted_wald(promoters, detractors, plan.n, 0.95)
    assert (high - low) / 2 * 100 == pytest.approx(10, abs=0.1)


def test_nps_tiny_plans_never_go_below_one_answer() -> None:
    assert required_sample_size("nps", 200).n == 1
    assert required_sample_size("nps", 150, promoters=0.9, detractors=0.05).n == 1


@pytest.mark.parametrize(
    ("promoters", "detractors", "variance"),
    [
        (None, None, 1.0),
        (0.5, 0.2, 0.61),
        (0.1, None, 0.45),  # worst detractor share .6
        (None, 0.2, 0.65),  # worst promoter share .7
        (0.6, None, 0.96),  # worst detractor share .4 (the rest)
    ],
)
def test_worst_case_nps_variance(
    promoters: float | None, detractors: float | None, variance: float
) -> None:
    assert worst_case_nps_variance(promoters, detractors) == pytest.approx(variance)


@given(st.floats(min_value=0, max_value=1))
def test_worst_case_variance_is_the_maximum_over_the_unknown_share(known: float) -> None:
    grid = [i / 1000 * (1 - known) for i in range(1001)]
    best = max(intervals.nps_variance(known, other) for other in grid)
    assert worst_case_nps_variance(known, None) == pytest.approx(best, abs=1e-5)
    assert worst_case_nps_variance(None, known) == pytest.approx(best, abs=1e-5)
    assert worst_case_nps_variance(known, None) >= best - 1e-12


# --- means ------------------------------------------------------------------------------------


@settings(deadline=None)
@given(
    st.floats(min_value=0.05, max_value=3),
    st.floats(min_value=0.2, max_value=3),
    st.sampled_from([0.9, 0.95, 0.99]),
)
def test_mean_plan_is_the_smallest_n_whose_t_interval_reaches_the_margin(
    margin: float, sd: float, level: float
) -> None:
    n = required_sample_size("mean", margin, sd=sd, level=level).n
    assert n >= 2

    def half_width(answers: int) -> float:
        low, high = intervals.t_interval(0.0, sd * sd, answers, level)
        return (high - low) / 2

    assert half_width(n) <= margin * (1 + 1e-12)
    if n > 2:
        assert half_width(n - 1) > margin
    # t > z, so never fewer than the normal-theory answer.
    assert n >= math.ceil((intervals.z_quantile(level) * sd / margin) ** 2 - 1e-9)


def test_ces_worst_case_sd_is_half_the_range() -> None:
    plan = required_sample_size("ces", 0.5)
    assert plan.assumptions == {"sd": 3.0}  # 1-7
    assert plan.n == 141
    on_five = required_sample_size("ces", 0.5, scale=Scale(1, 5))
    assert on_five.assumptions == {"sd": 2.0}
    assert required_sample_size("mean", 0.5).assumptions == {"sd": 2.0}  # 1-5
    assert required_sample_size("mean", 0.5, scale=Scale(0, 10)).assumptions == {"sd": 5.0}


def test_mean_with_a_given_sd() -> None:
    # (1.96 · 1 / .2)² = 96.04; t at df 97..98 pushes it to 99.
    plan = required_sample_size("mean", 0.2, sd=1)
    assert plan.n == 99
    assert plan.method.startswith("t")


# --- errors and output ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "csat", "margin": 0}, "positive"),
        ({"metric": "csat", "margin": -3}, "positive"),
        ({"metric": "csat", "margin": math.nan}, "positive"),
        ({"metric": "csat", "margin": 120}, "at most 100"),
        ({"metric": "nps", "margin": 250}, "at most 200"),
        ({"metric": "csat", "margin": 5, "expected": 85}, "share between 0 and 1"),
        ({"metric": "csat", "margin": 5, "expected": -0.1}, "share between 0 and 1"),
        ({"metric": "nps", "margin": 5, "promoters": 1.2}, "share between 0 and 1"),
        ({"metric": "nps", "margin": 5, "promoters": 0.7, "detractors": 0.5}, "more than 1"),
        ({"metric": "nps", "margin": 5, "scale": Scale(1, 5)}, "0-10"),
        ({"metric": "nps", "margin": 5, "sd": 2}, "sd does not apply"),
        ({"metric": "nps", "margin": 5, "expected": 0.5}, "expected does not apply"),
        ({"metric": "csat", "margin": 5, "sd": 1}, "sd does not apply"),
        ({"metric": "csat", "margin": 5, "promoters": 0.5}, "promoters does not apply"),
        ({"metric": "mean", "margin": 0.5, "expected": 0.5}, "expected does not apply"),
        ({"metric": "mean", "margin": 0.5, "sd": 0}, "standard deviation"),
        ({"metric": "mean", "margin": 0.5, "sd": -1}, "standard deviation"),
        ({"metric": "csat", "margin": 5, "level": 95}, "confidence level"),
        ({"metric": "happiness", "margin": 5}, "happiness"),
    ],
)
def test_clear_errors(kwargs: dict[str, object], message: str) -> None:
    metric = kwargs.pop("metric")
    margin = kwargs.pop("margin")
    with pytest.raises(ValueError, match=message):
        required_sample_size(metric, margin, **kwargs)  # type: ignore[arg-type]


def test_plan_to_dict_is_json_ready() -> None:
    data = required_sample_size(Metric.NPS, 5, level=0.9).to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["metric"] == "nps"
    assert data["margin"] == 5
    assert data["level"] == 0.9
    assert data["n"] == required_sample_size("nps", 5, level=0.9).n
    assert data["assumptions"] == {"promoters_pct": 50.0, "detractors_pct": 50.0}
