"""Request and response bodies of the webhook endpoints and deliveries API (API v1).

The limits are the store's (``store.webhooks``), stated here so that the OpenAPI document
shows them and an over-long value is refused with a field-level 422 before any query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from cxpulse.store import webhooks
from cxpulse.store.models import WebhookDelivery, WebhookEndpoint
from cxpulse.web.schemas import Body, Text200

EventType = webhooks.EventType
Format = Literal["standard", "slack", "teams"]
DeliveryState = Literal["pending", "delivered", "failed", "dead"]
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=webhooks.MAX_URL_LENGTH),
    Field(
        description="Where events are posted: https://, or http:// to localhost only. "
        "Redirects are not followed.",
        examples=["https://hooks.example.com/cxpulse"],
    ),
]
Events = Annotated[
    list[EventType],
    Field(
        max_length=len(webhooks.EVENT_TYPES),
        description="The event types sent to this endpoint; empty for all.",
        examples=[["case.created", "case.updated"]],
    ),
]
FORMAT_HELP = (
    "`standard`: the event as signed JSON (Standard Webhooks headers); `slack` and `teams`: "
    "a message for an incoming-webhook URL of those tools, unsigned (the URL is the secret)."
)


class EndpointCreate(Body):
    url: Url
    format: Format = Field("standard", description=FORMAT_HELP)
    description: Text200 | None = None
    events: Events = Field(default_factory=list)


class EndpointUpdate(Body):
    """Only the fields sent change. `enabled: true` on a switched-off endpoint clears its
    failures; replay what it missed with `POST .../replay-failed`."""

    url: Url | None = None
    description: Text200 | None = None
    events: Events | None = None
    enabled: StrictBool | None = None


class EndpointHealth(BaseModel):
    deliveries: dict[str, int] = Field(description="Deliveries by state.")
    last_delivered_at: datetime | None
    last_error: str | None = Field(description="The error of the newest failing delivery.")


class EndpointOut(BaseModel):
    id: int
    url: str
    format: Format
    description: str | None
    events: list[EventType]
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int = Field(description="Failed attempts since the last success.")
    previous_secret_until: datetime | None = Field(
        description="After a rotation, until when requests are also signed with the old secret."
    )
    created_at: datetime
    health: EndpointHealth | None = None


class EndpointWithSecret(EndpointOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown only in this answer: keep it."
    )


class EndpointList(BaseModel):
    items: list[EndpointOut]


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event_id: str = Field(description="The `webhook-id` header: the same on every attempt.")
    event_type: str
    state: DeliveryState
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any] = Field(description="The event as sent to a standard endpoint.")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class Queued(BaseModel):
    queued: int = Field(description="Deliveries queued for an attempt.")
    delivery_ids: list[int] = Field(default_factory=list)


def health_out(health: webhooks.Health | None) -> EndpointHealth | None:
    if health is None:
        return None
    return EndpointHealth(
        deliveries=health.counts,
        last_delivered_at=health.last_delivered_at,
        last_error=health.last_error,
    )


def endpoint_fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "format": endpoint.format,
        "description": endpoint.description,
        "events": list((endpoint.events or {}).get("types", [])),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "consecutive_failures": endpoint.consecutive_failures,
        "previous_secret_until": endpoint.previous_secret_until,
        "created_at": endpoint.created_at,
    }


def endpoint_out(endpoint: WebhookEndpoint, health: webhooks.Health | None = None) -> EndpointOut:
    return EndpointOut(**endpoint_fields(endpoint), health=health_out(health))


def with_secret(endpoint: WebhookEndpoint) -> EndpointWithSecret:
    return EndpointWithSecret(**endpoint_fields(endpoint), secret=endpoint.secret)


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        state=delivery.state,  # type: ignore[arg-type]
        attempts=delivery.attempts,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        payload=dict(delivery.payload or {}),
    )
