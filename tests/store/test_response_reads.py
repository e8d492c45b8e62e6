"""Reads of stored responses that ``test_responses.py`` does not cover
(``store/response_reads.py``): counting and the property names of the latest responses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import response_reads, responses
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse

START = datetime(2024, 1, 1, tzinfo=UTC)


def test_count_responses(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    responses.add_responses(
        session,
        org.id,
        [NewResponse(survey_id=survey.id, score=n % 5 + 1, submitted_at=START) for n in range(6)],
    )
    assert response_reads.count_responses(session, org.id, ResponseFilters()) == 6
    assert response_reads.count_responses(session, org.id, ResponseFilters(min_score=4)) == 2
    assert response_reads.count_responses(session, other_org.id, ResponseFilters()) == 0


def test_property_names_come_from_the_latest_responses(
    session: Session, org: Organisation, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(response_reads, "PROPERTY_SAMPLE", 2)
    items = [
        NewResponse(survey_id=survey.id, score=3, submitted_at=START, properties={"old": "x"}),
        NewResponse(
            survey_id=survey.id,
            score=3,
            submitted_at=START + timedelta(days=1),
            properties={"team": "a", "agent": "Ann"},
        ),
        NewResponse(survey_id=survey.id, score=3, submitted_at=START + timedelta(days=2)),
    ]
    responses.add_responses(session, org.id, items)
    assert response_reads.recent_property_names(session, org.id, survey.id) == ["agent", "team"]
