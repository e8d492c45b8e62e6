"""The reads behind an export: property names, counts and keyset pages, each kept to the
caller's organisation and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import contacts, exports, responses
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse, ResponseFilters

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
FIELDS = ("id", "submitted_at", "score", "properties")


def _add(session: Session, org: Organisation, survey: Survey, items: list[NewResponse]) -> None:
    responses.add_responses(session, org.id, items)


@pytest.fixture
def stored(session: Session, org: Organisation, survey: Survey) -> list[int]:
    """Seven responses of ``org`` (two of them at the same moment), committed so that the
    export's own sessions see them; their ids in (submitted_at, id) order."""
    gold = contacts.create_contact(session, org.id, external_id="c1", attributes={"plan": "gold"})
    moments = [T0 + timedelta(minutes=m) for m in (5, 0, 3, 3, 1, 6, 2)]
    made = responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=survey.id,
                score=1 + n % 5,
                submitted_at=moment,
                properties={"team": "a"} if n % 2 else {"agent": "x", "team": "b"},
                contact_id=gold.id if n < 2 else None,
            )
            for n, moment in enumerate(moments)
        ],
    )
    session.commit()
    return [r.id for r, _ in sorted(made, key=lambda pair: (pair[0].submitted_at, pair[0].id))]


def test_pages_follow_submitted_at_then_id(
    sessions: sessionmaker[Session], org: Organisation, stored: list[int]
) -> None:
    pages = list(exports.row_pages(sessions, org.id, ResponseFilters(), FIELDS, 3))
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [row.id for page in pages for row in page] == stored
    assert list(pages[0][0]._fields) == list(FIELDS)
    # A page size that divides the rows ends with one empty read, yielding nothing more.
    assert [len(p) for p in exports.row_pages(sessions, org.id, ResponseFilters(), FIELDS, 7)] == [
        7
    ]


def test_filters_and_organisations_scope_every_read(
    session: Session,
    sessions: sessionmaker[Session],
    org: Organisation,
    other_org: Organisation,
    survey: Survey,
    stored: list[int],
) -> None:
    survey_id = survey.id
    ours, theirs = org.id, other_org.id
    everything = ResponseFilters()
    assert exports.count_rows(session, ours, everything) == 7
    assert exports.property_names(session, ours, everything) == ["agent", "team"]
    gold = ResponseFilters(contact_attributes={"plan": "gold"})
    assert exports.count_rows(session, ours, gold) == 2
    team_a = ResponseFilters(properties={"team": "a"})
    assert exports.property_names(session, ours, team_a) == ["team"]
    # On SQLite the pages' own sessions wait for this one's transaction to end.
    session.rollback()
    rows = [r for p in exports.row_pages(sessions, ours, gold, FIELDS, 10) for r in p]
    assert len(rows) == 2
    # Another organisation sees none of them, whatever it asks for.
    for filters in (everything, ResponseFilters(survey_id=survey_id), gold):
        assert exports.count_rows(session, theirs, filters) == 0
        assert exports.property_names(session, theirs, filters) == []
        session.rollback()
        assert list(exports.row_pages(sessions, theirs, filters, FIELDS, 10)) == []


def test_row_pages_refuse_unknown_fields(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="password"):
        next(
            exports.row_pages(sessions, 1, ResponseFilters(), ("id", "submitted_at", "password"), 5)
        )
    with pytest.raises(ValueError, match="need id and submitted_at"):
        next(exports.row_pages(sessions, 1, ResponseFilters(), ("score",), 5))
