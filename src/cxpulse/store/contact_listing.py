"""The contacts page's list: the organisation's contacts newest first, found by a few
letters of their name, address or external id and by one attribute's value, a page at a
time by keyset (``store.keyset``), with the names of the attributes in use.

The API's listing (``store.contacts.list_contacts``) pages by id for machines; people want
the newest first and a search, which this module adds without changing the API's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from cxpulse.store import invitations
from cxpulse.store.keyset import after_key
from cxpulse.store.models import Contact
from cxpulse.store.sql import json_text

__all__ = ["ContactListing", "attribute_names", "search_contacts"]

MAX_SEARCH_LENGTH = 200
MAX_ATTRIBUTE_NAMES = 200


@dataclass(frozen=True)
class ContactListing:
    items: list[Contact]
    next_after: tuple[datetime, int] | None
    """The (created_at, id) of the page's last contact when there is a next page."""
    unsubscribed: set[str]
    """The addresses of ``items`` (canonical form) that unsubscribed."""


def _conditions(
    organisation_id: int, text: str | None, attribute: str | None, value: str | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Contact.organisation_id == organisation_id]
    wanted = (text or "").strip()[:MAX_SEARCH_LENGTH]
    if wanted:
        conditions.append(
            or_(
                Contact.name.icontains(wanted, autoescape=True),
                Contact.email.icontains(wanted, autoescape=True),
                Contact.external_id.icontains(wanted, autoescape=True),
            )
        )
    if attribute:
        column = json_text(Contact.attributes, attribute)
        # A name without a value: the contacts that have the attribute at all.
        conditions.append(
            column == value.strip() if value and value.strip() else column.is_not(None)
        )
    return conditions


def search_contacts(
    session: Session,
    organisation_id: int,
    *,
    text: str | None = None,
    attribute: str | None = None,
    value: str | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> ContactListing:
    """The contacts that match, newest first, ``limit`` at a time after ``after``."""
    conditions = _conditions(organisation_id, text, attribute, value)
    if after is not None:
        conditions += after_key(Contact.created_at, Contact.id, after, descending=True)
    rows = list(
        session.scalars(
            select(Contact)
            .where(*conditions)
            .order_by(Contact.created_at.desc(), Contact.id.desc())
            .limit(limit + 1)
        )
    )
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    emails = [contact.email for contact in items if contact.email]
    return ContactListing(
        items,
        (last.created_at, last.id) if more and last is not None else None,
        invitations.unsubscribed_among(session, organisation_id, emails),
    )


def attribute_names(session: Session, organisation_id: int) -> list[str]:
    """The attribute names the organisation's contacts use, sorted (at most 200)."""
    if session.get_bind().dialect.name == "postgresql":
        query = select(func.jsonb_object_keys(Contact.attributes).label("name")).select_from(
            Contact
        )
    else:
        each = func.json_each(Contact.attributes).table_valued("key").alias("each")
        query = select(each.c.key.label("name")).select_from(Contact).join(each, true())
    inner = query.where(Contact.organisation_id == organisation_id).subquery()
    names = session.scalars(
        select(inner.c.name).distinct().order_by(inner.c.name).limit(MAX_ATTRIBUTE_NAMES)
    )
    return [str(name) for name in names]
