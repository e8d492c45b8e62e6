"""The email a person sends a customer from a follow-up case, and the reply address that
brings the customer's answer back to the case.

``enqueue_reply`` queues an outbox item of kind ``case-reply`` in the transaction that
records the ``email_out`` event; the worker composes it when it sends it (``compose_reply``).
Each message is threaded: its Message-ID is stored on the event, and In-Reply-To and
References name the case's earlier messages (the invitation the answer came from, the
emails out and in), so the customer's mail program shows one conversation.

The Reply-To address carries the case's random ``reply_token``:
``reply+<token>@<domain of the From address>``. A mail provider's inbound webhook posts the
customer's answer to ``POST /api/v1/cases/inbound-email``, which accepts it only when the
token names a case *and* In-Reply-To (or References) names a message of that case
(``act.cases.receive_email``).
"""

from __future__ import annotations

import html
import re
import secrets
from email.utils import format_datetime, getaddresses, parseaddr

from sqlalchemy.orm import Session

from cxpulse.act.jobs import REGISTRY, JobHandler, JobRegistry
from cxpulse.collect.mailer import Composed, address_header, header_text, multipart_alternative
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import cases as case_store
from cxpulse.store import outbox
from cxpulse.store.models import CaseEvent, Contact, FollowUpCase, Organisation, Response
from cxpulse.store.outbox import Claimed
from cxpulse.store.types import utc_now

__all__ = [
    "KIND",
    "compose_reply",
    "enqueue_reply",
    "new_message_id",
    "register",
    "reply_address",
    "thread_ids",
    "tokens_in",
]

KIND = "case-reply"
MAX_REFERENCES = 20
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_TOKEN_ADDRESS = re.compile(r"^reply\+([A-Za-z0-9_-]{16,64})@", re.IGNORECASE)


def new_message_id(case_id: int, domain: str) -> str:
    """A fresh Message-ID of an email from case ``case_id``."""
    return f"<cxpulse.case.{case_id}.{secrets.token_hex(8)}@{domain}>"


def reply_address(token: str, smtp: SmtpSettings) -> str:
    return f"reply+{token}@{smtp.domain}"


def tokens_in(addresses: str) -> list[str]:
    """The reply tokens of the ``reply+<token>@...`` addresses in a To or Cc header."""
    found = []
    for _, address in getaddresses([addresses]):
        matched = _TOKEN_ADDRESS.match(address.strip())
        if matched:
            found.append(matched.group(1))
    return found


def thread_ids(header: str | None) -> list[str]:
    """The message ids (``<...>``) in an In-Reply-To or References header."""
    return _MESSAGE_ID.findall(header or "")[: MAX_REFERENCES * 5]


def enqueue_reply(session: Session, row: FollowUpCase, event: CaseEvent) -> bool:
    """Queue the email of ``event`` (an ``email_out`` of the case) in the caller's
    transaction."""
    return outbox.enqueue(
        session,
        row.organisation_id,
        KIND,
        f"{KIND}:{event.id}",
        {"case_id": row.id, "event_id": event.id},
    )


def _references(
    session: Session, row: FollowUpCase, event: CaseEvent, smtp: SmtpSettings
) -> list[str]:
    """The case's messages before ``event``, oldest first: the invitation's email when the
    answer came from one, then every email out and in."""
    found: list[str] = []
    if row.response_id is not None:
        answer = session.get(Response, row.response_id)
        if answer is not None and answer.invitation_id is not None:
            found.append(f"<cxpulse.invitation.{answer.invitation_id}@{smtp.domain}>")
    for earlier in case_store.events(session, row.organisation_id, row.id):
        if earlier.id == event.id:
            break
        if earlier.kind in ("email_out", "email_in") and earlier.message_id:
            found.append(earlier.message_id)
    return found[-MAX_REFERENCES:]


def compose_reply(session: Session, item: Claimed, smtp: SmtpSettings) -> Composed | None:
    """The email of ``item``; None when its case, event or customer's address is gone."""
    row = session.get(FollowUpCase, int(item.payload["case_id"]))
    event = session.get(CaseEvent, int(item.payload["event_id"]))
    if (
        row is None
        or event is None
        or row.organisation_id != item.organisation_id
        or event.case_id != row.id
        or row.contact_id is None
    ):
        return None
    contact = session.get(Contact, row.contact_id)
    organisation = session.get(Organisation, row.organisation_id)
    if contact is None or not contact.email or organisation is None:
        return None
    data = event.data or {}
    subject = str(data.get("subject") or f"Your feedback to {organisation.name}")
    ident = event.message_id or new_message_id(row.id, smtp.domain)
    sender_name = str(data.get("sender_name") or organisation.name)
    references = _references(session, row, event, smtp)
    headers = [
        ("Subject", header_text(subject)),
        ("From", address_header(sender_name, smtp.from_address)),
        ("To", address_header(contact.name or "", contact.email)),
        ("Reply-To", address_header(organisation.name, reply_address(row.reply_token, smtp))),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
    ]
    if references:
        headers.append(("In-Reply-To", references[-1]))
        headers.append(("References", " ".join(references)))
    body = event.body or ""
    text = f"{body}\n\n-- \n{sender_name}, {organisation.name}\n"
    paragraphs = "".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
        for part in body.split("\n\n")
        if part.strip()
    )
    signature = html.escape(f"{sender_name}, {organisation.name}")
    markup = (
        '<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">'
        f'{paragraphs}<p style="color:#555">{signature}</p></body></html>'
    )
    return Composed(
        message_id=ident,
        sender=smtp.from_address,
        recipient=contact.email,
        language=str(data.get("language") or "en"),
        data=multipart_alternative(headers, text, markup),
    )


def sender_of(header: str) -> str:
    """The bare address of a From header (lower case), or an empty string."""
    return parseaddr(header)[1].strip().lower()


CASE_REPLY_JOB = JobHandler(kind=KIND, compose=compose_reply)


def register(registry: JobRegistry = REGISTRY) -> None:
    """Let the outbox worker send case replies (call once at start-up; again is harmless)."""
    registry.register(CASE_REPLY_JOB)
