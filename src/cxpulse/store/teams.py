"""Teams of one organisation (``models.Team``) and their members, and the round-robin pick
of the member who gets a team's next case.

The pick is safe when two cases open at the same moment: it moves the team's
``last_assigned_user_id`` with a compare-and-set UPDATE (only if it still holds the value
read), in the caller's transaction, and reads again when another transaction moved it
first. So two concurrent cases never go to the same member while another waits.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cxpulse.store import scoped
from cxpulse.store.accounts import get_user
from cxpulse.store.errors import Conflict
from cxpulse.store.models import Team, TeamMember, User

__all__ = [
    "add_member",
    "create_team",
    "delete_team",
    "get_team",
    "list_teams",
    "member_ids",
    "members",
    "next_assignee",
    "remove_member",
    "rename_team",
    "team_ids_of_user",
]

_MAX_PICK_TRIES = 20


def get_team(session: Session, organisation_id: int, team_id: int) -> Team:
    return scoped.get_one(
        session, Team, organisation_id, Team.id == team_id, entity="team", key=team_id
    )


def list_teams(session: Session, organisation_id: int) -> list[Team]:
    return list(
        session.scalars(
            select(Team).where(Team.organisation_id == organisation_id).order_by(Team.name)
        )
    )


def _name_taken(session: Session, organisation_id: int, name: str, besides: int | None) -> bool:
    query = select(func.count()).where(
        Team.organisation_id == organisation_id, func.lower(Team.name) == name.lower()
    )
    if besides is not None:
        query = query.where(Team.id != besides)
    return bool(session.scalar(query))


def create_team(session: Session, organisation_id: int, name: str) -> Team:
    if _name_taken(session, organisation_id, name, None):
        raise Conflict("name", "a team of this name exists")
    team = Team(organisation_id=organisation_id, name=name)
    session.add(team)
    session.flush()
    return team


def rename_team(session: Session, organisation_id: int, team_id: int, name: str) -> Team:
    team = get_team(session, organisation_id, team_id)
    if _name_taken(session, organisation_id, name, team_id):
        raise Conflict("name", "a team of this name exists")
    team.name = name
    session.flush()
    return team


def delete_team(session: Session, organisation_id: int, team_id: int) -> None:
    """Remove a team; its cases keep their assignees and lose the team."""
    session.delete(get_team(session, organisation_id, team_id))
    session.flush()


def add_member(session: Session, organisation_id: int, team_id: int, user_id: int) -> bool:
    """Add a user of the organisation to its team; False when a member already."""
    get_team(session, organisation_id, team_id)
    get_user(session, organisation_id, user_id)
    if session.get(TeamMember, (team_id, user_id)) is not None:
        return False
    session.add(TeamMember(team_id=team_id, user_id=user_id))
    session.flush()
    return True


def remove_member(session: Session, organisation_id: int, team_id: int, user_id: int) -> bool:
    get_team(session, organisation_id, team_id)
    removed = session.execute(
        delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    )
    session.flush()
    return bool(getattr(removed, "rowcount", 0))


def members(session: Session, organisation_id: int, team_id: int) -> list[User]:
    """The team's users, by name."""
    get_team(session, organisation_id, team_id)
    return list(
        session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team_id, User.organisation_id == organisation_id)
            .order_by(User.name, User.id)
        )
    )


def member_ids(session: Session, organisation_id: int, team_ids: Collection[int]) -> set[int]:
    """The users of any of the teams."""
    if not team_ids:
        return set()
    return set(
        session.scalars(
            select(TeamMember.user_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.organisation_id == organisation_id, Team.id.in_(list(team_ids)))
        )
    )


def team_ids_of_user(session: Session, organisation_id: int, user_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Team.id)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(Team.organisation_id == organisation_id, TeamMember.user_id == user_id)
            .order_by(Team.id)
        )
    )


def next_assignee(
    session: Session, organisation_id: int, team_id: int, *, roles: Collection[str]
) -> int | None:
    """The member who gets the team's next case (the active member, with one of ``roles``,
    after the last one assigned, by user id), recorded as the last assigned; None when the
    team has no such member."""
    team = get_team(session, organisation_id, team_id)
    eligible = list(
        session.scalars(
            select(User.id)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(
                TeamMember.team_id == team_id,
                User.organisation_id == organisation_id,
                User.is_active.is_(True),
                User.role.in_(list(roles)),
            )
            .order_by(User.id)
        )
    )
    if not eligible:
        return None
    for _ in range(_MAX_PICK_TRIES):
        last = session.scalar(select(Team.last_assigned_user_id).where(Team.id == team_id))
        later = [user_id for user_id in eligible if last is None or user_id > last]
        chosen = later[0] if later else eligible[0]
        moved = session.execute(
            update(Team)
            .where(Team.id == team_id, Team.last_assigned_user_id.is_not_distinct_from(last))
            .values(last_assigned_user_id=chosen)
            .execution_options(synchronize_session=False)
        )
        if getattr(moved, "rowcount", 0) == 1:
            session.expire(team, ["last_assigned_user_id"])
            return chosen
    raise RuntimeError(f"team {team_id}: the round-robin pick kept losing races")
