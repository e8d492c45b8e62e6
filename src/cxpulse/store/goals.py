"""Goal rows of one organisation: read, add and delete ``models.Goal``.

The checks of a goal's values and where it stands live in ``act/goals.py`` and
``act/goal_progress.py``.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.models import Goal
from cxpulse.store.surveys import get_survey


def get_goal(session: Session, organisation_id: int, survey_id: int, goal_id: int) -> Goal:
    where = and_(Goal.survey_id == survey_id, Goal.id == goal_id)
    return scoped.get_one(session, Goal, organisation_id, where, entity="goal", key=goal_id)


def list_goals(session: Session, organisation_id: int, survey_id: int) -> list[Goal]:
    """The survey's goals, soonest due first; NotFound when the survey is not the
    organisation's."""
    get_survey(session, organisation_id, survey_id)
    return list(
        session.scalars(
            select(Goal)
            .where(Goal.organisation_id == organisation_id, Goal.survey_id == survey_id)
            .order_by(Goal.due_date, Goal.id)
        )
    )


def count_goals(session: Session, organisation_id: int, survey_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Goal)
            .where(Goal.organisation_id == organisation_id, Goal.survey_id == survey_id)
        )
        or 0
    )


def add_goal(session: Session, goal: Goal) -> Goal:
    """Store a goal checked by its caller; its id is set on return."""
    session.add(goal)
    session.flush()
    return goal


def delete_goal(session: Session, organisation_id: int, survey_id: int, goal_id: int) -> None:
    session.delete(get_goal(session, organisation_id, survey_id, goal_id))
    session.flush()
