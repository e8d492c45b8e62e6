"""The responses behind a number of the dashboard, newest first, with their customer.

Keyset pagination on (submitted_at, id) descending: page 100 costs what page 1 does.

Comments are shown with personal data replaced: the redacted text of the comment's current
analysis, else the comment redacted as the row is read (``store.shown_comments``), so a page
never shows a comment as it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from cxpulse.store.cursors import decode_cursor, encode_cursor
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Contact, Response
from cxpulse.store.response_values import VALUE_NAMES, ResponseValues
from cxpulse.store.shown_comments import exported_comment, with_analysis_join

DRILL_PAGE_SIZE = 50


@dataclass(frozen=True, kw_only=True)
class DrillRow(ResponseValues):
    """A response as the drill-down lists it; its comment redacted (personal data replaced:
    ``[email]``, ``[phone]`` ...)."""

    customer: str | None
    """The contact's name and email, else its external id; None without a contact."""


# The comment is read as shown (``exported_comment``), never as stored.
_VALUE_COLUMNS = [
    exported_comment().label(name) if name == "comment" else getattr(Response, name)
    for name in VALUE_NAMES
]


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


def _drill_row(row: Row[Any]) -> DrillRow:
    values = {name: row._mapping[name] for name in VALUE_NAMES}
    values["properties"] = dict(values["properties"] or {})
    return DrillRow(**values, customer=customer_label(row.name, row.email, row.external_id))


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
            *_VALUE_COLUMNS,
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
    rows = [_drill_row(row) for row in found[:limit]]
    next_after = None
    if len(found) > limit and rows:
        next_after = encode_cursor((rows[-1].submitted_at, rows[-1].id))
    return DrillPage(rows, next_after)
