"""The invitation rows as the outbox worker reads and writes them around a send.

``batch_rows`` loads what a claimed batch needs (``act.send_checks`` decides from it);
``lock_send_state`` reads, in one statement with the rows locked, what the send-time check
needs; ``mark_sent``, ``set_status``, ``set_reason`` and ``undo_sent`` record outcomes;
``reminders_wanted`` tells a worker whether any survey sends reminders at all.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from cxpulse.store.invitations import normalise_email
from cxpulse.store.models import Contact, Invitation, Organisation, Response, Survey, Unsubscribe

REASON_LENGTH = 200
"""The length of ``Invitation.reason``: longer reasons are cut to it."""


@dataclass
class BatchRows:
    """The rows of a batch's invitations and of their contacts, surveys and organisations,
    each by id, and the ids of the invitations answered already."""

    invitations: dict[int, Invitation] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    surveys: dict[int, Survey] = field(default_factory=dict)
    organisations: dict[int, Organisation] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)


def batch_rows(session: Session, invitation_ids: Collection[int]) -> BatchRows:
    """The invitations of ``invitation_ids`` that exist, with their related rows, in five
    queries whatever the batch's size."""
    ids = list(invitation_ids)
    rows = BatchRows()
    for invitation in session.scalars(select(Invitation).where(Invitation.id.in_(ids))):
        rows.invitations[invitation.id] = invitation
    invitations = list(rows.invitations.values())
    contact_ids = {i.contact_id for i in invitations}
    for contact in session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
        rows.contacts[contact.id] = contact
    survey_ids = {i.survey_id for i in invitations}
    for survey in session.scalars(select(Survey).where(Survey.id.in_(survey_ids))):
        rows.surveys[survey.id] = survey
    org_ids = {i.organisation_id for i in invitations}
    for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))):
        rows.organisations[org.id] = org
    rows.answered = set(
        session.scalars(select(Response.invitation_id).where(Response.invitation_id.in_(ids)))
    )
    return rows


@dataclass(frozen=True)
class SendState:
    """An invitation as it stands at the moment its send is committed."""

    status: str
    reminded_at: datetime | None
    survey_status: str
    survey_throttle: int | None
    organisation_throttle: int
    unsubscribed: bool
    """Whether the given address unsubscribed from the invitation's organisation."""


def lock_send_state(
    session: Session, invitation_id: int, contact_id: int, email: str
) -> SendState | None:
    """The invitation's state, its survey's and organisation's, and whether ``email``
    (in canonical form) unsubscribed; None when the invitation (or its contact) is gone.

    One statement, since it runs for every email (two on PostgreSQL when the contact's
    address is shared). On PostgreSQL it locks the contact's and the invitation's rows, and
    those of the organisation's other contacts with the address, until the caller commits.
    """
    # The contact's lock makes two threads sending to the same contact take turns, so that
    # the second sees the first one's send; the invitation's makes a cancel arriving now
    # wait for this commit and then find it sent (one that came first is seen here and
    # wins). SQLite's write transaction already serialises all of them.
    address = normalise_email(email)
    if email and session.get_bind().dialect.name == "postgresql":
        _lock_address(session, contact_id, address)
    unsubscribed = (
        select(Unsubscribe.id)
        .where(
            Unsubscribe.organisation_id == Invitation.organisation_id,
            Unsubscribe.email == address,
        )
        .exists()
    )
    row = session.execute(
        select(
            Invitation.status,
            Invitation.reminded_at,
            Survey.status.label("survey_status"),
            Survey.throttle_days.label("survey_throttle"),
            Organisation.throttle_days.label("organisation_throttle"),
            unsubscribed.label("unsubscribed"),
        )
        .join(Contact, Contact.id == Invitation.contact_id)
        .join(Survey, Survey.id == Invitation.survey_id)
        .join(Organisation, Organisation.id == Invitation.organisation_id)
        .where(Invitation.id == invitation_id, Contact.id == contact_id)
        .with_for_update(of=[Invitation, Contact])
    ).one_or_none()
    if row is None:
        return None
    return SendState(
        status=row.status,
        reminded_at=row.reminded_at,
        survey_status=row.survey_status,
        survey_throttle=row.survey_throttle,
        organisation_throttle=row.organisation_throttle,
        unsubscribed=bool(row.unsubscribed),
    )


def _lock_address(session: Session, contact_id: int, address: str) -> None:
    """Lock every contact of ``contact_id``'s organisation with ``address``, in id order.

    Throttling counts invitations per address, so two threads sending to two contacts with
    one address must take turns as two sending to one contact do. Taking these locks first,
    always in id order, keeps two such threads from each holding one and waiting for the
    other's.
    """
    organisation = select(Contact.organisation_id).where(Contact.id == contact_id)
    session.execute(
        select(Contact.id)
        .where(
            Contact.organisation_id == organisation.scalar_subquery(),
            Contact.email == address,
        )
        .order_by(Contact.id)
        .with_for_update()
    ).all()


def _run(session: Session, query: Update) -> None:
    session.execute(query.execution_options(synchronize_session=False))


def mark_sent(session: Session, invitation_id: int, reminder: bool, sent_at: datetime) -> None:
    """Record the send: ``reminded_at`` for a reminder (unless set), else ``sent`` (only
    while still ``scheduled``)."""
    query = update(Invitation).where(Invitation.id == invitation_id)
    if reminder:
        query = query.where(Invitation.reminded_at.is_(None)).values(reminded_at=sent_at)
    else:
        query = query.where(Invitation.status == "scheduled").values(
            status="sent", sent_at=sent_at, reason=None
        )
    _run(session, query)


def set_status(
    session: Session, invitation_id: int, status: str, reason: str, *, only_scheduled: bool = False
) -> None:
    """Set the invitation's status and reason; ``only_scheduled``: unless it left
    ``scheduled`` meanwhile."""
    query = update(Invitation).where(Invitation.id == invitation_id)
    if only_scheduled:
        query = query.where(Invitation.status == "scheduled")
    _run(session, query.values(status=status, reason=reason[:REASON_LENGTH]))


def set_reason(session: Session, invitation_id: int, reason: str) -> None:
    """Say why on the invitation, its status unchanged."""
    query = update(Invitation).where(Invitation.id == invitation_id)
    _run(session, query.values(reason=reason[:REASON_LENGTH]))


def undo_sent(session: Session, invitation_id: int, reminder: bool) -> None:
    """Take back what ``mark_sent`` recorded (the server refused the message after all)."""
    query = update(Invitation).where(Invitation.id == invitation_id)
    if reminder:
        _run(session, query.values(reminded_at=None))
    else:
        _run(session, query.values(status="scheduled", sent_at=None))


def reminders_wanted(session: Session) -> bool:
    """Whether any survey sends reminders: most installations use none, and then a worker
    need never take the write lock to schedule them."""
    wanted = session.scalar(select(Survey.id).where(Survey.reminder_days.is_not(None)).limit(1))
    return wanted is not None
