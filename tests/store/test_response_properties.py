"""A sample of a survey's response properties within a period."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cxpulse.store import surveys
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.response_properties import sample_properties

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)


def _response(session: Session, survey: Survey, at: datetime, **properties: str) -> None:
    session.add(
        Response(
            organisation_id=survey.organisation_id,
            survey_id=survey.id,
            score=4,
            submitted_at=at,
            properties=properties,
        )
    )
    session.flush()


def test_the_sample_keeps_to_the_survey_and_the_period(
    session: Session, org: Organisation, survey: Survey
) -> None:
    other = surveys.create_survey(session, org.id, slug="other", name="Other", metric="nps")
    _response(session, survey, START, plan="pro")
    _response(session, survey, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), plan="free")
    _response(session, survey, END, plan="outside")
    _response(session, survey, datetime(2026, 9, 30, 23, tzinfo=UTC), plan="before")
    _response(session, other, START, plan="other survey")

    found = sample_properties(session, org.id, survey.id, START, END, limit=10)

    assert sorted(p["plan"] for p in found) == ["free", "pro"]
    assert len(sample_properties(session, org.id, survey.id, START, END, limit=1)) == 1
    assert sample_properties(session, org.id + 1, survey.id, START, END, limit=10) == []
