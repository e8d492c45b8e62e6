"""Making invitations: ``create_invitations`` stores each one with its fate decided at once.

- ``scheduled`` with an outbox item (``invitation:<id>``, due at ``send_at``) written in the
  same transaction, so that an invitation is never stored without its email or vice versa;
- ``throttled`` or ``unsubscribed`` as ``cxpulse.collect.invitation_throttling`` decides.

An ``idempotency_key`` makes a retried request return the invitation made the first time.
``cancel_invitation`` withdraws one that is still scheduled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect.invitation_requests import (
    InvitationRequest,
    check_request,
    resolve_contact,
    send_time,
)
from cxpulse.collect.invitation_throttling import decide_fates
from cxpulse.store import _values as values
from cxpulse.store import invitations as store
from cxpulse.store import outbox, surveys
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.survey_options import parse_options
from cxpulse.store.types import utc_now

INVITATION_KIND = "invitation"
SMS_INVITATION_KIND = "sms"
"""The outbox kind of an invitation by SMS (``act.sms_sending``)."""


def outbox_key(kind: str, invitation_id: int) -> str:
    """The dedupe key of an invitation's outbox item of ``kind`` (invitation or reminder)."""
    return f"{kind}:{invitation_id}"


@dataclass(frozen=True)
class Triggered:
    """The invitation one request led to, in request order."""

    invitation: Invitation
    created: bool
    """False when an earlier request with the same idempotency key made it."""


@dataclass
class _Plan:
    """A request on its way to being stored: checked, its contact resolved, its fate open."""

    index: int
    request: InvitationRequest
    send_at: datetime
    contact: Contact
    status: str = "scheduled"
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


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
    survey = surveys.get_survey(session, organisation_id, survey_id)
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
        check_request(request, index)
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
        send_at = send_time(request, moment, index)
        properties = values.text_mapping("properties", request.properties, index=index)
        contact, _ = resolve_contact(session, organisation_id, request, index)
        if request.channel == "sms" and not contact.phone:
            raise Invalid("phone", "the contact has no phone number", index=index)
        if request.channel == "email" and not contact.email:
            raise Invalid("email", "the contact has no email address", index=index)
        plan = _Plan(index, request, send_at, contact, properties=properties)
        plans.append(plan)
        if key:
            planned_keys[key] = plan
    if plans:
        session.flush()
        fates = decide_fates(
            session,
            organisation,
            survey,
            [(p.contact, p.send_at) for p in plans],
            channels=[p.request.channel for p in plans],
        )
        for plan, fate in zip(plans, fates, strict=True):
            plan.status, plan.reason = fate.status, fate.reason
        created = _store(session, organisation_id, survey, plans)
        for plan, invitation in zip(plans, created, strict=True):
            results[plan.index] = Triggered(invitation, created=True)
        for index, key in repeats:
            first = results[planned_keys[key].index]
            assert first is not None
            results[index] = Triggered(first.invitation, created=False)
    return [r for r in results if r is not None]


def _store(
    session: Session, organisation_id: int, survey: Survey, plans: list[_Plan]
) -> list[Invitation]:
    rows = [
        Invitation(
            organisation_id=organisation_id,
            survey_id=survey.id,
            contact_id=plan.contact.id,
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
                "kind": _kind(row.channel),
                "dedupe_key": outbox_key(_kind(row.channel), row.id),
                "payload": {"invitation_id": row.id},
                "available_at": row.send_at,
            }
            for row in rows
            if row.status == "scheduled"
        ],
    )
    return rows


def _kind(channel: str) -> str:
    return SMS_INVITATION_KIND if channel == "sms" else INVITATION_KIND


def cancel_invitation(session: Session, organisation_id: int, invitation_id: int) -> Invitation:
    """Withdraw a scheduled invitation; the worker then drops its email."""
    invitation = store.get_invitation(session, organisation_id, invitation_id)
    # The store changes it only while it is scheduled: a worker committing the send wins.
    if not store.cancel_if_scheduled(session, invitation, "cancelled before sending"):
        raise Invalid(
            "status", f"is {invitation.status}; only a scheduled invitation can be cancelled"
        )
    return invitation


def cancel_scheduled(session: Session, organisation_id: int, survey_id: int) -> list[int]:
    """Withdraw every invitation of the survey still scheduled; their ids (the worker drops
    their emails). Those a worker is sending at this moment stay sent."""
    surveys.get_survey(session, organisation_id, survey_id)
    return store.cancel_scheduled_of_survey(
        session, organisation_id, survey_id, "cancelled before sending"
    )
