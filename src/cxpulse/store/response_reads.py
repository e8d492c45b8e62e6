"""Reading stored responses: one by id or by invitation, and listings in keyset pages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import scoped
from cxpulse.store.cursors import Cursor
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Response

MAX_PAGE_SIZE = 1000
PROPERTY_SAMPLE = 1000
"""``recent_property_names`` looks at this many latest responses."""


@dataclass(frozen=True)
class ResponsePage:
    items: list[Response]
    next_after: Cursor | None
    """Pass as ``after`` to get the next page; None on the last page."""


def get_response(session: Session, organisation_id: int, response_id: int) -> Response:
    return scoped.get_one(
        session,
        Response,
        organisation_id,
        Response.id == response_id,
        entity="response",
        key=response_id,
    )


def count_responses(session: Session, organisation_id: int, filters: ResponseFilters) -> int:
    """How many responses the filters match."""
    conditions, needs_contacts = filter_conditions(organisation_id, filters)
    query = select(func.count()).select_from(Response)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    return int(session.scalar(query.where(*conditions)) or 0)


def list_responses(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters | None = None,
    *,
    after: Cursor | None = None,
    limit: int = 100,
) -> ResponsePage:
    """Responses in (submitted_at, id) order, ``limit`` at a time.

    Keyset pagination: the page after ``after`` is found by an index range, so page 1,000 costs
    what page 1 does, and rows added meanwhile never shift a page.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid("limit", f"must be 1 to {MAX_PAGE_SIZE}")
    conditions, needs_contacts = filter_conditions(organisation_id, filters or ResponseFilters())
    if after is not None:
        moment, last_id = after
        key = (values.aware("after", moment), last_id)
        conditions += after_key(Response.submitted_at, Response.id, key)
    query = select(Response)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    query = query.where(*conditions).order_by(Response.submitted_at, Response.id).limit(limit + 1)
    rows = list(session.scalars(query))
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    return ResponsePage(items, (last.submitted_at, last.id) if more and last else None)


def find_by_invitation(
    session: Session, organisation_id: int, invitation_id: int, *, lock: bool = False
) -> Response | None:
    """The response given through ``invitation_id``, if any (locked for update on request,
    so that the old rollup key subtracted by a change is the one stored)."""
    query = select(Response).where(
        Response.organisation_id == organisation_id, Response.invitation_id == invitation_id
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def recent_property_names(session: Session, organisation_id: int, survey_id: int) -> list[str]:
    """Property names used by the survey's latest ``PROPERTY_SAMPLE`` responses (newest first
    by the keyset index), sorted: cheap whatever the survey's size, for choosing a breakdown."""
    rows = session.scalars(
        select(Response.properties)
        .where(Response.survey_id == survey_id, Response.organisation_id == organisation_id)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(PROPERTY_SAMPLE)
    )
    names: set[str] = set()
    for properties in rows:
        if isinstance(properties, dict):
            names.update(str(name) for name in properties)
    return sorted(names)
