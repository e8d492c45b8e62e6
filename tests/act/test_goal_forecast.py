"""Where a goal is heading (``act/goal_forecast.py``): progress, the weighted trend and the
forecast, with worked examples and against statsmodels."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import statsmodels.api as sm

from cxpulse.act import goal_forecast as goals
from cxpulse.act.goal_forecast import TrendValue
from cxpulse.metrics import Histogram, MetricResult, MetricSpec, score

DAY0 = date(2026, 1, 5)


def _points(*rows: tuple[int, float, int]) -> list[TrendValue]:
    return [TrendValue(DAY0 + timedelta(days=x), value, n) for x, value, n in rows]


# --- progress -------------------------------------------------------------------------------


def test_progress_upwards_downwards_and_backwards() -> None:
    assert goals.progress(40, 50, 45) == 50.0
    assert goals.progress(40, 50, 50) == 100.0
    assert goals.progress(40, 50, 55) == 150.0
    assert goals.progress(40, 50, 38) == pytest.approx(-20.0)
    # Bringing DSAT down from 20% to 10%: at 16% the goal is 40% done.
    assert goals.progress(20, 10, 16) == pytest.approx(40.0)
    # NPS from -10 to +10: 0 is half way.
    assert goals.progress(-10, 10, 0) == 50.0


def test_progress_needs_a_target_apart_from_the_baseline() -> None:
    with pytest.raises(ValueError, match="differ"):
        goals.progress(40, 40, 41)


# --- the weighted trend ---------------------------------------------------------------------


def test_weighted_trend_worked_example() -> None:
    # Days 0, 10, 20 with values 0, 10, 30 and weights 1, 2, 1:
    # mean x = 40/4 = 10, mean y = 50/4 = 12.5, Sxx = 200, Sxy = 300 -> slope 1.5/day,
    # intercept -2.5; weighted squared residuals 6.25 + 12.5 + 6.25 = 25 over 1 df.
    trend = goals.linear_trend(_points((0, 0.0, 1), (10, 10.0, 2), (20, 30.0, 1)))
    assert trend is not None
    assert trend.slope_per_day == pytest.approx(1.5)
    assert trend.intercept == pytest.approx(-2.5)
    assert trend.residual_variance == pytest.approx(25.0)
    due = DAY0 + timedelta(days=30)
    assert trend.value_at(due) == pytest.approx(42.5)
    # se = sqrt(25 * (1/4 + (30-10)^2/200)) = 7.5; t(0.975, 1 df) = 12.7062
    low, high = trend.interval_at(due) or (0.0, 0.0)
    assert high - 42.5 == pytest.approx(7.5 * 12.7062047, rel=1e-6)
    assert 42.5 - low == pytest.approx(high - 42.5)


def test_weighted_trend_matches_statsmodels_wls() -> None:
    rng = np.random.default_rng(7)
    xs = np.arange(0, 91, 7)
    ns = rng.integers(5, 400, size=xs.size)
    ys = 60 + 0.1 * xs + rng.normal(0, 30, size=xs.size) / np.sqrt(ns)
    points = _points(*((int(x), float(y), int(n)) for x, y, n in zip(xs, ys, ns, strict=True)))
    trend = goals.linear_trend(points)
    assert trend is not None
    model = sm.WLS(ys, sm.add_constant(xs.astype(float)), weights=ns).fit()
    assert trend.intercept == pytest.approx(model.params[0])
    assert trend.slope_per_day == pytest.approx(model.params[1])
    prediction = model.get_prediction(np.array([[1.0, 120.0]]))
    expected_low, expected_high = prediction.conf_int(alpha=0.05)[0]
    low, high = trend.interval_at(DAY0 + timedelta(days=120)) or (0.0, 0.0)
    assert low == pytest.approx(expected_low)
    assert high == pytest.approx(expected_high)


def test_trend_needs_two_days_with_answers_and_skips_empty_weeks() -> None:
    assert goals.linear_trend(_points((0, 50.0, 10))) is None
    assert goals.linear_trend(_points((0, 50.0, 10), (7, 90.0, 0))) is None
    two = goals.linear_trend(_points((0, 50.0, 10), (7, 57.0, 10)))
    assert two is not None
    assert two.slope_per_day == pytest.approx(1.0)
    assert two.interval_at(DAY0) is None  # no degrees of freedom left for an interval


# --- forecasts ------------------------------------------------------------------------------


def test_forecast_on_track_when_the_trend_reaches_the_target() -> None:
    steady = _points((0, 70.0, 100), (7, 71.0, 100), (14, 72.1, 100), (21, 72.9, 100))
    result = goals.forecast(
        steady, baseline=70, target=75, due_date=DAY0 + timedelta(days=42), bounds=(0, 100)
    )
    assert result.status == "on track"
    assert result.reason is None
    # Equal weights: slope = Sxy/Sxx = 34.3/245 = 0.14 a day, intercept 71.5 - 0.14*10.5.
    assert result.value == pytest.approx(71.5 - 0.14 * 10.5 + 0.14 * 42)
    assert result.slope_per_month == pytest.approx(0.14 * 30)
    assert result.weeks == 4
    assert result.value is not None
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < result.value < result.ci_high


def test_forecast_at_risk_when_only_the_interval_reaches_the_target() -> None:
    noisy = _points((0, 70.0, 20), (7, 78.0, 20), (14, 68.0, 20), (21, 75.0, 20))
    result = goals.forecast(noisy, baseline=70, target=80, due_date=DAY0 + timedelta(days=42))
    assert result.value is not None
    assert result.value < 80
    assert result.ci_high is not None
    assert result.ci_high >= 80
    assert result.status == "at risk"


def test_forecast_off_track_when_the_score_falls() -> None:
    falling = _points((0, 72.0, 200), (7, 71.0, 200), (14, 70.1, 200), (21, 69.0, 200))
    result = goals.forecast(falling, baseline=72, target=80, due_date=DAY0 + timedelta(days=42))
    assert result.status == "off track"
    assert result.ci_high is not None
    assert result.ci_high < 80


def test_forecast_of_a_goal_that_goes_down() -> None:
    # DSAT from 20% to 10%, falling two points a week: on track.
    falling = _points((0, 20.0, 50), (7, 18.0, 50), (14, 16.0, 50), (21, 14.0, 50))
    result = goals.forecast(falling, baseline=20, target=10, due_date=DAY0 + timedelta(days=42))
    assert result.status == "on track"
    assert result.value == pytest.approx(8.0)


def test_forecast_is_clipped_to_the_metric_range() -> None:
    rocket = _points((0, 80.0, 50), (7, 90.0, 50), (14, 100.0, 50), (21, 100.0, 50))
    result = goals.forecast(
        rocket, baseline=80, target=95, due_date=DAY0 + timedelta(days=42), bounds=(0, 100)
    )
    # The line reaches 124 at day 42: clipped to the metric's 100.
    assert result.value == 100.0
    assert result.ci_high == 100.0


def test_forecast_without_enough_weeks() -> None:
    result = goals.forecast(_points((0, 50.0, 3)), baseline=50, target=60, due_date=DAY0)
    assert result.status == "not enough data"
    assert result.value is None
    three = _points((0, 50.0, 30), (7, 52.0, 30), (14, 54.0, 30), (21, 56.0, 0))
    result = goals.forecast(three, baseline=50, target=60, due_date=DAY0 + timedelta(days=20))
    assert result.status == "not enough data"
    assert result.weeks == 3  # the week without answers does not count
    assert result.reason == (
        "not enough data to forecast: 3 weeks with answers, a forecast needs at least 4"
    )


def _weekly(weeks: int) -> list[TrendValue]:
    return [TrendValue(DAY0 + timedelta(weeks=w), 70.0 - 0.5 * w, 100) for w in range(weeks)]


def test_a_forecast_reaches_no_further_than_its_history() -> None:
    # 13 weekly values (days 0 to 84): today is day 84, so 84 days of history behind the line.
    points = _weekly(13)
    today = DAY0 + timedelta(days=84)
    year_out = goals.forecast(
        points, baseline=70, target=80, due_date=today + timedelta(days=365), today=today
    )
    assert year_out.status == "not enough data"
    assert year_out.value is None
    assert year_out.ci_low is None
    assert year_out.weeks == 13
    assert year_out.reason == (
        "not enough history to forecast: due in 12 months, which needs 53 weeks of answers "
        "behind the trend; there are 12 weeks"
    )
    # As far ahead as the history behind it: a forecast, with its interval.
    as_far = goals.forecast(
        points, baseline=70, target=80, due_date=today + timedelta(days=84), today=today
    )
    assert as_far.reason is None
    assert as_far.value == pytest.approx(70 - 0.5 / 7 * 168)
    assert as_far.status == "off track"
    one_day_more = goals.forecast(
        points, baseline=70, target=80, due_date=today + timedelta(days=85), today=today
    )
    assert one_day_more.value is None
    assert one_day_more.reason is not None
    assert "due in 3 months" in one_day_more.reason


def test_history_needed_rounds_weeks_up_and_never_below_the_minimum() -> None:
    assert goals.history_needed(DAY0, DAY0 + timedelta(days=3)) == goals.MIN_WEEKS
    assert goals.history_needed(DAY0, DAY0 + timedelta(days=92)) == 14
    assert goals.history_needed(DAY0, DAY0 - timedelta(days=10)) == goals.MIN_WEEKS


# --- how progress and status are shown --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text", "bar", "words"),
    [
        (-0.04, "0%", 0.0, None),  # never "−0.0%"
        (0.4, "0%", 0.4, None),
        (37.5, "38%", 37.5, None),
        (-12.6, "\N{MINUS SIGN}13%", 0.0, "moved away from the target"),
        (100.0, "100%", 100.0, "at or past the target"),
        (212.0, "212%", 100.0, "at or past the target"),
        (None, "–", 0.0, None),
    ],
)
def test_progress_as_shown(value: float | None, text: str, bar: float, words: str | None) -> None:
    forecast = goals.Forecast("on track", DAY0, None, None, None, None, 0)
    assessment = goals.Assessment(None, 0, value, forecast)
    assert assessment.progress_text == text
    assert assessment.progress_bar == bar
    if words is None:
        assert assessment.progress_words is None
    else:
        assert words in (assessment.progress_words or "")


def test_status_words_and_classes() -> None:
    met = goals.Forecast("met", DAY0, 80.0, None, None, None, 0)
    assert met.status_words == "reached"
    assert met.status_class == "reached"
    assert met.to_dict()["status"] == "met"  # the API keeps its value
    none = goals.Forecast("not enough data", DAY0, None, None, None, None, 2, "why")
    assert none.status_class == "not-enough-data"
    assert none.to_dict()["reason"] == "why"


def _result(values: list[float]) -> MetricResult:
    from cxpulse.metrics.scales import Scale

    return score(Histogram.from_values(values), MetricSpec.default("csat", Scale(1, 5)))


def test_assess_judges_a_passed_due_date_on_the_current_value() -> None:
    current = _result([5, 5, 5, 4, 1])  # CSAT 80%
    met = goals.assess(
        baseline=70, target=75, due_date=DAY0, today=DAY0, current=current, points=[]
    )
    assert met.forecast.status == "met"
    assert met.progress == pytest.approx(200.0)
    missed = goals.assess(
        baseline=70, target=90, due_date=DAY0, today=DAY0, current=current, points=[]
    )
    assert missed.forecast.status == "missed"
    assert missed.current == pytest.approx(80.0)
    assert missed.current_n == 5
