"""The case rows (``store.cases``) on SQLite and PostgreSQL: the inbox's filters, its three
orders paged by key without gaps or repeats, and scoping to the organisation."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import cases, responses, teams
from cxpulse.store.errors import NotFound
from cxpulse.store.models import FollowUpCase, Organisation, Survey, User

START = datetime(2026, 12, 7, 9, tzinfo=UTC)
PRIORITIES = ("low", "normal", "high", "urgent")


def _add(
    session: Session, org: Organisation, survey: Survey, n: int, **fields: Any
) -> FollowUpCase:
    stored = responses.add_responses(
        session, org.id, [responses.NewResponse(survey_id=survey.id, score=1, submitted_at=START)]
    )
    row = FollowUpCase(
        organisation_id=org.id,
        survey_id=survey.id,
        response_id=stored[0][0].id,
        title=f"case {n}",
        priority=PRIORITIES[n % 4],
        due_at=START + timedelta(hours=n % 5),
        created_at=START + timedelta(minutes=n % 3),
        reply_token=secrets.token_urlsafe(24),
        **{"state": "new", **fields},
    )
    inserted = cases.insert_case(session, row)
    assert inserted is not None
    return inserted


def _all_pages(
    session: Session, org: Organisation, sort: cases.SortKey, where: cases.CaseFilter
) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = cases.list_cases(session, org.id, where, sort=sort, after=after, limit=4)
        seen += [row.id for row in page.items]
        if page.next_key is None:
            return seen
        after = page.next_key


@pytest.mark.parametrize("sort", ["due", "priority", "created"])
def test_pages_follow_the_order_without_gaps_or_repeats(
    session: Session, org: Organisation, survey: Survey, sort: cases.SortKey
) -> None:
    rows = [_add(session, org, survey, n) for n in range(15)]
    rank = cases.PRIORITY_RANK
    expected = {
        "due": sorted(rows, key=lambda r: (r.due_at, r.id)),
        "priority": sorted(rows, key=lambda r: (-rank[r.priority], r.due_at, r.id)),
        "created": sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True),
    }[sort]
    assert _all_pages(session, org, sort, cases.CaseFilter()) == [r.id for r in expected]


def test_filters_of_the_inbox(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    user = User(organisation_id=org.id, email="a@acme.example", role="agent", password_hash="h")
    session.add(user)
    team = teams.create_team(session, org.id, "Billing")
    mine = _add(session, org, survey, 1, assignee_user_id=user.id)
    ours = _add(session, org, survey, 2, team_id=team.id)
    done = _add(session, org, survey, 3, state="resolved")
    late = _add(session, org, survey, 0)  # due at START
    everyone = cases.CaseFilter()
    assert cases.count_cases(session, org.id, everyone) == 4
    assert cases.count_cases(session, other_org.id, everyone) == 0
    assert [
        r.id
        for r in cases.list_cases(session, org.id, cases.CaseFilter(assignee_user_id=user.id)).items
    ] == [mine.id]
    assert [
        r.id for r in cases.list_cases(session, org.id, cases.CaseFilter(team_ids=(team.id,))).items
    ] == [ours.id]
    assert cases.list_cases(session, org.id, cases.CaseFilter(team_ids=())).items == []
    assert [
        r.id
        for r in cases.list_cases(session, org.id, cases.CaseFilter(states=("resolved",))).items
    ] == [done.id]
    overdue = cases.CaseFilter(overdue_at=START + timedelta(minutes=90))
    assert {r.id for r in cases.list_cases(session, org.id, overdue).items} == {late.id, mine.id}
    assert [
        r.id for r in cases.list_cases(session, org.id, cases.CaseFilter(priority="high")).items
    ] == [ours.id]
    assert cases.get_cases(session, other_org.id, [mine.id]) == []
    with pytest.raises(NotFound):
        cases.get_case(session, other_org.id, mine.id)


def test_a_second_case_for_an_answer_is_not_stored(
    session: Session, org: Organisation, survey: Survey
) -> None:
    first = _add(session, org, survey, 1)
    twin = FollowUpCase(
        organisation_id=org.id,
        response_id=first.response_id,
        title="again",
        reply_token=secrets.token_urlsafe(24),
    )
    assert cases.insert_case(session, twin) is None
    assert cases.case_for_response(session, org.id, first.response_id or 0) is first
    assert cases.case_by_reply_token(session, first.reply_token) is first
