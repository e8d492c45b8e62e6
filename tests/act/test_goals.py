"""Goals: progress and forecast maths with worked examples, and the store on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pytest
import statsmodels.api as sm
from sqlalchemy.orm import Session

from cxpulse.act import goals
from cxpulse.act.goals import TrendValue
from cxpulse.metrics import Histogram, MetricResult, MetricSpec, score
from cxpulse.store import accounts, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse, add_responses

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
        steady, baseline=70, target=80, due_date=DAY0 + timedelta(days=91), bounds=(0, 100)
    )
    assert result.status == "on track"
    # Equal weights: slope = Sxy/Sxx = 34.3/245 = 0.14 a day, intercept 71.5 - 0.14*10.5.
    assert result.value == pytest.approx(71.5 - 0.14 * 10.5 + 0.14 * 91)
    assert result.slope_per_month == pytest.approx(0.14 * 30)
    assert result.weeks == 4
    assert result.value is not None
    assert result.ci_low is not None
    assert result.ci_high is not None
    assert result.ci_low < result.value < result.ci_high


def test_forecast_at_risk_when_only_the_interval_reaches_the_target() -> None:
    noisy = _points((0, 70.0, 20), (7, 78.0, 20), (14, 68.0, 20), (21, 75.0, 20))
    result = goals.forecast(noisy, baseline=70, target=80, due_date=DAY0 + timedelta(days=60))
    assert result.value is not None
    assert result.value < 80
    assert result.ci_high is not None
    assert result.ci_high >= 80
    assert result.status == "at risk"


def test_forecast_off_track_when_the_score_falls() -> None:
    falling = _points((0, 72.0, 200), (7, 71.0, 200), (14, 70.1, 200), (21, 69.0, 200))
    result = goals.forecast(falling, baseline=72, target=80, due_date=DAY0 + timedelta(days=90))
    assert result.status == "off track"
    assert result.ci_high is not None
    assert result.ci_high < 80


def test_forecast_of_a_goal_that_goes_down() -> None:
    # DSAT from 20% to 10%, falling two points a week: on track.
    falling = _points((0, 20.0, 50), (7, 18.0, 50), (14, 16.0, 50))
    result = goals.forecast(falling, baseline=20, target=10, due_date=DAY0 + timedelta(days=42))
    assert result.status == "on track"
    assert result.value == pytest.approx(8.0)


def test_forecast_is_clipped_to_the_metric_range() -> None:
    rocket = _points((0, 80.0, 50), (7, 90.0, 50), (14, 100.0, 50))
    result = goals.forecast(
        rocket, baseline=80, target=95, due_date=DAY0 + timedelta(days=70), bounds=(0, 100)
    )
    assert result.value == 100.0


def test_forecast_without_enough_weeks() -> None:
    result = goals.forecast(_points((0, 50.0, 3)), baseline=50, target=60, due_date=DAY0)
    assert result.status == "not enough data"
    assert result.value is None


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


def test_add_months_clamps_to_the_month_end() -> None:
    assert goals.add_months(date(2026, 8, 31), 3) == date(2026, 11, 30)
    assert goals.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert goals.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)


def test_week_middle() -> None:
    assert goals.week_middle("2026-W44", date(2026, 12, 1)) == date(2026, 10, 29)
    # The current, partial week stands at the middle of its days so far.
    assert goals.week_middle("2026-W44", date(2026, 10, 28)) == date(2026, 10, 27)


# --- the store ------------------------------------------------------------------------------

TODAY = date(2026, 10, 28)


@pytest.fixture
def org(session: Session) -> Organisation:
    return accounts.create_organisation(session, slug="acme", name="Acme")


@pytest.fixture
def survey(session: Session, org: Organisation) -> Survey:
    return surveys.create_survey(session, org.id, slug="support", name="Support", metric="csat")


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def _add(
    session: Session,
    org: Organisation,
    survey: Survey,
    day: date,
    scores: list[int],
    channel: str = "email",
) -> None:
    add_responses(
        session,
        org.id,
        [
            NewResponse(survey_id=survey.id, score=s, submitted_at=_at(day), channel=channel)
            for s in scores
        ],
    )


def test_three_month_goal_takes_todays_value_as_baseline(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey, TODAY - timedelta(days=3), [5, 5, 5, 2])  # 75%
    _add(session, org, survey, TODAY - timedelta(days=40), [1, 1, 1, 1])  # outside 30 days
    goal = goals.create_goal(
        session, org.id, survey.id, name="Lift CSAT", target=85, months=3, today=TODAY
    )
    assert goal.baseline == pytest.approx(75.0)
    assert goal.baseline_date == TODAY
    assert goal.due_date == date(2027, 1, 28)
    six = goals.create_goal(
        session, org.id, survey.id, name="Six", target=90, months=6, today=TODAY
    )
    assert six.due_date == date(2027, 4, 28)


def test_goal_report_from_the_store(session: Session, org: Organisation, survey: Survey) -> None:
    # Four weeks of rising CSAT: 50%, 60%, 70%, 80% (10 answers each) on e-mail, and a
    # falling chat segment.
    for week, good in enumerate((5, 6, 7, 8)):
        day = TODAY - timedelta(days=7 * (3 - week))
        _add(session, org, survey, day, [5] * good + [1] * (10 - good))
        _add(session, org, survey, day, [5] * (8 - week) + [1] * (2 + week), channel="chat")
    goal = goals.create_goal(
        session,
        org.id,
        survey.id,
        name="Email to 90",
        target=90,
        baseline=50,
        baseline_date=TODAY - timedelta(days=21),
        due_date=TODAY + timedelta(days=7),
        segment={"channel": "email"},
        today=TODAY,
    )
    report = goals.goal_report(session, org.id, goal, today=TODAY)
    assessment = report.assessment
    assert assessment.current_n == 40
    assert assessment.current == pytest.approx(65.0)
    assert assessment.progress == pytest.approx(37.5)
    forecast = assessment.forecast
    assert forecast.weeks == 4
    assert forecast.status == "on track"
    # Weeks stand at their Thursdays (days 0, 7, 14) and the current one at its middle so far
    # (day 19): slope 320/206 per day; the due date is day 27, 17 days past the mean day 10.
    assert forecast.value == pytest.approx(65 + 320 / 206 * 17)
    chat = goals.create_goal(
        session,
        org.id,
        survey.id,
        name="Chat",
        target=90,
        due_date=TODAY + timedelta(days=7),
        segment={"channel": "chat"},
        today=TODAY,
    )
    assert chat.baseline == pytest.approx(65.0)
    assert goals.goal_report(session, org.id, chat, today=TODAY).assessment.forecast.status == (
        "off track"
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": " ", "target": 80, "months": 3, "baseline": 70}, "name"),
        ({"name": "x", "target": 180, "months": 3, "baseline": 70}, "target"),
        ({"name": "x", "target": 80, "months": 0, "baseline": 70}, "months"),
        ({"name": "x", "target": 80, "baseline": 70}, "due_date"),
        ({"name": "x", "target": 70, "months": 3, "baseline": 70}, "target"),
        ({"name": "x", "target": 80, "months": 3, "due_date": TODAY}, "months"),
        ({"name": "x", "target": 80, "due_date": TODAY, "baseline": 70}, "due_date"),
        ({"name": "x", "target": 80, "months": 3}, "baseline"),  # no answers to start from
        ({"name": "x", "target": 80, "months": 3, "baseline": 7, "segment": {"x": "y"}}, "segment"),
        (
            {"name": "x", "target": 80, "months": 3, "baseline": 7, "segment": {"channel": ""}},
            "segment",
        ),
    ],
)
def test_invalid_goals_name_the_field(
    session: Session, org: Organisation, survey: Survey, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as raised:
        goals.create_goal(session, org.id, survey.id, today=TODAY, **fields)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_goals_are_scoped_to_their_organisation(
    session: Session, org: Organisation, survey: Survey
) -> None:
    other = accounts.create_organisation(session, slug="globex", name="Globex")
    goal = goals.create_goal(
        session, org.id, survey.id, name="Mine", target=80, baseline=70, months=3, today=TODAY
    )
    with pytest.raises(NotFound):
        goals.get_goal(session, other.id, survey.id, goal.id)
    with pytest.raises(NotFound):
        goals.list_goals(session, other.id, survey.id)
    with pytest.raises(NotFound):
        goals.create_goal(
            session,
            other.id,
            survey.id,
            name="Theirs",
            target=80,
            baseline=70,
            months=3,
            today=TODAY,
        )
    with pytest.raises(NotFound):
        goals.delete_goal(session, other.id, survey.id, goal.id)
    assert [g.id for g in goals.list_goals(session, org.id, survey.id)] == [goal.id]


def test_update_and_delete(session: Session, org: Organisation, survey: Survey) -> None:
    goal = goals.create_goal(
        session, org.id, survey.id, name="Mine", target=80, baseline=70, months=3, today=TODAY
    )
    changed = goals.update_goal(
        session, org.id, survey.id, goal.id, name="Renamed", target=85, today=TODAY
    )
    assert (changed.name, changed.target) == ("Renamed", 85.0)
    with pytest.raises(Invalid) as raised:
        goals.update_goal(session, org.id, survey.id, goal.id, target=70, today=TODAY)
    assert raised.value.field == "target"
    goals.delete_goal(session, org.id, survey.id, goal.id)
    with pytest.raises(NotFound):
        goals.get_goal(session, org.id, survey.id, goal.id)


def test_a_goal_on_another_metric_of_the_same_answers(
    session: Session, org: Organisation, survey: Survey
) -> None:
    # 10 answers in the last 30 days: 6 satisfied (4-5), 3 dissatisfied (1-2), one 3.
    _add(session, org, survey, TODAY - timedelta(days=2), [5, 5, 5, 4, 4, 4, 1, 1, 2, 3])
    fewer_unhappy = goals.create_goal(
        session,
        org.id,
        survey.id,
        name="DSAT down",
        metric="dsat",
        target=10,
        months=3,
        today=TODAY,
    )
    assert fewer_unhappy.metric == "dsat"
    assert fewer_unhappy.baseline == pytest.approx(30.0)
    report = goals.goal_report(session, org.id, fewer_unhappy, today=TODAY)
    assert report.metric == "dsat"
    assert report.assessment.current == pytest.approx(30.0)
    mean = goals.create_goal(
        session, org.id, survey.id, name="Mean up", metric="mean", target=4.5, months=3, today=TODAY
    )
    assert mean.baseline == pytest.approx(3.4)
    # The survey's own metric is stored as "no metric of its own".
    own = goals.create_goal(
        session, org.id, survey.id, name="CSAT", metric="csat", target=80, months=3, today=TODAY
    )
    assert own.metric is None
    assert goals.goal_report(session, org.id, own, today=TODAY).metric == "csat"
    with pytest.raises(Invalid) as raised:
        goals.create_goal(
            session, org.id, survey.id, name="NPS", metric="nps", target=30, months=3, today=TODAY
        )
    assert raised.value.field == "metric"
    with pytest.raises(Invalid) as raised:  # a mean on 1-5 cannot reach 50
        goals.create_goal(
            session, org.id, survey.id, name="M", metric="mean", target=50, months=3, today=TODAY
        )
    assert raised.value.field == "target"
    with pytest.raises(Invalid) as raised:  # a mean of 3.4 is no CSAT baseline
        goals.update_goal(session, org.id, survey.id, mean.id, metric="csat", today=TODAY)
    assert raised.value.field == "metric"
    updated = goals.update_goal(
        session, org.id, survey.id, mean.id, metric="csat", target=80, baseline=60, today=TODAY
    )
    assert updated.metric is None
