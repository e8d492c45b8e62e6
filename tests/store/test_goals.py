"""Goal rows of one organisation (``store/goals.py``)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import goals
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Goal, Organisation, Survey


def _goal(org: Organisation, survey: Survey, name: str, due: date) -> Goal:
    return Goal(
        organisation_id=org.id,
        survey_id=survey.id,
        name=name,
        segment={},
        baseline=70.0,
        baseline_date=date(2026, 1, 1),
        target=80.0,
        due_date=due,
    )


def test_add_list_count_get_and_delete(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    later = goals.add_goal(session, _goal(org, survey, "later", date(2026, 12, 1)))
    sooner = goals.add_goal(session, _goal(org, survey, "sooner", date(2026, 6, 1)))
    assert [g.name for g in goals.list_goals(session, org.id, survey.id)] == ["sooner", "later"]
    assert goals.count_goals(session, org.id, survey.id) == 2
    assert goals.get_goal(session, org.id, survey.id, later.id) is later
    goals.delete_goal(session, org.id, survey.id, sooner.id)
    assert goals.count_goals(session, org.id, survey.id) == 1
    with pytest.raises(NotFound):
        goals.get_goal(session, org.id, survey.id, sooner.id)


def test_goals_are_scoped_to_their_organisation(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    goal = goals.add_goal(session, _goal(org, survey, "mine", date(2026, 6, 1)))
    assert goals.count_goals(session, other_org.id, survey.id) == 0
    with pytest.raises(NotFound):
        goals.get_goal(session, other_org.id, survey.id, goal.id)
    with pytest.raises(NotFound):
        goals.list_goals(session, other_org.id, survey.id)
    with pytest.raises(NotFound):
        goals.delete_goal(session, other_org.id, survey.id, goal.id)
