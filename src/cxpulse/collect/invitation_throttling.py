"""Which invitations may go out: at most one per address every N days (N is the survey's
``throttle_days``, else the organisation's; 0 turns it off), and none to an address that
unsubscribed. Addresses are compared in their canonical form (``store.email_addresses``), so
``Ana@X.test`` and ``ana@x.test`` are one person, whichever contacts they were stored on.

``decide_fates`` decides a batch when it is made (``cxpulse.collect.invitation_scheduling``);
the worker (``cxpulse.act.worker``) checks again with ``throttle_days`` when it sends, because
an address can unsubscribe, or another invitation go out, in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.store import invitations as store
from cxpulse.store import sms_opt_outs
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Contact, Organisation, Survey

MAX_THROTTLE_DAYS = 3650


def throttle_days(organisation: Organisation, survey: Survey) -> int:
    """Days between two invitations to a contact: the survey's setting, else the
    organisation's (0: no throttling)."""
    return survey.throttle_days if survey.throttle_days is not None else organisation.throttle_days


def set_organisation_throttle(session: Session, organisation_id: int, days: object) -> int:
    """Set the organisation's default days between two invitations to a contact (0: no
    throttling); the previous value. Invitations already made keep their status."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise Invalid(
            "throttle_days", f"must be a whole number of days from 0 to {MAX_THROTTLE_DAYS}"
        )
    if not 0 <= days <= MAX_THROTTLE_DAYS:
        raise Invalid("throttle_days", f"must be from 0 to {MAX_THROTTLE_DAYS} days (0: off)")
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    previous = organisation.throttle_days
    organisation.throttle_days = days
    session.flush()
    return previous


@dataclass(frozen=True)
class Fate:
    """What becomes of one invitation: ``scheduled``, ``throttled`` or ``unsubscribed``."""

    status: str = "scheduled"
    reason: str | None = None


def decide_fates(
    session: Session,
    organisation: Organisation,
    survey: Survey,
    candidates: Sequence[tuple[Contact, datetime]],
    *,
    channels: Sequence[str] | None = None,
) -> list[Fate]:
    """The fate of each ``(contact, send time)``, in order (an earlier one in the batch counts).

    Throttled when any other invitation to the contact's address (to this contact or another
    with the address), sent or scheduled, by any survey, lies less than N days before or
    after this one's send time. Each contact has an email address, or for an invitation by
    SMS (``channels``, default all email) a phone number, checked by the caller; an SMS
    invitation to a number that opted out is ``unsubscribed``.
    """
    by_sms = [channel == "sms" for channel in (channels or ["email"] * len(candidates))]
    days = throttle_days(organisation, survey)
    emails = [
        c.email for (c, _), sms in zip(candidates, by_sms, strict=True) if c.email and not sms
    ]
    unsubscribed = store.unsubscribed_among(session, organisation.id, emails)
    phones = [c.phone for (c, _), sms in zip(candidates, by_sms, strict=True) if c.phone and sms]
    opted_out = sms_opt_outs.opted_out_among(session, organisation.id, phones)
    window = timedelta(days=days)
    contacted: dict[int, list[datetime]] = {}
    if days > 0:
        # Per contact, the times of every contact with its address.
        contacted = store.contacted_times(
            session,
            {contact.id for contact, _ in candidates},
            min(send_at for _, send_at in candidates) - window,
            max(send_at for _, send_at in candidates) + window,
        )
    by_address: dict[str, list[datetime]] = {}
    fates: list[Fate] = []
    for (contact, send_at), sms in zip(candidates, by_sms, strict=True):
        if sms:
            assert contact.phone is not None
            if contact.phone in opted_out:
                fates.append(Fate("unsubscribed", "the number opted out of SMS"))
                continue
        elif contact.email and store.normalise_email(contact.email) in unsubscribed:
            fates.append(Fate("unsubscribed", "the address unsubscribed"))
            continue
        # A person is their address; one reached by phone only, their number.
        address = store.normalise_email(contact.email) if contact.email else f"tel:{contact.phone}"
        if days <= 0:
            fates.append(Fate())
            continue
        # Keyed by address, so that a batch naming two contacts with one address sends once.
        times = by_address.setdefault(address, list(contacted.get(contact.id, [])))
        near = [t for t in times if abs(send_at - t) < window]
        if near:
            closest = min(near, key=lambda t: abs(send_at - t))
            when = (
                f"contacted on {closest.date().isoformat()}"
                if closest <= send_at
                else f"another invitation is due on {closest.date().isoformat()}"
            )
            fates.append(Fate("throttled", f"{when}; at most one invitation per {days} days"))
            continue
        times.append(send_at)
        fates.append(Fate())
    return fates
