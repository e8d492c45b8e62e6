"""Goals on both databases (``act/goals.py``, ``act/goal_progress.py``): setting, changing
and removing them, and where they stand computed from the store."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.act import goal_progress, goals
from cxpulse.store import accounts, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse, add_responses


def test_add_months_clamps_to_the_month_end() -> None:
    assert goals.add_months(date(2026, 8, 31), 3) == date(2026, 11, 30)
    assert goals.add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)
    assert goals.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)


def test_week_middle() -> None:
    assert goal_progress.week_middle("2026-W44", date(2026, 12, 1)) == date(2026, 10, 29)
    # The current, partial week stands at the middle of its days so far.
    assert goal_progress.week_middle("2026-W44", date(2026, 10, 28)) == date(2026, 10, 27)


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


def test_trend_weeks_grow_with_the_due_date_up_to_two_years() -> None:
    from cxpulse.act.goal_progress import MAX_TREND_WEEKS, TREND_WEEKS, trend_weeks

    assert trend_weeks(TODAY, TODAY + timedelta(days=30)) == TREND_WEEKS
    # Six months ahead (182 days): 26 weeks needed, two more for the half weeks at the ends.
    assert trend_weeks(TODAY, goals.add_months(TODAY, 6)) == 28
    assert trend_weeks(TODAY, goals.add_months(TODAY, 24)) == MAX_TREND_WEEKS
    assert trend_weeks(TODAY, TODAY - timedelta(days=9)) == TREND_WEEKS


def test_a_far_goal_on_a_short_history_says_why_it_has_no_forecast(
    session: Session, org: Organisation, survey: Survey
) -> None:
    for week in range(6):
        _add(session, org, survey, TODAY - timedelta(days=7 * week), [5, 5, 4, 2])
    far = goals.create_goal(
        session, org.id, survey.id, name="Far", target=90, months=12, today=TODAY
    )
    forecast = goals.goal_report(session, org.id, far, today=TODAY).assessment.forecast
    assert forecast.status == "not enough data"
    assert forecast.value is None
    assert forecast.weeks == 6
    assert forecast.reason is not None
    assert forecast.reason.startswith("not enough history to forecast: due in 12 months")
    near = goals.create_goal(
        session, org.id, survey.id, name="Near", target=90, months=1, today=TODAY
    )
    close = goals.goal_report(session, org.id, near, today=TODAY).assessment.forecast
    assert close.reason is None
    assert close.value == pytest.approx(75.0)
    assert close.status == "off track"
