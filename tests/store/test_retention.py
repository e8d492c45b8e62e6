"""Retention in bounded batches: answers and cases older than the cutoff are anonymised or
deleted, a batch at a time from a cursor, newer ones untouched, the rollups equal to a
recount after every batch; the policy and its limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import rollups, surveys
from cxpulse.store.contact_erasure import ANONYMOUS_CASE_TITLE, ErasureCounts
from cxpulse.store.errors import Invalid
from cxpulse.store.models import FollowUpCase, Organisation, Response, Survey
from cxpulse.store.retention import (
    MAX_MONTHS,
    Cursor,
    Policy,
    apply_batch,
    get_policy,
    policies,
    set_policy,
)

from .privacy_support import MOMENT, Person, build_person, places_holding, rollups_match

CUTOFF = MOMENT + timedelta(days=100)


def _world(session: Session, org: Organisation, survey: Survey) -> tuple[Person, Person, Person]:
    second = surveys.create_survey(
        session, org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    old = build_person(session, org.id, survey.id, "old", at=MOMENT)
    old_too = build_person(session, org.id, second.id, "older", at=MOMENT + timedelta(days=10))
    recent = build_person(session, org.id, survey.id, "recent", at=CUTOFF + timedelta(days=1))
    return old, old_too, recent


def _run(session: Session, org_id: int, action: str, limit: int) -> tuple[ErasureCounts, int]:
    totals = ErasureCounts()
    cursor: Cursor | None = Cursor()
    batches = 0
    while cursor is not None:
        counts, cursor = apply_batch(
            session, org_id, cutoff=CUTOFF, action=action, cursor=cursor, limit=limit
        )
        totals.add(counts)
        batches += 1
        rollups_match(session, org_id)
        assert batches < 50
    return totals, batches


def test_anonymising_in_batches(session: Session, org: Organisation, survey: Survey) -> None:
    old, old_too, recent = _world(session, org, survey)
    daily = rollups.stored(session, org.id)

    totals, batches = _run(session, org.id, "anonymise", limit=2)

    assert (totals.responses_anonymised, totals.cases_anonymised) == (6, 2)
    assert batches == 5  # 6 answers by 2, then 2 cases (and the check that none is left)
    assert rollups.stored(session, org.id) == daily
    answers_and_cases = ("responses.", "comment_analyses.", "cases.", "case_events.")
    for person in (old, old_too):
        # The contact, invitations and opt-outs are not retention's: answers and cases are.
        found = places_holding(session, [person.email, person.name, person.order, *person.comments])
        assert found
        assert not [place for place in found if place.startswith(answers_and_cases)]
    assert len(places_holding(session, recent.comments)) == 3 * 2  # comment and analysis
    titles = dict(session.execute(select(FollowUpCase.id, FollowUpCase.title)).all())
    assert titles[old.case_id] == titles[old_too.case_id] == ANONYMOUS_CASE_TITLE
    assert titles[recent.case_id] != ANONYMOUS_CASE_TITLE

    again, _ = _run(session, org.id, "anonymise", limit=2)
    assert sum(again.as_dict().values()) == 0


def test_deleting_in_batches(session: Session, org: Organisation, survey: Survey) -> None:
    _old, _old_too, recent = _world(session, org, survey)

    totals, _ = _run(session, org.id, "delete", limit=4)

    assert (totals.responses_deleted, totals.cases_deleted) == (6, 2)
    left = set(session.scalars(select(Response.id)))
    assert left == set(recent.response_ids)
    assert set(session.scalars(select(FollowUpCase.id))) == {recent.case_id}
    rollups_match(session, org.id)


def test_another_organisation_is_untouched(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    elsewhere = surveys.create_survey(
        session, other_org.id, slug="csat", name="CSAT", metric="csat", status="active"
    )
    theirs = build_person(session, other_org.id, elsewhere.id, "theirs", at=MOMENT)
    build_person(session, org.id, survey.id, "ours", at=MOMENT)
    _run(session, org.id, "delete", limit=100)
    assert set(session.scalars(select(Response.id))) == set(theirs.response_ids)


def test_the_policy(session: Session, org: Organisation, other_org: Organisation) -> None:
    assert get_policy(session, org.id) == Policy(None, "anonymise")
    assert set_policy(session, org.id, 24, "delete") == Policy(24, "delete")
    assert get_policy(session, org.id) == Policy(24, "delete")
    assert policies(session) == {org.id: Policy(24, "delete")}
    set_policy(session, org.id, None, "anonymise")
    assert policies(session) == {}
    for months, action, field in [
        (0, "delete", "months"),
        (MAX_MONTHS + 1, "delete", "months"),
        (12, "shred", "action"),
    ]:
        with pytest.raises(Invalid) as refused:
            set_policy(session, other_org.id, months, action)
        assert refused.value.field == field
    assert get_policy(session, other_org.id) == Policy(None, "anonymise")


def test_a_cursor_survives_its_payload(session: Session, org: Organisation) -> None:
    cursor = Cursor(7, MOMENT, 99)
    assert Cursor.from_payload(cursor.to_payload()) == cursor
    assert Cursor.from_payload({}) == Cursor()
