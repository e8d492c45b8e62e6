"""Bodies and answers of the inbound endpoints' management API (``routes/inbound_api.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from cxpulse.collect.inbound_events import MAX_DELAY_MINUTES
from cxpulse.store.models import InboundEndpoint, InboundEvent
from cxpulse.web.schemas import MAX_SMALL_ID, Body, Name200

Preset = Literal["zendesk", "freshdesk", "shopify", "generic"]
DelayMinutes = Annotated[int, Field(strict=True, ge=0, le=MAX_DELAY_MINUTES)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200)]
SurveyRef = Annotated[int, Field(strict=True, ge=1, le=MAX_SMALL_ID)]

MAPPING_HELP = (
    "For `generic`: JSON paths (such as `customer.email` or `items[0].title`) of `email`, "
    "`name`, `external_id`, `phone`, `touchpoint`, `event_id`, and `properties` (a name to "
    "a path each). For every preset, `channel`: `email` (default) or `sms`."
)
SIGNING_HELP = (
    "The signing secret Zendesk or Shopify shows for the webhook, so that their signatures "
    "verify; leave out for a random one (Freshdesk, generic), shown once."
)


class InboundEndpointCreate(Body):
    survey_id: SurveyRef = Field(description="The survey the customers are invited to.")
    name: Name200 = Field(examples=["Zendesk: solved tickets"])
    preset: Preset = "generic"
    mapping: dict[str, Any] = Field(
        default_factory=dict,
        description=MAPPING_HELP,
        examples=[{"email": "customer.email", "properties": {"agent": "agent.name"}}],
    )
    delay_minutes: DelayMinutes = Field(
        0, description="Minutes between the event and the invitation."
    )
    secret: Secret | None = Field(None, description=SIGNING_HELP)
    enabled: StrictBool = True


class InboundEndpointUpdate(Body):
    """Only the fields sent change."""

    survey_id: SurveyRef | None = None
    name: Name200 | None = None
    preset: Preset | None = None
    mapping: dict[str, Any] | None = Field(None, description=MAPPING_HELP)
    delay_minutes: DelayMinutes | None = None
    secret: Secret | None = Field(None, description=SIGNING_HELP)
    new_secret: StrictBool = Field(
        False, description="Draw a new random secret (shown in this answer only)."
    )
    enabled: StrictBool | None = None


class InboundEndpointOut(BaseModel):
    id: int
    survey_id: int
    name: str
    preset: str
    url: str = Field(description="Where the source posts its events.")
    mapping: dict[str, Any]
    delay_minutes: int
    enabled: bool
    created_at: datetime
    secret: str | None = Field(
        None, description="Only in the answer that made or changed it: store it now."
    )


class InboundEndpointList(BaseModel):
    items: list[InboundEndpointOut]


class InboundEventOut(BaseModel):
    id: int
    source_event_id: str
    outcome: str = Field(
        description="`scheduled`, `throttled` or `unsubscribed` (with the reason), or "
        "`received` while it is being taken."
    )
    invitation_id: int | None
    received_at: datetime


class InboundEventList(BaseModel):
    items: list[InboundEventOut]


def endpoint_out(
    endpoint: InboundEndpoint, public_url: str, *, show_secret: bool = False
) -> InboundEndpointOut:
    return InboundEndpointOut(
        id=endpoint.id,
        survey_id=endpoint.survey_id,
        name=endpoint.name,
        preset=endpoint.preset,
        url=f"{public_url.rstrip('/')}/api/v1/inbound/{endpoint.token}",
        mapping=dict(endpoint.mapping or {}),
        delay_minutes=endpoint.delay_minutes,
        enabled=endpoint.enabled,
        created_at=endpoint.created_at,
        secret=endpoint.secret if show_secret else None,
    )


def event_out(event: InboundEvent) -> InboundEventOut:
    return InboundEventOut(
        id=event.id,
        source_event_id=event.source_event_id,
        outcome=event.outcome,
        invitation_id=event.invitation_id,
        received_at=event.received_at,
    )
