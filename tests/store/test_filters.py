"""The one filter type (``store/filters.py``): what each field selects, on both databases, and
segments named by dimensions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import contacts, responses
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import (
    ResponseFilters,
    filter_conditions,
    join_contacts,
    parse_dimension,
)
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.responses import NewResponse


def _ids(session: Session, org: Organisation, filters: ResponseFilters) -> set[int]:
    conditions, needs_contacts = filter_conditions(org.id, filters)
    query = select(Response.id)
    if needs_contacts:
        query = join_contacts(query, org.id)
    return set(session.scalars(query.where(*conditions)))


@pytest.fixture
def stored(session: Session, org: Organisation, survey: Survey) -> dict[str, int]:
    pro = contacts.create_contact(
        session, org.id, email="pro@example.com", attributes={"plan": "pro"}
    )
    items = {
        "early": NewResponse(
            survey_id=survey.id,
            score=5,
            submitted_at=datetime(2024, 1, 1, 9, tzinfo=UTC),
            comment="Fast and 100% right",
            channel="email",
            language="en",
            properties={"team": "a"},
            contact_id=pro.id,
        ),
        "late": NewResponse(
            survey_id=survey.id,
            score=2,
            submitted_at=datetime(2024, 2, 1, 9, tzinfo=UTC),
            channel="chat",
            language="fr",
            source="import",
            properties={"team": "b"},
        ),
    }
    found = responses.add_responses(session, org.id, list(items.values()))
    return {name: row.id for name, (row, _) in zip(items, found, strict=True)}


def test_every_field_selects_its_responses(
    session: Session, org: Organisation, survey: Survey, stored: dict[str, int]
) -> None:
    early, late = stored["early"], stored["late"]
    cases: list[tuple[ResponseFilters, set[int]]] = [
        (ResponseFilters(), {early, late}),
        (ResponseFilters(survey_id=survey.id), {early, late}),
        (ResponseFilters(start=date(2024, 1, 15)), {late}),
        (ResponseFilters(end=datetime(2024, 1, 1, 9, tzinfo=UTC)), set()),  # exclusive
        (ResponseFilters(channel="chat"), {late}),
        (ResponseFilters(language="en"), {early}),
        (ResponseFilters(source="import"), {late}),
        (ResponseFilters(min_score=3), {early}),
        (ResponseFilters(max_score=2), {late}),
        (ResponseFilters(has_comment=True), {early}),
        (ResponseFilters(has_comment=False), {late}),
        (ResponseFilters(search="FAST"), {early}),
        (ResponseFilters(search="%"), {early}),  # a literal percent sign, not a wildcard
        (ResponseFilters(search="_"), set()),
        (ResponseFilters(properties={"team": "b"}), {late}),
        (ResponseFilters(contact_attributes={"plan": "pro"}), {early}),
        (ResponseFilters(channel="email", max_score=2), set()),
    ]
    for filters, expected in cases:
        assert _ids(session, org, filters) == expected, filters


def test_filters_never_reach_another_organisation(
    session: Session, other_org: Organisation, stored: dict[str, int]
) -> None:
    assert _ids(session, other_org, ResponseFilters()) == set()


def test_only_contact_attributes_need_the_contacts_joined() -> None:
    assert filter_conditions(1, ResponseFilters(properties={"a": "b"}))[1] is False
    assert filter_conditions(1, ResponseFilters(contact_attributes={"a": "b"}))[1] is True


def test_segments_are_named_by_dimensions() -> None:
    assert parse_dimension("channel").kind == "column"
    found = parse_dimension("property:agent")
    assert (found.kind, found.key, found.name) == ("property", "agent", "property:agent")
    assert parse_dimension("contact:plan").kind == "contact"
    for bad in ("comment", "property:", "contact:" + "x" * 101):
        with pytest.raises(Invalid):
            parse_dimension(bad)


def test_narrowed_and_of_segment() -> None:
    base = ResponseFilters(survey_id=3, properties={"team": "a"})
    assert base.narrowed("channel", "email").channel == "email"
    assert base.narrowed("source", "api").source == "api"
    assert base.narrowed("property:agent", "Ann").properties == {"team": "a", "agent": "Ann"}
    assert base.properties == {"team": "a"}  # unchanged
    assert base.narrowed("contact:plan", "pro").contact_attributes == {"plan": "pro"}
    segment = {"touchpoint": "shop", "language": "en", "property:agent": "Ann"}
    assert ResponseFilters.of_segment(segment, survey_id=3, min_score=4) == ResponseFilters(
        survey_id=3, touchpoint="shop", language="en", min_score=4, properties={"agent": "Ann"}
    )
    with pytest.raises(Invalid):
        base.narrowed("colour", "red")
