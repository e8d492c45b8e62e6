"""A repository call for organisation B never sees or changes organisation A's rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, audit, contacts, metrics_query, responses, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse, ResponseFilters


def test_organisation_b_cannot_reach_organisation_a(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    a, b = org.id, other_org.id
    contact = contacts.create_contact(session, a, external_id="c1", attributes={"plan": "pro"})
    response, _ = responses.add_response(
        session,
        a,
        survey.id,
        5,
        submitted_at=datetime(2024, 1, 1, tzinfo=UTC),
        contact_id=contact.id,
        idempotency_key="k1",
    )
    user = accounts.create_user(
        session, a, email="a@example.com", password="12345678", role="owner"
    )
    key, _ = accounts.create_api_key(session, a, name="k", scope="write")
    audit.record(session, a, actor="system", action="create", entity="survey", entity_id=survey.id)

    not_found: list[Callable[[], object]] = [
        lambda: surveys.get_survey(session, b, survey.id),
        lambda: surveys.get_survey_by_slug(session, b, survey.slug),
        lambda: surveys.update_survey(session, b, survey.id, name="hijacked"),
        lambda: surveys.delete_survey(session, b, survey.id),
        lambda: contacts.get_contact(session, b, contact.id),
        lambda: contacts.get_contact_by_external_id(session, b, "c1"),
        lambda: contacts.update_contact(session, b, contact.id, name="hijacked"),
        lambda: contacts.delete_contact(session, b, contact.id),
        lambda: responses.get_response(session, b, response.id),
        lambda: responses.update_response(session, b, response.id, score=1),
        lambda: responses.delete_response(session, b, response.id),
        lambda: responses.add_response(session, b, survey.id, 5),
        lambda: responses.add_responses(session, b, [NewResponse(survey.id, 5)]),
        lambda: metrics_query.histograms(session, b, survey.id),
        lambda: metrics_query.score_rows(session, b, survey.id),
        lambda: accounts.get_user(session, b, user.id),
        lambda: accounts.update_user(session, b, user.id, role="viewer"),
        lambda: accounts.set_password(session, b, user.id, "new password"),
        lambda: accounts.get_api_key(session, b, key.id),
        lambda: accounts.revoke_api_key(session, b, key.id),
        lambda: accounts.create_api_key(session, b, name="x", scope="read", created_by=user.id),
    ]
    for call in not_found:
        with pytest.raises(NotFound):
            call()

    # A survey of B cannot take a contact of A.
    b_survey = surveys.create_survey(session, b, slug=survey.slug, name="B's", metric="csat")
    with pytest.raises(NotFound):
        responses.add_response(session, b, b_survey.id, 5, contact_id=contact.id)
    # The same idempotency key in B is B's own response.
    _, created = responses.add_response(session, b, b_survey.id, 1, idempotency_key="k1")
    assert created

    assert surveys.list_surveys(session, b) == [b_survey]
    assert contacts.list_contacts(session, b).items == []
    b_responses = responses.list_responses(session, b).items
    assert [r.organisation_id for r in b_responses] == [b]
    assert responses.list_responses(session, b, ResponseFilters(survey_id=survey.id)).items == []
    assert responses.list_responses(session, b, ResponseFilters(contact_id=contact.id)).items == []
    assert accounts.list_users(session, b) == []
    assert accounts.list_api_keys(session, b) == []
    assert audit.list_entries(session, b) == []

    # Nothing of A changed.
    assert survey.name == "Support CSAT"
    assert contact.name is None
    assert responses.get_response(session, a, response.id).score == 5
    assert accounts.get_api_key(session, a, key.id).revoked_at is None
    assert metrics_query.histograms(session, a, survey.id)[()].n == 1
