"""The survey most report tests read, on SQLite and PostgreSQL, with numbers worked by hand.

The survey (CSAT 1-5) holds, with the latest answer on 2025-06-20:

- 40 answers of 5 by email from 1 to 20 June 2025 (team a), 8 of them commented;
- 20 answers of 1 by chat in May 2025 (team b), 5 of them saying "Slow delivery";
- 30 answers of 2 by email in January 2024 (the previous period).

Default view (on ``TODAY``, 2025-09-01): the 12 months to 2025-06-20, so CSAT = 40/60 =
66.67%, DSAT = 20/60 = 33.33%, against a previous period at 0% (30 answers): a significant
change. Another organisation holds 5 answers that must never count.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.store import accounts, responses, surveys
from cxpulse.store.models import Organisation, Survey

TODAY = date(2025, 9, 1)


def _add(
    session: Session, org: int, survey: int, day: datetime, count: int, **fields: object
) -> None:
    comments = fields.pop("comments", {})
    assert isinstance(comments, dict)
    responses.add_responses(
        session,
        org,
        [
            responses.NewResponse(
                survey_id=survey,
                submitted_at=day + timedelta(days=n // 2, minutes=n),
                comment=comments.get(n),
                **fields,  # type: ignore[arg-type]
            )
            for n in range(count)
        ],
    )


@pytest.fixture
def seeded(session: Session) -> tuple[Organisation, Survey]:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop", industry="banks")
    survey = surveys.create_survey(
        session, organisation.id, slug="csat", name="Support CSAT", metric="csat"
    )
    org, sid = organisation.id, survey.id
    june = datetime(2025, 6, 1, tzinfo=UTC)
    _add(
        session,
        org,
        sid,
        june,
        40,
        score=5.0,
        channel="email",
        properties={"team": "a"},
        comments={n: f"great service {n}" for n in range(8)},
    )
    _add(
        session,
        org,
        sid,
        datetime(2025, 5, 3, tzinfo=UTC),
        20,
        score=1.0,
        channel="chat",
        properties={"team": "b"},
        comments={n: "Slow delivery" for n in range(5)},
    )
    _add(session, org, sid, datetime(2024, 1, 10, tzinfo=UTC), 30, score=2.0, channel="email")
    other = accounts.create_organisation(session, slug="other", name="Other")
    other_survey = surveys.create_survey(session, other.id, slug="csat", name="X", metric="csat")
    _add(session, other.id, other_survey.id, june, 5, score=5.0, channel="email")
    session.flush()
    return organisation, survey
