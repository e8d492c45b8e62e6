"""Events of the closed loop, published to the organisation's webhook endpoints.

``publish`` is called in the transaction of the change that caused the event (a case
opened, an alert raised) or of the task that learnt of it (a new answer's rules): it stores
one delivery per subscribed endpoint and queues it in the outbox, so an event is sent if and
only if its cause was committed. Event types: ``EVENT_TYPES``.

Every event has an id (``msg_`` and 22 random characters) that stays the same on every
attempt and replay, so receivers can deduplicate. The body sent to a standard endpoint is
``{"type", "timestamp", "data"}`` (``event_body``); Slack and Teams endpoints get a message
made from it at sending time (``act.webhook_delivery``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.store import webhooks
from cxpulse.store.errors import NotFound
from cxpulse.store.types import utc_now

__all__ = [
    "EVENT_TYPES",
    "NOTIFICATION",
    "TEST_EVENT",
    "Publication",
    "new_event_id",
    "notify_endpoint",
    "publish",
    "publish_many",
]

EVENT_TYPES = webhooks.EVENT_TYPES
NOTIFICATION = "notification"
"""A rule's "notify" action towards one endpoint (not subscribed to: the rule names it)."""
TEST_EVENT = "webhook.test"
_EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TITLE_LENGTH = 200
MAX_TEXT_LENGTH = 3000


def new_event_id() -> str:
    """``msg_`` and 22 URL-safe random characters (128 bits)."""
    return "msg_" + secrets.token_urlsafe(16)


def _event_id(given: str | None) -> str:
    if given is None:
        return new_event_id()
    # The id is signed as "id.timestamp.body": a dot in it could make two requests alike.
    if not _EVENT_ID.fullmatch(given):
        raise ValueError("an event id is 1 to 64 letters, digits, '_' or '-'")
    return given


def event_body(event_type: str, data: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """What a standard endpoint receives as JSON."""
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"type": event_type, "timestamp": stamp, "data": dict(data)}


def publish(
    session: Session,
    organisation_id: int,
    event_type: str,
    data: Mapping[str, Any],
    *,
    event_id: str | None = None,
    endpoint_ids: Collection[int] | None = None,
) -> int:
    """Queue ``event_type`` with ``data`` for every enabled endpoint of the organisation
    that subscribes to it, in the caller's transaction; the count of deliveries queued.
    ``event_id`` (default: a new one) is what receivers deduplicate on: give the same one
    for the same event (a retried task) and it is queued once per endpoint.
    ``endpoint_ids``: the subscribed endpoints when the caller has just read them
    (``webhooks.subscribed``), for a batch of events of one organisation."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    chosen = _event_id(event_id)
    if endpoint_ids is None:
        endpoint_ids = webhooks.subscribed(session, organisation_id, event_type)
    if not endpoint_ids:
        return 0
    now = utc_now()
    return len(
        webhooks.add_deliveries(
            session,
            organisation_id,
            endpoint_ids,
            event_id=chosen,
            event_type=event_type,
            payload=event_body(event_type, data, now),
            now=now,
        )
    )


@dataclass(frozen=True)
class Publication:
    """One event of ``publish_many``: its organisation, type, data, id and the subscribed
    endpoints the caller has read (``webhooks.subscribed``)."""

    organisation_id: int
    event_type: str
    data: Mapping[str, Any]
    event_id: str
    endpoint_ids: Collection[int]


def publish_many(session: Session, publications: Sequence[Publication]) -> int:
    """``publish`` for a batch of events (a batch of answers' rules), stored and queued in
    two statements for all; the count of deliveries queued. Checks every type and id first,
    so a bad one stores nothing."""
    now = utc_now()
    new_events = []
    for publication in publications:
        if publication.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {publication.event_type!r}")
        if not publication.endpoint_ids:
            continue
        new_events.append(
            webhooks.NewEvent(
                publication.organisation_id,
                publication.endpoint_ids,
                _event_id(publication.event_id),
                publication.event_type,
                event_body(publication.event_type, publication.data, now),
            )
        )
    return len(webhooks.add_events(session, new_events, now=now))


def notify_endpoint(
    session: Session,
    organisation_id: int,
    endpoint_id: int,
    *,
    title: str,
    text: str,
    link: str | None = None,
    data: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> bool:
    """Queue a notification (a rule's "notify" action) for one endpoint of the
    organisation: a message for a Slack or Teams incoming webhook, a signed
    ``notification`` event for a standard one; False when the endpoint is not the
    organisation's or is disabled."""
    try:
        endpoint = webhooks.get_endpoint(session, organisation_id, endpoint_id)
    except NotFound:
        return False
    if not endpoint.enabled:
        return False
    body = {
        "title": title[:MAX_TITLE_LENGTH],
        "text": text[:MAX_TEXT_LENGTH],
        "link": link,
        "details": dict(data or {}),
    }
    now = utc_now()
    webhooks.add_deliveries(
        session,
        organisation_id,
        [endpoint.id],
        event_id=_event_id(event_id),
        event_type=NOTIFICATION,
        payload=event_body(NOTIFICATION, body, now),
        now=now,
    )
    return True


def send_test(session: Session, organisation_id: int, endpoint_id: int) -> int:
    """Queue a ``webhook.test`` event to one endpoint (enabled or not: a person asked);
    the delivery's id."""
    endpoint = webhooks.get_endpoint(session, organisation_id, endpoint_id)
    now = utc_now()
    data = {"endpoint_id": endpoint.id, "message": "A test event from cxpulse."}
    (delivery_id,) = webhooks.add_deliveries(
        session,
        organisation_id,
        [endpoint.id],
        event_id=new_event_id(),
        event_type=TEST_EVENT,
        payload=event_body(TEST_EVENT, data, now),
        now=now,
    )
    return delivery_id
