"""Triggering invitations: resolve the contact, schedule, throttle, suppress, enqueue.

``create_invitations`` stores each invitation with its fate decided at once:

- ``scheduled`` with an outbox item (``invitation:<id>``, due at ``send_at``) written in the
  same transaction, so that an invitation is never stored without its email or vice versa;
- ``throttled`` when the contact was invited (by any survey) less than N days from this
  send time: N is the survey's ``throttle_days``, else the organisation's (0 turns it off);
- ``unsubscribed`` when the address asked for no more email.

The same checks run again when the worker sends (``cxpulse.act.worker``), because an
address can unsubscribe, or another invitation go out, in between.

An ``idempotency_key`` makes a retried request return the invitation made the first time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, cast, exists, literal, select, update
from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.store import _values as values
from cxpulse.store import contacts as contact_store
from cxpulse.store import invitations as store
from cxpulse.store import outbox
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Contact, Invitation, Organisation, Response, Survey
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

INVITATION_KIND = "invitation"
REMINDER_KIND = "reminder"
MAX_DELAY = timedelta(days=365)
CHANNELS = ("email",)

_DELAY_PART = re.compile(r"(\d{1,6})\s*([smhdw])")
_DELAY = re.compile(r"(?:\d{1,6}\s*[smhdw]\s*)+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def parse_delay(text: str) -> timedelta:
    """``"30m"``, ``"24h"``, ``"2d"``, ``"1w"`` or a sum such as ``"1d 12h"``; at most a year."""
    cleaned = text.strip().lower()
    if not cleaned or not _DELAY.fullmatch(cleaned):
        raise ValueError(
            f"{text!r} is not a delay: use a number and a unit, such as 30m, 24h or 2d"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DELAY_PART.findall(cleaned))
    delay = timedelta(seconds=seconds)
    if delay > MAX_DELAY:
        raise ValueError(f"{text!r} is longer than a year")
    return delay


def outbox_key(kind: str, invitation_id: int) -> str:
    return f"{kind}:{invitation_id}"


@dataclass(frozen=True)
class InvitationRequest:
    """One invitation to make. Name the contact by ``contact_id``, or by ``external_id``
    and/or ``email`` (created, or updated with the fields given, when not found)."""

    contact_id: int | None = None
    external_id: str | None = None
    email: str | None = None
    name: str | None = None
    locale: str | None = None
    attributes: Mapping[str, object] | None = None
    delay: str | None = None
    send_at: datetime | None = None
    properties: Mapping[str, object] | None = None
    language: str | None = None
    idempotency_key: str | None = None
    channel: str = "email"


@dataclass(frozen=True)
class Triggered:
    invitation: Invitation
    created: bool
    """False when an earlier request with the same idempotency key made it."""


@dataclass
class _Plan:
    index: int
    request: InvitationRequest
    send_at: datetime
    contact: Contact | None = None
    status: str = "scheduled"
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


def throttle_days(organisation: Organisation, survey: Survey) -> int:
    return survey.throttle_days if survey.throttle_days is not None else organisation.throttle_days


MAX_THROTTLE_DAYS = 3650


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


def _send_at(request: InvitationRequest, now: datetime, index: int) -> datetime:
    if request.delay is not None and request.send_at is not None:
        raise Invalid("delay", "give either delay or send_at, not both", index=index)
    if request.delay is not None:
        try:
            return now + parse_delay(request.delay)
        except ValueError as error:
            raise Invalid("delay", str(error), index=index) from None
    if request.send_at is not None:
        moment = values.aware("send_at", request.send_at, index=index)
        if moment > now + MAX_DELAY:
            raise Invalid("send_at", "is more than a year ahead", index=index)
        return max(moment, now)
    return now


def _check_request(request: InvitationRequest, index: int) -> None:
    if request.channel not in CHANNELS:
        raise Invalid("channel", f"must be one of {', '.join(CHANNELS)}", index=index)
    if request.contact_id is None and not (request.external_id or request.email):
        raise Invalid(
            "contact_id", "name the contact: contact_id, external_id or email", index=index
        )
    if request.contact_id is not None and (request.external_id or request.email):
        raise Invalid(
            "contact_id", "give contact_id alone, or external_id/email instead", index=index
        )
    if request.email is not None:
        values.email("email", request.email, index=index)
    if request.language is not None and i18n.normalise(request.language) is None:
        raise Invalid("language", f"must be one of {', '.join(i18n.LANGUAGES)}", index=index)
    if request.idempotency_key is not None:
        values.required_text("idempotency_key", request.idempotency_key, 200, index=index)


def _find_by_email(session: Session, organisation_id: int, email: str) -> Contact | None:
    return session.scalar(
        select(Contact)
        .where(Contact.organisation_id == organisation_id, Contact.email == email.strip())
        .order_by(Contact.id)
        .limit(1)
    )


def resolve_contact(
    session: Session, organisation_id: int, request: InvitationRequest, index: int | None = None
) -> tuple[Contact, bool]:
    """The contact a request names, created or updated as it asks; True when created."""
    if request.contact_id is not None:
        try:
            return contact_store.get_contact(session, organisation_id, request.contact_id), False
        except NotFound:
            raise Invalid("contact_id", "no such contact", index=index) from None
    email = request.email.strip() if request.email else None
    if request.external_id:
        external = values.required_text("external_id", request.external_id, 200, index=index)
        return contact_store.upsert_contact(
            session,
            organisation_id,
            external,
            email=email,
            name=request.name,
            locale=request.locale,
            attributes=request.attributes,
        )
    assert email is not None
    found = _find_by_email(session, organisation_id, email)
    if found is None:
        created = contact_store.create_contact(
            session,
            organisation_id,
            email=email,
            name=request.name,
            locale=request.locale,
            attributes=request.attributes,
        )
        return created, True
    if request.name is not None:
        found.name = values.text("name", request.name, 200, index=index)
    if request.locale is not None:
        found.locale = values.text("locale", request.locale, 35, index=index)
    if request.attributes:
        found.attributes = {
            **found.attributes,
            **values.text_mapping("attributes", request.attributes, index=index),
        }
    return found, False


def create_invitations(
    session: Session,
    organisation_id: int,
    survey_id: int,
    requests: Sequence[InvitationRequest],
    *,
    now: datetime | None = None,
) -> list[Triggered]:
    """Store the invitations (and their outbox items) in the caller's transaction.

    Raises ``Invalid`` naming the item and field at fault; nothing is stored then, as long
    as the caller rolls back.
    """
    moment = now or utc_now()
    survey = session.scalar(
        select(Survey).where(Survey.organisation_id == organisation_id, Survey.id == survey_id)
    )
    if survey is None:
        raise NotFound("survey", survey_id)
    if survey.status != "active":
        raise Invalid("survey", f"is {survey.status}; only an active survey can invite")
    organisation = session.get(Organisation, organisation_id)
    assert organisation is not None

    keys = [r.idempotency_key for r in requests if r.idempotency_key]
    existing = store.by_idempotency_keys(session, organisation_id, keys)
    results: list[Triggered | None] = [None] * len(requests)
    plans: list[_Plan] = []
    planned_keys: dict[str, _Plan] = {}
    repeats: list[tuple[int, str]] = []
    for index, request in enumerate(requests):
        _check_request(request, index)
        key = request.idempotency_key
        if key and key in existing:
            if existing[key].survey_id != survey.id:
                raise Invalid(
                    "idempotency_key", "was used for an invitation to another survey", index=index
                )
            results[index] = Triggered(existing[key], created=False)
            continue
        if key and key in planned_keys:
            repeats.append((index, key))
            continue
        plan = _Plan(index, request, _send_at(request, moment, index))
        plan.properties = values.text_mapping("properties", request.properties, index=index)
        plan.contact, _ = resolve_contact(session, organisation_id, request, index)
        if not plan.contact.email:
            raise Invalid("email", "the contact has no email address", index=index)
        plans.append(plan)
        if key:
            planned_keys[key] = plan
    if plans:
        session.flush()
        _decide(session, organisation, survey, plans)
        created = _store(session, organisation_id, survey, plans)
        for plan, invitation in zip(plans, created, strict=True):
            results[plan.index] = Triggered(invitation, created=True)
        for index, key in repeats:
            first = results[planned_keys[key].index]
            assert first is not None
            results[index] = Triggered(first.invitation, created=False)
    return [r for r in results if r is not None]


def _decide(
    session: Session, organisation: Organisation, survey: Survey, plans: list[_Plan]
) -> None:
    """Throttled or unsubscribed, in request order (an earlier request in the batch counts).

    Throttled when any other invitation of the contact, sent or scheduled, by any survey,
    lies less than N days before or after this one's send time.
    """
    days = throttle_days(organisation, survey)
    emails = [p.contact.email for p in plans if p.contact and p.contact.email]
    unsubscribed = store.unsubscribed_among(session, organisation.id, emails)
    window = timedelta(days=days)
    contacted: dict[int, list[datetime]] = {}
    if days > 0:
        contacted = store.contacted_times(
            session,
            {p.contact.id for p in plans if p.contact},
            min(p.send_at for p in plans) - window,
            max(p.send_at for p in plans) + window,
        )
    for plan in plans:
        assert plan.contact is not None
        assert plan.contact.email is not None
        if store.normalise_email(plan.contact.email) in unsubscribed:
            plan.status, plan.reason = "unsubscribed", "the address unsubscribed"
            continue
        if days <= 0:
            continue
        times = contacted.setdefault(plan.contact.id, [])
        near = [t for t in times if abs(plan.send_at - t) < window]
        if near:
            closest = min(near, key=lambda t: abs(plan.send_at - t))
            when = (
                f"contacted on {closest.date().isoformat()}"
                if closest <= plan.send_at
                else f"another invitation is due on {closest.date().isoformat()}"
            )
            plan.status = "throttled"
            plan.reason = f"{when}; at most one invitation per {days} days"
            continue
        times.append(plan.send_at)


def _store(
    session: Session, organisation_id: int, survey: Survey, plans: list[_Plan]
) -> list[Invitation]:
    rows = [
        Invitation(
            organisation_id=organisation_id,
            survey_id=survey.id,
            contact_id=plan.contact.id if plan.contact else None,
            channel=plan.request.channel,
            status=plan.status,
            reason=plan.reason,
            language=i18n.normalise(plan.request.language),
            properties=plan.properties,
            idempotency_key=plan.request.idempotency_key,
            send_at=plan.send_at,
            expires_at=plan.send_at
            + timedelta(days=parse_options(survey.collect_options).link_days),
        )
        for plan in plans
    ]
    session.add_all(rows)
    session.flush()
    outbox.enqueue_many(
        session,
        [
            {
                "organisation_id": organisation_id,
                "kind": INVITATION_KIND,
                "dedupe_key": outbox_key(INVITATION_KIND, row.id),
                "payload": {"invitation_id": row.id},
                "available_at": row.send_at,
            }
            for row in rows
            if row.status == "scheduled"
        ],
    )
    return rows


def cancel_invitation(session: Session, organisation_id: int, invitation_id: int) -> Invitation:
    """Withdraw a scheduled invitation; the worker then drops its email."""
    invitation = store.get_invitation(session, organisation_id, invitation_id)
    # Conditional, so that a worker committing the send meanwhile wins: on PostgreSQL this
    # waits for the worker's lock on the row and then finds the invitation sent.
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "scheduled")
        .values(status="cancelled", reason="cancelled before sending")
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    if not getattr(changed, "rowcount", 0):
        raise Invalid(
            "status", f"is {invitation.status}; only a scheduled invitation can be cancelled"
        )
    return invitation


def schedule_reminders(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue the one reminder of each invitation that is due one; the count enqueued.

    Due: sent at least ``reminder_days`` ago, its link still valid, no answer, never
    reminded. Unsubscribes are checked when the reminder is sent.
    """
    moment = now or utc_now()
    surveys = session.scalars(
        select(Survey).where(Survey.reminder_days.is_not(None), Survey.status == "active")
    ).all()
    enqueued = 0
    from cxpulse.store.models import OutboxItem

    for survey in surveys:
        assert survey.reminder_days is not None
        link_days = parse_options(survey.collect_options).link_days
        answered = exists().where(Response.invitation_id == Invitation.id)
        reminder_key = literal(REMINDER_KIND + ":") + cast(Invitation.id, String)
        queued = exists().where(
            OutboxItem.organisation_id == Invitation.organisation_id,
            OutboxItem.dedupe_key == reminder_key,
        )
        due = session.execute(
            select(Invitation.id, Invitation.organisation_id)
            .where(
                Invitation.survey_id == survey.id,
                Invitation.status == "sent",
                Invitation.reminded_at.is_(None),
                Invitation.sent_at <= moment - timedelta(days=survey.reminder_days),
                Invitation.sent_at > moment - timedelta(days=link_days),
                ~answered,
                ~queued,
            )
            .order_by(Invitation.id)
            .limit(limit - enqueued)
        ).all()
        for invitation_id, organisation_id in due:
            if outbox.enqueue(
                session,
                organisation_id,
                REMINDER_KIND,
                outbox_key(REMINDER_KIND, invitation_id),
                {"invitation_id": invitation_id},
                available_at=moment,
            ):
                enqueued += 1
        if enqueued >= limit:
            break
    return enqueued


@dataclass(frozen=True)
class LinkTarget:
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
    if invitation.opened_at is None:
        invitation.opened_at = now or utc_now()
        session.flush()
