"""What an invitation request says and how it is checked: the contact it names (found, created
or updated as it asks), its channel, language and idempotency key, and when it is to be sent
(after a delay such as ``2d``, or at a moment at most a year ahead).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.store import _values as values
from cxpulse.store import contacts as contact_store
from cxpulse.store import email_addresses
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Contact

MAX_DELAY = timedelta(days=365)
CHANNELS = ("email", "sms")
"""``sms``: the contact's phone number gets the link (``act.sms_sending``)."""

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


def send_time(request: InvitationRequest, now: datetime, index: int) -> datetime:
    """When the request's invitation goes out: ``now`` plus its delay, its ``send_at`` (never
    in the past), or ``now``; ``Invalid`` naming item ``index`` for a bad delay or moment."""
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


def check_request(request: InvitationRequest, index: int) -> None:
    """``Invalid`` naming item ``index`` and the field at fault, before anything is stored."""
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
        email_addresses.email("email", request.email, index=index)
    if request.language is not None and i18n.normalise(request.language) is None:
        raise Invalid("language", f"must be one of {', '.join(i18n.LANGUAGES)}", index=index)
    if request.idempotency_key is not None:
        values.required_text("idempotency_key", request.idempotency_key, 200, index=index)


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
    found = contact_store.find_by_email(session, organisation_id, email)
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
