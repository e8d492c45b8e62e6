"""The keyset condition pages through rows that share a moment without losing or repeating
one, in both directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import responses
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.responses import NewResponse

T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def _pages(session: Session, page_size: int, *, descending: bool) -> list[list[int]]:
    order = (
        (Response.submitted_at.desc(), Response.id.desc())
        if descending
        else (Response.submitted_at, Response.id)
    )
    pages: list[list[int]] = []
    key: tuple[datetime, int] | None = None
    while True:
        query = select(Response.id, Response.submitted_at).order_by(*order).limit(page_size)
        if key is not None:
            query = query.where(
                *after_key(Response.submitted_at, Response.id, key, descending=descending)
            )
        rows = session.execute(query).all()
        if not rows:
            return pages
        pages.append([row.id for row in rows])
        key = (rows[-1].submitted_at, rows[-1].id)


def test_pages_cover_every_row_once_in_both_directions(
    session: Session, org: Organisation, survey: Survey
) -> None:
    # Three rows at each of three moments: pages of two split every group of ties.
    moments = [T0 + timedelta(hours=h) for h in (2, 0, 1) for _ in range(3)]
    stored = responses.add_responses(
        session,
        org.id,
        [NewResponse(survey_id=survey.id, score=4, submitted_at=m) for m in moments],
    )
    expected = sorted((r.submitted_at, r.id) for r, _ in stored)
    ascending = _pages(session, 2, descending=False)
    assert [len(page) for page in ascending] == [2, 2, 2, 2, 1]
    assert [i for page in ascending for i in page] == [i for _, i in expected]
    descending = _pages(session, 2, descending=True)
    assert [i for page in descending for i in page] == [i for _, i in reversed(expected)]
