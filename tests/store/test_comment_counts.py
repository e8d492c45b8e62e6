"""Responses with a comment counted in time slices (``store/comment_counts.py``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import comment_counts, responses
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse

DAY = datetime(2024, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_slices_count_what_the_filters_keep(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    # One response an hour for ten hours; even hours by email with a comment.
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=survey.id,
                score=4,
                submitted_at=DAY + n * HOUR,
                channel="email" if n % 2 == 0 else "chat",
                comment="ok" if n % 2 == 0 else None,
            )
            for n in range(10)
        ],
    )
    slices = [(DAY, DAY + 4 * HOUR), (DAY + 4 * HOUR, DAY + 10 * HOUR), (DAY - HOUR, DAY)]
    # The filters' own period is left out: the slices bound what is read.
    everything = ResponseFilters(survey_id=survey.id, start=date(2030, 1, 1))
    assert comment_counts.commented_in_slices(session, org.id, everything, slices, 100) == [
        (2, 4),
        (3, 6),
        (0, 0),
    ]
    chat = ResponseFilters(survey_id=survey.id, channel="chat")
    assert comment_counts.commented_in_slices(session, org.id, chat, slices, 100) == [
        (0, 2),
        (0, 3),
        (0, 0),
    ]
    # A slice holding more than the cap is read to cap + 1 only.
    capped = comment_counts.commented_in_slices(session, org.id, everything, slices[1:2], 2)
    assert capped[0][1] == 3
    assert (
        comment_counts.commented_in_slices(session, other_org.id, everything, slices, 9)
        == [(0, 0)] * 3
    )
