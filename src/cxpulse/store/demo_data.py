"""The reads and bulk writes of the demo seeder (``cxpulse.demo``): finding what an earlier run
left (its admin, its contacts, a survey's responses), inserting the demo contacts in one
statement, and linking generated answers to the invitations made for them.

What is written is decided in ``cxpulse.demo``; this module only reads and writes rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from cxpulse.store.models import Contact, Response, User


@dataclass(frozen=True)
class StoredContact:
    """A contact's id and attributes, as the demo reads its customers back."""

    id: int
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class EmailAnswer:
    """A response given by a known contact through the email channel."""

    response_id: int
    contact_id: int
    submitted_at: datetime


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with exactly this address, in any organisation."""
    return session.scalar(select(User).where(User.email == email))


def contacts_with_prefix(
    session: Session, organisation_id: int, prefix: str
) -> list[StoredContact]:
    """The organisation's contacts whose external id starts with ``prefix`` (taken literally,
    not as a LIKE pattern), in the order the database returns them."""
    query = select(Contact.id, Contact.attributes).where(
        Contact.organisation_id == organisation_id,
        Contact.external_id.startswith(prefix, autoescape=True),
    )
    return [StoredContact(int(row.id), row.attributes) for row in session.execute(query)]


def insert_contacts(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``Contact`` rows (column values, as ``demo.contacts.contact_rows`` makes them)
    in one statement; their new ids, in the order of ``rows``."""
    if not rows:
        return []
    ids = session.scalars(
        insert(Contact).returning(Contact.id, sort_by_parameter_order=True), list(rows)
    ).all()
    return [int(contact_id) for contact_id in ids]


def survey_has_responses(session: Session, survey_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Response.survey_id == survey_id))))


def count_survey_responses(session: Session, survey_id: int) -> int:
    total = session.scalar(
        select(func.count()).select_from(Response).where(Response.survey_id == survey_id)
    )
    return int(total or 0)


def email_answers(
    session: Session, organisation_id: int, survey_id: int, since: datetime
) -> list[EmailAnswer]:
    """The survey's email-channel responses of known contacts submitted at or after ``since``,
    in the order the database returns them."""
    rows = session.execute(
        select(Response.id, Response.contact_id, Response.submitted_at).where(
            Response.organisation_id == organisation_id,
            Response.survey_id == survey_id,
            Response.channel == "email",
            Response.contact_id.is_not(None),
            Response.submitted_at >= since,
        )
    ).all()
    answers: list[EmailAnswer] = []
    for response_id, contact_id, submitted_at in rows:
        assert contact_id is not None  # selected so
        answers.append(EmailAnswer(int(response_id), int(contact_id), submitted_at))
    return answers


def link_responses(session: Session, links: Sequence[tuple[int, int]]) -> None:
    """Set the invitation of each ``(response id, invitation id)``, in one statement."""
    if links:
        session.execute(
            update(Response),
            [
                {"id": response_id, "invitation_id": invitation_id}
                for response_id, invitation_id in links
            ],
        )
