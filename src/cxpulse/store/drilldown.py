"""The responses behind a number of the dashboard, newest first, with their customer.

Keyset pagination on (submitted_at, id) descending: page 100 costs what page 1 does.

Comments are shown with personal data replaced: the redacted text of the comment's current
analysis, else the comment redacted as the row is read (``store.shown_comments``), so a page
never shows a comment as it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.cursors import decode_cursor, encode_cursor
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Contact, Response
from cxpulse.store.shown_comments import exported_comment, with_analysis_join

DRILL_PAGE_SIZE = 50


@dataclass(frozen=True)
class DrillRow:
    id: int
    submitted_at: datetime
    score: float
    comment: str | None
    """Redacted: personal data replaced (``[email]``, ``[phone]`` ...)."""
    language: str | None
    channel: str | None
    touchpoint: str | None
    properties: dict[str, str]
    customer: str | None
    """The contact's name and email, else its external id; None without a contact."""


@dataclass(frozen=True)
class DrillPage:
    rows: list[DrillRow]
    next_after: str | None
    """The page token of the next page; None on the last page."""


def customer_label(name: str | None, email: str | None, external_id: str | None) -> str | None:
    parts = [part for part in (name, email) if part]
    if not parts and external_id:
        parts = [external_id]
    return " · ".join(parts) or None


def drill_page(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    *,
    after: str | None = None,
    limit: int = DRILL_PAGE_SIZE,
) -> DrillPage:
    """The responses of ``filters``, newest first, ``limit`` at a time after the page token
    ``after``. Raises Invalid for a page token this server did not give out."""
    conditions, _ = filter_conditions(organisation_id, filters)
    if after:
        conditions += after_key(
            Response.submitted_at, Response.id, decode_cursor(after), descending=True
        )
    # Contacts are always joined: every row shows its customer.
    query = join_contacts(
        select(
            Response.id,
            Response.submitted_at,
            Response.score,
            exported_comment().label("comment"),
            Response.language,
            Response.channel,
            Response.touchpoint,
            Response.properties,
            Contact.name,
            Contact.email,
            Contact.external_id,
        ).select_from(Response),
        organisation_id,
    )
    query = with_analysis_join(query)
    found = session.execute(
        query.where(*conditions)
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(limit + 1)
    ).all()
    rows = [
        DrillRow(
            id=row.id,
            submitted_at=row.submitted_at,
            score=row.score,
            comment=row.comment,
            language=row.language,
            channel=row.channel,
            touchpoint=row.touchpoint,
            properties=dict(row.properties or {}),
            customer=customer_label(row.name, row.email, row.external_id),
        )
        for row in found[:limit]
    ]
    next_after = None
    if len(found) > limit and rows:
        next_after = encode_cursor((rows[-1].submitted_at, rows[-1].id))
    return DrillPage(rows, next_after)
