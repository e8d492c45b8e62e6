"""The contacts a filter chooses for an invitation: those with an email address, and, when
asked, an attribute equal to a value, a language, and no invitation sent or scheduled in the
last N days.

``count_matching`` says how many before anything is sent; ``matching_contacts`` gives them
in id order (bounded by the caller's limit). Both use the one condition of ``_conditions``,
so the number shown is the number invited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.store.invitations import CONTACTED_STATUSES
from cxpulse.store.models import Contact, Invitation
from cxpulse.store.sql import json_text


@dataclass(frozen=True)
class AudienceFilter:
    """Which contacts: every part given must hold."""

    attribute: str | None = None
    value: str | None = None
    """Compared with the attribute's text exactly (``attribute`` must be given with it)."""
    language: str | None = None
    """A language code such as ``sv``: the contact's locale is it, or a variant (``sv-FI``)."""
    not_invited_days: int | None = None
    """No invitation of any survey sent, or due, in the last N days."""


def _conditions(
    organisation_id: int, chosen: AudienceFilter, now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Contact.organisation_id == organisation_id,
        Contact.email.is_not(None),
        Contact.email != "",
    ]
    if chosen.attribute:
        text = json_text(Contact.attributes, chosen.attribute)
        conditions.append(text == (chosen.value or ""))
    if chosen.language:
        locale = func.lower(Contact.locale)
        code = chosen.language.lower().replace("\\", "").replace("%", "").replace("_", "")
        conditions.append(or_(locale == code, locale.like(f"{code}-%", escape="\\")))
    if chosen.not_invited_days:
        since = now - timedelta(days=chosen.not_invited_days)
        moment = func.coalesce(Invitation.sent_at, Invitation.send_at)
        recent = (
            select(Invitation.id)
            .where(
                Invitation.contact_id == Contact.id,
                Invitation.status.in_(CONTACTED_STATUSES),
                moment >= since,
            )
            .exists()
        )
        conditions.append(not_(recent))
    return conditions


def count_matching(
    session: Session, organisation_id: int, chosen: AudienceFilter, now: datetime
) -> int:
    found = session.scalar(
        select(func.count()).select_from(Contact).where(*_conditions(organisation_id, chosen, now))
    )
    return int(found or 0)


def matching_contacts(
    session: Session, organisation_id: int, chosen: AudienceFilter, now: datetime, *, limit: int
) -> list[Contact]:
    """At most ``limit`` of the contacts, in id order."""
    return list(
        session.scalars(
            select(Contact)
            .where(*_conditions(organisation_id, chosen, now))
            .order_by(Contact.id)
            .limit(limit)
        )
    )


def locales_of_matching(
    session: Session, organisation_id: int, chosen: AudienceFilter, now: datetime
) -> list[str | None]:
    """The distinct locales of the matching contacts (None for those without one)."""
    rows = session.scalars(
        select(Contact.locale).where(*_conditions(organisation_id, chosen, now)).distinct()
    )
    return [row if row is None else str(row) for row in rows]


def locales_of_emails(session: Session, organisation_id: int, emails: list[str]) -> dict[str, str]:
    """The locale of each known contact among ``emails`` (as stored: canonical addresses)."""
    if not emails:
        return {}
    rows = session.execute(
        select(Contact.email, Contact.locale).where(
            Contact.organisation_id == organisation_id,
            Contact.email.in_(sorted(set(emails))),
            Contact.locale.is_not(None),
        )
    ).all()
    return {str(email): str(locale) for email, locale in rows if email and locale}


def attribute_names(session: Session, organisation_id: int, *, sample: int = 500) -> list[str]:
    """Attribute names seen on the organisation's latest contacts (a hint for the form)."""
    rows = session.scalars(
        select(Contact.attributes)
        .where(Contact.organisation_id == organisation_id)
        .order_by(Contact.id.desc())
        .limit(sample)
    )
    names: set[str] = set()
    for attributes in rows:
        if isinstance(attributes, dict):
            names.update(str(k) for k in attributes)
    return sorted(names)[:100]


__all__ = [
    "AudienceFilter",
    "attribute_names",
    "count_matching",
    "locales_of_emails",
    "locales_of_matching",
    "matching_contacts",
]
