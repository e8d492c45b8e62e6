"""Events of the closed loop, published to the organisation's webhook endpoints.

``publish`` is called in the transaction of the change that caused the event (a case
opened, an alert raised) or of the task that learnt of it (a new answer's rules): it stores
one delivery per subscribed endpoint and queues it in the outbox, so an event is sent if and
only if its cause was committed. Event types: ``EVENT_TYPES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["EVENT_TYPES", "publish"]

EVENT_TYPES = (
    "response.created",
    "response.updated",
    "case.created",
    "case.updated",
    "alert.fired",
    "theme.spiked",
)


def publish(
    session: Session,
    organisation_id: int,
    event_type: str,
    data: Mapping[str, Any],
    *,
    event_id: str | None = None,
) -> int:
    """Queue ``event_type`` with ``data`` for every enabled endpoint of the organisation
    that subscribes to it, in the caller's transaction; the count of deliveries queued.
    ``event_id`` (default: a new one) is what receivers deduplicate on: give the same one
    for the same event (a retried task) and it is queued once per endpoint."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    # The webhook deliveries are built in act.webhook_delivery; until an endpoint exists
    # there is nothing to queue.
    del session, organisation_id, data, event_id
    return 0


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
    raise NotImplementedError("webhook notifications are being built")
