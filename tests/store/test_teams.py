"""Teams and members (``store.teams``) on SQLite and PostgreSQL: names unique per
organisation, members only of the organisation, the round-robin pick in turn."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import teams
from cxpulse.store.errors import Conflict, NotFound
from cxpulse.store.models import Organisation, User


def _user(session: Session, org: Organisation, name: str, role: str = "agent") -> int:
    user = User(
        organisation_id=org.id,
        email=f"{name}@{org.slug}.example",
        name=name,
        role=role,
        password_hash="h",
    )
    session.add(user)
    session.flush()
    return user.id


def test_teams_and_members(session: Session, org: Organisation, other_org: Organisation) -> None:
    billing = teams.create_team(session, org.id, "Billing")
    with pytest.raises(Conflict):
        teams.create_team(session, org.id, "billing")
    teams.create_team(session, other_org.id, "Billing")  # another organisation may
    support = teams.create_team(session, org.id, "Support")
    with pytest.raises(Conflict):
        teams.rename_team(session, org.id, support.id, "BILLING")
    teams.rename_team(session, org.id, support.id, "Care")
    assert [team.name for team in teams.list_teams(session, org.id)] == ["Billing", "Care"]
    ana, ben = _user(session, org, "ana"), _user(session, org, "ben")
    stranger = _user(session, other_org, "sam")
    assert teams.add_member(session, org.id, billing.id, ana)
    assert not teams.add_member(session, org.id, billing.id, ana)
    assert teams.add_member(session, org.id, billing.id, ben)
    with pytest.raises(NotFound):
        teams.add_member(session, org.id, billing.id, stranger)
    with pytest.raises(NotFound):
        teams.add_member(session, other_org.id, billing.id, stranger)
    assert [user.name for user in teams.members(session, org.id, billing.id)] == ["ana", "ben"]
    assert teams.team_ids_of_user(session, org.id, ana) == [billing.id]
    assert teams.member_ids(session, org.id, [billing.id]) == {ana, ben}
    assert teams.member_ids(session, other_org.id, [billing.id]) == set()
    assert teams.remove_member(session, org.id, billing.id, ana)
    assert not teams.remove_member(session, org.id, billing.id, ana)
    teams.delete_team(session, org.id, support.id)
    with pytest.raises(NotFound):
        teams.get_team(session, org.id, support.id)


def test_the_pick_goes_round_the_members_with_a_role_that_works_cases(
    session: Session, org: Organisation
) -> None:
    team = teams.create_team(session, org.id, "Billing")
    roles = ("agent", "admin")
    assert teams.next_assignee(session, org.id, team.id, roles=roles) is None
    ana, vic, ben = (
        _user(session, org, "ana"),
        _user(session, org, "vic", "viewer"),
        _user(session, org, "ben", "admin"),
    )
    for user in (ana, vic, ben):
        teams.add_member(session, org.id, team.id, user)
    picks = [teams.next_assignee(session, org.id, team.id, roles=roles) for _ in range(4)]
    assert picks == [ana, ben, ana, ben]
    assert teams.get_team(session, org.id, team.id).last_assigned_user_id == ben
