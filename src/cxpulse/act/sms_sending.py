"""The outbox's ``sms`` tasks: invitations by SMS (the survey's signed link) and short
notifications, through the provider of ``collect.sms``, at most once each.

An item's payload is ``{"invitation_id": N}`` (an invitation whose channel is ``sms``) or
``{"phone": "+46...", "text": "..."}`` (a notification, queued by ``queue_sms``). Each item:

1. is checked, in a transaction: a number that opted out gets nothing (the invitation
   becomes ``unsubscribed``), nor does an invitation no longer ``scheduled`` or whose survey
   closed or whose contact has no phone;
2. in the same transaction, its handover is recorded (``store.sms_opt_outs.begin_handover``)
   and an invitation marked ``sent``; committed before the provider is called;
3. is handed to the provider. A refusal that trying again cannot mend (a bad number, one
   that opted out at the provider) ends it: the invitation ``failed`` with the reason, an
   opt-out recorded; an outage or rate limit takes the handover back and tries again later.

A worker that dies between 2 and 3 leaves the handover recorded: the item, claimed again,
is closed without sending ("not sent again"), so no item ever sends two messages; the
handover row shows what happened.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from cxpulse.act.tasks import (
    TASKS,
    Done,
    GiveUp,
    Outcome,
    Retry,
    TaskContext,
    TaskHandler,
    TaskRegistry,
)
from cxpulse.collect import sms
from cxpulse.collect.mailer import language_of
from cxpulse.store import invitation_sends, outbox
from cxpulse.store import sms_opt_outs as opt_outs
from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.outbox import Claimed
from cxpulse.store.survey_options import parse_options

SMS_KIND = "sms"
NOT_CONFIGURED_DELAY = timedelta(hours=1)
NOT_SENT_AGAIN = (
    "not sent again: an earlier attempt stopped after handing the message to the provider"
)
OPTED_OUT = "the number opted out of SMS"

__all__ = ["SMS_KIND", "queue_sms", "register", "sms_handler"]


def queue_sms(
    session: Session, organisation_id: int, phone: str, text: str, *, dedupe_key: str
) -> bool:
    """Queue a notification by SMS in the caller's transaction; False when ``dedupe_key``
    was queued before. ``Invalid`` for a number that is not E.164-valid."""
    number = sms.e164("phone", phone)
    return outbox.enqueue(
        session,
        organisation_id,
        SMS_KIND,
        f"sms:{dedupe_key}"[:200],
        {"phone": number, "text": text[: sms.MAX_SMS_LENGTH]},
    )


@dataclass(frozen=True)
class _Message:
    to: str
    text: str


def _invitation_message(
    session: Session, context: TaskContext, invitation_id: int
) -> _Message | tuple[str, str]:
    """The SMS of the invitation, or why not (the invitation's new status or '', reason)."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        return "", "the invitation is gone"
    if invitation.status != "scheduled":
        return "", f"the invitation is {invitation.status}"
    survey = session.get(Survey, invitation.survey_id)
    contact = session.get(Contact, invitation.contact_id)
    organisation = session.get(Organisation, invitation.organisation_id)
    assert survey is not None
    assert organisation is not None
    if survey.status != "active":
        return "cancelled", "survey closed"
    if contact is None or not contact.phone:
        return "failed", "the contact has no phone number"
    if opt_outs.is_opted_out(session, invitation.organisation_id, contact.phone):
        return "unsubscribed", OPTED_OUT
    days = parse_options(survey.collect_options).link_days
    token = context.links.issue("answer", invitation.id, survey.id, days=days)
    link = f"{context.smtp.public_url}/r/{token}"
    language = language_of(invitation, contact, survey)
    return _Message(contact.phone, sms.invitation_text(organisation.name, link, language))


def _prepare(context: TaskContext, item: Claimed) -> _Message | Outcome:
    """Step 1 and 2: what to send, with its handover committed, or the item's outcome."""
    with context.sessions.begin() as session:
        invitation_id = item.payload.get("invitation_id")
        if invitation_id is not None:
            found = _invitation_message(session, context, int(invitation_id))
            if not isinstance(found, _Message):
                status, reason = found
                if status:
                    invitation_sends.set_status(
                        session, int(invitation_id), status, reason, only_scheduled=True
                    )
                return Done(reason)
        else:
            phone, text = str(item.payload.get("phone", "")), str(item.payload.get("text", ""))
            if not phone or not text:
                return GiveUp("the item names no phone number or text")
            if opt_outs.is_opted_out(session, item.organisation_id, phone):
                return Done(OPTED_OUT)
            found = _Message(phone, text)
        if not opt_outs.begin_handover(session, item.organisation_id, item.id):
            return Done(NOT_SENT_AGAIN)
        if invitation_id is not None:
            invitation_sends.mark_sent(session, int(invitation_id), False, context.clock())
        return found


def _settle(context: TaskContext, item: Claimed, error: sms.SmsError) -> Outcome:
    """Step 3 after a refusal: take the handover back, or end the item."""
    invitation_id = item.payload.get("invitation_id")
    with context.sessions.begin() as session:
        if not error.permanent:
            opt_outs.cancel_handover(session, item.organisation_id, item.id)
            if invitation_id is not None:
                invitation_sends.undo_sent(session, int(invitation_id), False)
            return Retry(error.message)
        if error.opted_out:
            to = _recipient(session, item)
            if to:
                opt_outs.add_opt_out(session, item.organisation_id, to, "provider")
        if invitation_id is not None:
            status = "unsubscribed" if error.opted_out else "failed"
            invitation_sends.set_status(session, int(invitation_id), status, error.message)
    return GiveUp(error.message)


def _recipient(session: Session, item: Claimed) -> str | None:
    if "phone" in item.payload:
        return str(item.payload["phone"])
    invitation = session.get(Invitation, int(item.payload["invitation_id"]))
    contact = session.get(Contact, invitation.contact_id) if invitation else None
    return contact.phone if contact else None


def _run(
    settings: sms.SmsSettings, context: TaskContext, items: Sequence[Claimed]
) -> list[Outcome]:
    if not settings.enabled:
        unset = "SMS is not configured (CXPULSE_SMS_ACCOUNT, _TOKEN, _FROM)"
        return [Retry(unset, NOT_CONFIGURED_DELAY) for _ in items]
    client = sms.SmsClient(settings)
    outcomes: list[Outcome] = []
    for item in items:
        prepared = _prepare(context, item)
        if not isinstance(prepared, _Message):
            outcomes.append(prepared)
            continue
        try:
            sent = client.send(prepared.to, prepared.text)
        except sms.SmsError as error:
            outcomes.append(_settle(context, item, error))
            continue
        with context.sessions.begin() as session:
            opt_outs.note_handover(session, item.organisation_id, item.id, sent.sid)
        outcomes.append(Done(sent.sid or None))
    return outcomes


@functools.cache
def sms_handler(settings: sms.SmsSettings) -> TaskHandler:
    """The ``sms`` task handler sending through ``settings``' provider (one per settings, so
    that registering the same settings again is harmless)."""
    return TaskHandler(
        kind=SMS_KIND,
        run=functools.partial(_run, settings),
        # Messages go one by one over HTTP: a small batch keeps the claim's lock short.
        batch=20,
    )


def register(settings: sms.SmsSettings | None = None, registry: TaskRegistry = TASKS) -> None:
    """Register the ``sms`` kind (idempotent). Without settings, SMS is off: items wait (and
    are retried hourly) until a worker with settings runs; new settings replace old ones,
    and a call without settings never replaces a handler that has some."""
    if settings is None and SMS_KIND in registry.kinds():
        return
    handler = sms_handler(settings or sms.SmsSettings())
    if SMS_KIND in registry.kinds() and handler not in registry.handlers():
        registry.unregister(SMS_KIND)
    registry.register(handler)
