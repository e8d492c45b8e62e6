"""Segment filters match in any case, by one rule on both databases (``store/segment_values``
resolves the wanted value to the stored ones, ``store/filters`` compares exactly), including
letters outside ASCII that SQLite's own ``lower`` leaves alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import contacts, metrics_query, responses, segment_values
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.responses import NewResponse


def _add(session: Session, org: Organisation, survey: Survey) -> None:
    plan = contacts.create_contact(
        session, org.id, email="a@example.com", attributes={"city": "Örebro"}
    )
    rows = [
        # (day, channel, team, region)
        (1, "Email", "Billing", "Örebro"),
        (2, "email", "BILLING", "ÖREBRO"),
        (3, "chat", "Sales", "Malmö"),
        (4, "chat", "Straße", "Malmö"),
    ]
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=survey.id,
                score=4,
                submitted_at=datetime(2024, 3, day, 9, tzinfo=UTC),
                channel=channel,
                properties={"team": team, "region": region},
                contact_id=plan.id if day == 1 else None,
            )
            for day, channel, team, region in rows
        ],
    )


def _count(session: Session, org: Organisation, filters: ResponseFilters) -> int:
    conditions, needs_contacts = filter_conditions(org.id, filters)
    query = select(Response.id)
    if needs_contacts:
        query = join_contacts(query, org.id)
    return len(list(session.scalars(query.where(*conditions))))


def test_values_match_in_any_case_on_both_databases(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey)
    cases = [
        ({"properties": {"team": "billing"}}, ("BILLING", "Billing"), 2),
        ({"properties": {"region": "örebro"}}, ("Örebro", "ÖREBRO"), 2),
        ({"properties": {"team": "STRASSE"}}, ("Straße",), 1),  # a full case fold
        ({"channel": "EMAIL"}, ("Email", "email"), 2),
        ({"contact_attributes": {"city": "ÖREBRO"}}, ("Örebro",), 1),
        ({"properties": {"team": "nobody"}}, (), 0),
    ]
    for fields, stored, expected in cases:
        wanted = ResponseFilters(survey_id=survey.id, **fields)  # type: ignore[arg-type]
        found = segment_values.resolve(session, org.id, wanted)
        (dimension, _), *_ = wanted.segments()
        assert sorted(found.matched[dimension]) == sorted(stored), fields
        assert _count(session, org, found) == expected, fields
        assert found.unmatched() == ([] if stored else wanted.segments())


def test_a_single_stored_value_replaces_the_typed_one_so_the_rollups_agree(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey)
    found = segment_values.resolve(
        session, org.id, ResponseFilters(survey_id=survey.id, channel="CHAT")
    )
    assert found.channel == "chat"
    assert found.segments() == [("channel", "chat")]
    from_rollups = metrics_query.histograms_of(session, org.id, found, use_rollups=True)
    from_responses = metrics_query.histograms_of(session, org.id, found, use_rollups=False)
    assert from_rollups[()].n == from_responses[()].n == 2


def test_resolution_keeps_to_the_filters_period_and_organisation(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey)
    march_first = ResponseFilters(
        survey_id=survey.id,
        start=date(2024, 3, 1),
        end=date(2024, 3, 2),
        properties={"team": "billing"},
    )
    found = segment_values.resolve(session, org.id, march_first)
    assert found.matched == {"property:team": ("Billing",)}
    assert found.properties == {"team": "Billing"}
    assert segment_values.distinct_values(session, org.id + 1000, march_first, "channel") == {}


def test_narrowing_or_removing_a_dimension_forgets_what_was_resolved(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey)
    found = segment_values.resolve(
        session, org.id, ResponseFilters(survey_id=survey.id, properties={"team": "billing"})
    )
    narrowed = found.narrowed("property:team", "Sales")
    assert "property:team" not in narrowed.matched
    assert _count(session, org, narrowed) == 1
    assert found.without("property:team").properties == {}
    assert _count(session, org, found.without("property:team")) == 4


def test_the_sample_reads_at_most_the_cap_of_each_slice(
    session: Session, org: Organisation, survey: Survey
) -> None:
    _add(session, org, survey)
    slices = [
        (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 3, tzinfo=UTC)),
        (datetime(2024, 3, 3, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)),
    ]
    found = segment_values.sample_rows(session, org.id, survey.id, slices, cap=1)
    assert [[row.channel for row in part] for part in found] == [["Email"], ["chat"]]
    assert found[0][0].contact_attributes == {"city": "Örebro"}
    assert found[1][0].properties == {"team": "Sales", "region": "Malmö"}
