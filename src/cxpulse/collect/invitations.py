"""Invitations, as the other stages call them, and what an invitation's link leads to.

The work is split by job; this module re-exports their public names so that callers
(``act.worker``, the web routes, the CLI) import one module:

- ``cxpulse.collect.invitation_requests``: a request, its checks, its contact, its send time;
- ``cxpulse.collect.invitation_throttling``: the throttle window and unsubscribes;
- ``cxpulse.collect.invitation_scheduling``: storing invitations with their outbox items,
  cancelling one, or every scheduled one of a survey;
- ``cxpulse.collect.invitation_reminders``: enqueueing the reminders that are due.

Below: the invitation a verified link names (the link itself is signed and checked by
``cxpulse.collect.links``), its unsubscribe and its first open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cxpulse.collect.invitation_reminders import REMINDER_KIND, schedule_reminders
from cxpulse.collect.invitation_requests import (
    CHANNELS,
    MAX_DELAY,
    InvitationRequest,
    parse_delay,
    resolve_contact,
)
from cxpulse.collect.invitation_scheduling import (
    INVITATION_KIND,
    Triggered,
    cancel_invitation,
    cancel_scheduled,
    create_invitations,
    outbox_key,
)
from cxpulse.collect.invitation_throttling import (
    MAX_THROTTLE_DAYS,
    set_organisation_throttle,
    throttle_days,
)
from cxpulse.store import invitations as store
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Contact, Invitation, Organisation
from cxpulse.store.types import utc_now

__all__ = [
    "CHANNELS",
    "INVITATION_KIND",
    "MAX_DELAY",
    "MAX_THROTTLE_DAYS",
    "REMINDER_KIND",
    "InvitationRequest",
    "LinkTarget",
    "Triggered",
    "cancel_invitation",
    "cancel_scheduled",
    "create_invitations",
    "invitation_for_link",
    "outbox_key",
    "parse_delay",
    "record_open",
    "resolve_contact",
    "schedule_reminders",
    "set_organisation_throttle",
    "throttle_days",
    "unsubscribe",
]


@dataclass(frozen=True)
class LinkTarget:
    """The invitation a link names, with its contact (None when it has none) and organisation."""

    invitation: Invitation
    contact: Contact | None
    organisation: Organisation


def invitation_for_link(session: Session, invitation_id: int, survey_id: int) -> LinkTarget:
    """The invitation a verified link names; ``NotFound`` when it is gone."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.survey_id != survey_id:
        raise NotFound("invitation", invitation_id)
    organisation = session.get(Organisation, invitation.organisation_id)
    assert organisation is not None
    contact = session.get(Contact, invitation.contact_id)
    return LinkTarget(invitation, contact, organisation)


def unsubscribe(session: Session, target: LinkTarget, source: str) -> bool:
    """Record the unsubscribe of the invitation's address; True when new."""
    if target.contact is None or not target.contact.email:
        return False
    return store.add_unsubscribe(session, target.organisation.id, target.contact.email, source)


def record_open(session: Session, invitation: Invitation, *, now: datetime | None = None) -> None:
    """Note when the invitation was first opened; later opens change nothing."""
    if invitation.opened_at is None:
        invitation.opened_at = now or utc_now()
        session.flush()
