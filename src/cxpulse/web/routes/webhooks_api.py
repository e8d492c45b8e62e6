"""Webhook endpoints and their delivery log through API v1: list, create (the secret is in
that answer only), change, delete, rotate the secret, send a test event, read the log, replay
one delivery or every failed one. Every route needs ``integrations:manage`` (admins and
owners); API keys never hold it. What is sent and how to verify it: docs/webhooks.md.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from cxpulse.act import events
from cxpulse.store import cursors, webhooks
from cxpulse.web import audit
from cxpulse.web.access import Principal, require
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID
from cxpulse.web.webhook_schemas import (
    DeliveryOut,
    DeliveryPage,
    DeliveryState,
    EndpointCreate,
    EndpointList,
    EndpointOut,
    EndpointUpdate,
    EndpointWithSecret,
    Queued,
    delivery_out,
    endpoint_out,
    with_secret,
)

router = APIRouter(prefix="/api/v1/webhook-endpoints", tags=["webhooks"])

CanManageIntegrations = Annotated[Principal, Depends(require(Permission.INTEGRATIONS_MANAGE))]
EndpointId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The endpoint's id.")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID, description="The delivery's id.")]
MAX_PAGE_SIZE = 200
ENTITY = "webhook_endpoint"


@router.get(
    "",
    operation_id="listWebhookEndpoints",
    summary="List the organisation's webhook endpoints with their health",
    response_model=EndpointList,
    responses=problems(),
)
def list_endpoints(caller: CanManageIntegrations, session: DbSession) -> EndpointList:
    org = caller.organisation_id
    health = webhooks.health(session, org)
    found = webhooks.list_endpoints(session, org)
    return EndpointList(items=[endpoint_out(e, health.get(e.id)) for e in found])


@router.post(
    "",
    operation_id="createWebhookEndpoint",
    summary="Add a webhook endpoint",
    description="The answer holds the signing `secret`, shown this once. At most "
    f"{webhooks.MAX_ENDPOINTS} endpoints per organisation.",
    status_code=status.HTTP_201_CREATED,
    response_model=EndpointWithSecret,
    responses=problems(),
)
def create_endpoint(
    body: EndpointCreate, caller: CanManageIntegrations, session: DbSession
) -> EndpointWithSecret:
    endpoint = webhooks.create_endpoint(
        session,
        caller.organisation_id,
        url=body.url,
        format=body.format,
        description=body.description,
        events=body.events,
    )
    audit.record(session, caller, "create", ENTITY, endpoint.id, {"format": endpoint.format})
    session.commit()
    return with_secret(endpoint)


@router.get(
    "/{endpoint_id}",
    operation_id="getWebhookEndpoint",
    summary="Get a webhook endpoint with its health",
    response_model=EndpointOut,
    responses=problems(404),
)
def get_endpoint(
    endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> EndpointOut:
    org = caller.organisation_id
    endpoint = webhooks.get_endpoint(session, org, endpoint_id)
    return endpoint_out(endpoint, webhooks.health(session, org).get(endpoint.id))


@router.patch(
    "/{endpoint_id}",
    operation_id="updateWebhookEndpoint",
    summary="Change a webhook endpoint, or switch it off or on",
    response_model=EndpointOut,
    responses=problems(404),
)
def update_endpoint(
    endpoint_id: EndpointId,
    body: EndpointUpdate,
    caller: CanManageIntegrations,
    session: DbSession,
) -> EndpointOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    endpoint = webhooks.update_endpoint(session, caller.organisation_id, endpoint_id, **changes)
    audit.record(session, caller, "update", ENTITY, endpoint.id, {"fields": sorted(changes)})
    session.commit()
    return endpoint_out(endpoint)


@router.delete(
    "/{endpoint_id}",
    operation_id="deleteWebhookEndpoint",
    summary="Delete a webhook endpoint and its delivery log",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_endpoint(
    endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> Response:
    webhooks.delete_endpoint(session, caller.organisation_id, endpoint_id)
    audit.record(session, caller, "delete", ENTITY, endpoint_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{endpoint_id}/rotate-secret",
    operation_id="rotateWebhookSecret",
    summary="Give a webhook endpoint a new secret",
    description="The answer holds the new `secret`, shown this once. For 24 hours requests "
    "carry two signatures, one with each secret, so the receiver can switch at leisure.",
    response_model=EndpointWithSecret,
    responses=problems(404),
)
def rotate_secret(
    endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> EndpointWithSecret:
    endpoint = webhooks.rotate_secret(session, caller.organisation_id, endpoint_id)
    audit.record(session, caller, "rotate_secret", ENTITY, endpoint.id)
    session.commit()
    return with_secret(endpoint)


@router.post(
    "/{endpoint_id}/test",
    operation_id="sendWebhookTest",
    summary="Send a webhook.test event to an endpoint",
    description="Sent even to a switched-off endpoint, to check it before switching it on.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Queued,
    responses=problems(404),
)
def send_test(endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession) -> Queued:
    delivery_id = events.send_test(session, caller.organisation_id, endpoint_id)
    audit.record(session, caller, "test", ENTITY, endpoint_id, {"delivery_id": delivery_id})
    session.commit()
    return Queued(queued=1, delivery_ids=[delivery_id])


@router.get(
    "/{endpoint_id}/deliveries",
    operation_id="listWebhookDeliveries",
    summary="The delivery log of an endpoint, newest first",
    description="`limit` at a time; pass `next_cursor` back as `cursor` for the next page.",
    response_model=DeliveryPage,
    responses=problems(404),
)
def list_deliveries(
    endpoint_id: EndpointId,
    caller: CanManageIntegrations,
    session: DbSession,
    state: Annotated[
        list[DeliveryState] | None, Query(max_length=4, description="Only these states.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="From next_cursor.")] = None,
) -> DeliveryPage:
    after = cursors.decode_cursor(cursor) if cursor else None
    found = webhooks.list_deliveries(
        session,
        caller.organisation_id,
        endpoint_id,
        states=state or (),
        after=after,
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    return DeliveryPage(
        items=[delivery_out(delivery) for delivery in page],
        next_cursor=cursors.encode_cursor(webhooks.cursor_of(page[-1])) if more else None,
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/replay",
    operation_id="replayWebhookDelivery",
    summary="Send a delivery again, with the same event id",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problems(404),
)
def replay_delivery(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    caller: CanManageIntegrations,
    session: DbSession,
) -> DeliveryOut:
    delivery = webhooks.replay(
        session, caller.organisation_id, delivery_id, endpoint_id=endpoint_id
    )
    audit.record(session, caller, "replay", ENTITY, endpoint_id, {"delivery_id": delivery_id})
    session.commit()
    return delivery_out(delivery)


@router.post(
    "/{endpoint_id}/replay-failed",
    operation_id="replayFailedWebhookDeliveries",
    summary="Send every failed delivery of an endpoint again, with their event ids",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Queued,
    responses=problems(404),
)
def replay_failed(
    endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> Queued:
    count = webhooks.replay_failed(session, caller.organisation_id, endpoint_id)
    audit.record(session, caller, "replay_failed", ENTITY, endpoint_id, {"count": count})
    session.commit()
    return Queued(queued=count)
