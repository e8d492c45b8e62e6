"""Whether an invitation or reminder email may still go out, checked twice by the worker.

``load_context`` reads what a claimed batch needs in a few queries, and ``skip_reason``
decides from it, before composing, which items to close unsent: the invitation withdrawn,
the address unsubscribed, another invitation sent to the contact within the throttle window,
the survey answered (for a reminder) or closed. ``late_reason`` decides the same again
inside the transaction that commits a send, with the contact and invitation rows locked,
since the batch was loaded a while ago and other threads or requests may have acted since.
``mark_sent`` and ``set_invitation`` record the outcome on the invitation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cxpulse.collect import invitations as triggers
from cxpulse.store import invitations as store
from cxpulse.store import outbox
from cxpulse.store.models import Contact, Invitation, Organisation, Response, Survey, Unsubscribe

SURVEY_CLOSED = "survey closed"

Verdict = tuple[str, str] | None
"""Why not to send, as (the invitation's new status or '', the reason); None to send."""


@dataclass
class BatchContext:
    """What a batch needs to decide and compose, loaded in a few queries."""

    invitations: dict[int, Invitation] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    surveys: dict[int, Survey] = field(default_factory=dict)
    organisations: dict[int, Organisation] = field(default_factory=dict)
    unsubscribed: set[tuple[int, str]] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    last_sent: dict[int, datetime] = field(default_factory=dict)


def load_context(session: Session, items: Sequence[outbox.Claimed], now: datetime) -> BatchContext:
    ids = {int(item.payload.get("invitation_id", 0)) for item in items}
    context = BatchContext()
    for row in session.scalars(select(Invitation).where(Invitation.id.in_(ids))):
        context.invitations[row.id] = row
    invitations = list(context.invitations.values())
    contact_ids = {i.contact_id for i in invitations}
    for contact in session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
        context.contacts[contact.id] = contact
    survey_ids = {i.survey_id for i in invitations}
    for survey in session.scalars(select(Survey).where(Survey.id.in_(survey_ids))):
        context.surveys[survey.id] = survey
    org_ids = {i.organisation_id for i in invitations}
    for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))):
        context.organisations[org.id] = org
    for org_id in org_ids:
        emails = [
            c.email
            for i in invitations
            if i.organisation_id == org_id
            and (c := context.contacts.get(i.contact_id)) is not None
            and c.email
        ]
        for email in store.unsubscribed_among(session, org_id, emails):
            context.unsubscribed.add((org_id, email))
    context.answered = set(
        session.scalars(select(Response.invitation_id).where(Response.invitation_id.in_(ids)))
    )
    longest = max((throttle(context, i) for i in invitations), default=0)
    if longest > 0:
        context.last_sent = store.last_sent(
            session, contact_ids, now - timedelta(days=longest), exclude=ids
        )
    return context


def throttle(context: BatchContext, invitation: Invitation) -> int:
    """The throttle window of the invitation's survey (or organisation), in days."""
    survey = context.surveys.get(invitation.survey_id)
    org = context.organisations.get(invitation.organisation_id)
    if survey is None or org is None:
        return 0
    return triggers.throttle_days(org, survey)


def _throttled(contacted: datetime, days: int) -> tuple[str, str]:
    return "throttled", (
        f"contacted on {contacted.date().isoformat()}; at most one invitation per {days} days"
    )


def skip_reason(item: outbox.Claimed, context: BatchContext, now: datetime) -> Verdict:
    """Whether to close the item unsent, decided from the batch's context."""
    invitation = context.invitations.get(int(item.payload.get("invitation_id", 0)))
    if invitation is None:
        return "", "the invitation was deleted"
    contact = context.contacts.get(invitation.contact_id)
    reminder = item.kind == triggers.REMINDER_KIND
    if reminder:
        if invitation.status != "sent" or invitation.reminded_at is not None:
            return "", f"no reminder for an invitation that is {invitation.status}"
        if invitation.id in context.answered:
            return "", "answered already"
    elif invitation.status != "scheduled":
        return "", f"the invitation is {invitation.status}"
    survey = context.surveys.get(invitation.survey_id)
    if survey is None or survey.status != "active":
        return ("" if reminder else "cancelled"), SURVEY_CLOSED
    if contact is None or not contact.email:
        return ("failed" if not reminder else ""), "the contact has no email address"
    if (
        invitation.organisation_id,
        store.normalise_email(contact.email),
    ) in context.unsubscribed:
        return ("unsubscribed" if not reminder else ""), "the address unsubscribed"
    if not reminder:
        days = throttle(context, invitation)
        last = context.last_sent.get(contact.id)
        if days > 0 and last is not None and now - last < timedelta(days=days):
            return _throttled(last, days)
    return None


def late_reason(
    session: Session, invitation: Invitation, contact: Contact, reminder: bool, now: datetime
) -> Verdict:
    """``skip_reason`` again inside the transaction that commits the send."""
    # One statement, since it runs for every email. On PostgreSQL it locks the contact, so
    # that two threads sending to the same contact take turns here and the second sees
    # the first one's send, and the invitation, so that a cancel arriving now waits for
    # this commit and then finds it sent (one that came first is seen here and wins).
    # SQLite's write transaction already serialises all of them.
    unsubscribed = (
        select(Unsubscribe.id)
        .where(
            Unsubscribe.organisation_id == Invitation.organisation_id,
            Unsubscribe.email == store.normalise_email(contact.email or ""),
        )
        .exists()
    )
    current = session.execute(
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
        .where(Invitation.id == invitation.id, Contact.id == contact.id)
        .with_for_update(of=[Invitation, Contact])
    ).one_or_none()
    if current is None:
        return "", "the invitation was deleted"
    if reminder and (current.status != "sent" or current.reminded_at is not None):
        return "", f"no reminder for an invitation that is {current.status}"
    if not reminder and current.status != "scheduled":
        return "", f"the invitation is {current.status}"
    if current.survey_status != "active":
        return ("" if reminder else "cancelled"), SURVEY_CLOSED
    if contact.email and current.unsubscribed:
        return ("" if reminder else "unsubscribed"), "the address unsubscribed"
    if reminder:
        return None
    days = (
        current.survey_throttle
        if current.survey_throttle is not None
        else current.organisation_throttle
    )
    if days > 0:
        since = now - timedelta(days=days)
        last = store.last_sent(session, [contact.id], since, exclude=[invitation.id])
        if contact.id in last:
            return _throttled(last[contact.id], days)
    return None


def mark_sent(session: Session, invitation_id: int, reminder: bool, sent_at: datetime) -> None:
    # Conditional as well, though ``late_reason`` has just checked under a lock.
    query = update(Invitation).where(Invitation.id == invitation_id)
    if reminder:
        query = query.where(Invitation.reminded_at.is_(None)).values(reminded_at=sent_at)
    else:
        query = query.where(Invitation.status == "scheduled").values(
            status="sent", sent_at=sent_at, reason=None
        )
    session.execute(query.execution_options(synchronize_session=False))


def set_invitation(
    session: Session, invitation_id: int, *, only_scheduled: bool = False, **changes: object
) -> None:
    """Update the invitation's row (its ``reason`` cut to the column's 200 characters)."""
    if isinstance(changes.get("reason"), str):
        changes["reason"] = str(changes["reason"])[:200]
    query = update(Invitation).where(Invitation.id == invitation_id)
    if only_scheduled:
        query = query.where(Invitation.status == "scheduled")
    session.execute(query.values(**changes).execution_options(synchronize_session=False))
