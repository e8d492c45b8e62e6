"""Whether an invitation or reminder email may still go out, checked twice by the worker.

``load_context`` reads what a claimed batch needs in a few queries, and ``skip_reason``
decides from it, before composing, which items to close unsent: the invitation withdrawn,
the address unsubscribed, another invitation sent to the contact within the throttle window,
the survey answered (for a reminder) or closed. ``late_reason`` decides the same again
inside the transaction that commits a send, with the contact and invitation rows locked,
since the batch was loaded a while ago and other threads or requests may have acted since.
The rows are read, locked and updated by ``store.invitation_sends``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.collect import invitations as triggers
from cxpulse.store import invitation_sends, outbox
from cxpulse.store import invitations as store
from cxpulse.store.models import Contact, Invitation, Organisation, Survey

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
    rows = invitation_sends.batch_rows(session, ids)
    context = BatchContext(
        invitations=rows.invitations,
        contacts=rows.contacts,
        surveys=rows.surveys,
        organisations=rows.organisations,
        answered=rows.answered,
    )
    invitations = list(context.invitations.values())
    contact_ids = {i.contact_id for i in invitations}
    org_ids = {i.organisation_id for i in invitations}
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
    # One locking statement (see ``lock_send_state``), since it runs for every email.
    current = invitation_sends.lock_send_state(
        session, invitation.id, contact.id, contact.email or ""
    )
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
