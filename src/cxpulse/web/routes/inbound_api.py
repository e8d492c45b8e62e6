"""Inbound webhooks: the public address other systems post their events to, and the API
that manages an organisation's inbound endpoints.

    POST   /api/v1/inbound/{token}                     an event (public; signed or with the
                                                      endpoint's secret; rate-limited)
    GET    /api/v1/inbound-endpoints                   the endpoints
    POST   /api/v1/inbound-endpoints                   a new one (its secret shown once)
    GET    /api/v1/inbound-endpoints/{id}              one
    PATCH  /api/v1/inbound-endpoints/{id}              change one
    DELETE /api/v1/inbound-endpoints/{id}              delete one
    GET    /api/v1/inbound-endpoints/{id}/events       its latest events

The public route answers 202 for a new event, 200 for a repeat (with the first outcome) or
an event that asks for no survey, 401 for a wrong signature or secret, 404 for an unknown
token, 403 for a disabled endpoint, 422 naming what the payload lacks, 429 beyond the
public rate. It stays out of the OpenAPI document (its body is the source's own);
docs/inbound.md describes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cxpulse.collect import inbound_events
from cxpulse.collect.inbound_presets import Unmappable
from cxpulse.store import inbound as store
from cxpulse.store.errors import Invalid
from cxpulse.web import audit
from cxpulse.web.access import Principal, require
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import field_error, invalid_loc
from cxpulse.web.inbound_schemas import (
    InboundEndpointCreate,
    InboundEndpointList,
    InboundEndpointOut,
    InboundEndpointUpdate,
    InboundEventList,
    endpoint_out,
    event_out,
)
from cxpulse.web.json_bodies import BodyProblem, read_json
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import MAX_SMALL_ID
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import retry_after_header

router = APIRouter(tags=["inbound"])

CanManageIntegrations = Annotated[Principal, Depends(require(Permission.INTEGRATIONS_MANAGE))]
EndpointId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The inbound endpoint's id.")]
_NO_STORE = {"Cache-Control": "no-store"}


# -- the public door -------------------------------------------------------------------------


def _take(state: AppState, token: str, body: bytes, headers: dict[str, str]) -> JSONResponse:
    """The whole event in one transaction, answered in the source's terms."""
    with state.sessions() as session:
        try:
            endpoint = inbound_events.verified_endpoint(session, token, body, headers)
        except inbound_events.UnknownEndpoint:
            return _answer({"detail": "no inbound endpoint has this address"}, 404)
        except inbound_events.BadCredentials as refused:
            return _answer({"detail": _CREDENTIALS_HELP[refused.preset]}, 401)
        except inbound_events.EndpointDisabled:
            return _answer({"detail": "this inbound endpoint is disabled"}, 403)
        try:
            document = read_json(body)
        except BodyProblem as problem:
            return _answer({"detail": [field_error(["body"], problem.message, problem.kind)]}, 422)
        try:
            received = inbound_events.receive(session, endpoint, document, body, headers)
        except Unmappable as error:
            session.rollback()
            detail = field_error(["body"], str(error), "unmappable")
            return _answer({"detail": [{**detail, "missing": error.missing}]}, 422)
        except Invalid as error:
            session.rollback()
            return _answer({"detail": [field_error(invalid_loc(error), error.message)]}, 422)
        session.commit()
    answer: dict[str, Any] = {
        "event_id": received.event_id or None,
        "outcome": received.outcome,
        "invitation_id": received.invitation_id,
        "send_at": received.send_at.isoformat() if received.send_at else None,
        "repeat": received.repeat,
    }
    fresh = received.invitation_id is not None and not received.repeat
    return _answer(answer, 202 if fresh else 200)


_CREDENTIALS_HELP = {
    "zendesk": "the X-Zendesk-Webhook-Signature does not match this endpoint's secret",
    "shopify": "the X-Shopify-Hmac-Sha256 does not match this endpoint's secret",
    "freshdesk": "send this endpoint's secret as the basic-auth password or X-Cxpulse-Secret",
    "generic": "send this endpoint's secret as a bearer token or X-Cxpulse-Secret",
}


def _answer(content: dict[str, Any], status_code: int) -> JSONResponse:
    return JSONResponse(content, status_code, headers=_NO_STORE)


@router.post("/api/v1/inbound/{token}", include_in_schema=False)
async def receive_inbound_event(token: str, request: Request) -> Response:
    state = app_state(request)
    # Before any database work: a flood costs a dictionary lookup per request.
    client = request.client.host if request.client else "unknown"
    wait = await state.public_limiter.take_async(client)
    if wait:
        return JSONResponse(
            {"detail": "too many requests from this address; retry later"},
            429,
            headers={"Retry-After": retry_after_header(wait)},
        )
    body = await request.body()
    headers = {name.lower(): value for name, value in request.headers.items()}
    async with database_turn(state, writes=True):
        return await run_in_threadpool(_take, state, token, body, headers)


# -- management ------------------------------------------------------------------------------


def _public_url(request: Request) -> str:
    return str(app_state(request).settings.public_url)


@router.get(
    "/api/v1/inbound-endpoints",
    operation_id="listInboundEndpoints",
    summary="List the inbound endpoints",
    response_model=InboundEndpointList,
    responses=problems(),
)
def list_inbound_endpoints(
    request: Request, caller: CanManageIntegrations, session: DbSession
) -> InboundEndpointList:
    found = store.list_endpoints(session, caller.organisation_id)
    base = _public_url(request)
    return InboundEndpointList(items=[endpoint_out(e, base) for e in found])


@router.post(
    "/api/v1/inbound-endpoints",
    operation_id="createInboundEndpoint",
    summary="Create an inbound endpoint",
    description="The answer holds the endpoint's URL and its secret; the secret is never "
    "shown again (PATCH with `new_secret` draws another).",
    status_code=status.HTTP_201_CREATED,
    response_model=InboundEndpointOut,
    responses=problems(),
)
def create_inbound_endpoint(
    request: Request, body: InboundEndpointCreate, caller: CanManageIntegrations, session: DbSession
) -> InboundEndpointOut:
    endpoint = inbound_events.create_endpoint(
        session, caller.organisation_id, **body.model_dump(exclude_none=True)
    )
    audit.record(
        session,
        caller,
        "create",
        "inbound_endpoint",
        endpoint.id,
        {"preset": endpoint.preset, "survey_id": endpoint.survey_id},
    )
    session.commit()
    return endpoint_out(endpoint, _public_url(request), show_secret=True)


@router.get(
    "/api/v1/inbound-endpoints/{endpoint_id}",
    operation_id="getInboundEndpoint",
    summary="Get an inbound endpoint",
    response_model=InboundEndpointOut,
    responses=problems(404),
)
def get_inbound_endpoint(
    request: Request, endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> InboundEndpointOut:
    endpoint = store.get_endpoint(session, caller.organisation_id, endpoint_id)
    return endpoint_out(endpoint, _public_url(request))


@router.patch(
    "/api/v1/inbound-endpoints/{endpoint_id}",
    operation_id="updateInboundEndpoint",
    summary="Change an inbound endpoint",
    response_model=InboundEndpointOut,
    responses=problems(404),
)
def update_inbound_endpoint(
    request: Request,
    endpoint_id: EndpointId,
    body: InboundEndpointUpdate,
    caller: CanManageIntegrations,
    session: DbSession,
) -> InboundEndpointOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("survey_id", "name", "preset", "mapping", "delay_minutes", "enabled"):
        if name in changes and changes[name] is None:
            raise Invalid(name, "must not be null")
    endpoint = inbound_events.update_endpoint(session, caller.organisation_id, endpoint_id, changes)
    secret_changed = changes.get("secret") is not None or bool(changes.get("new_secret"))
    fields = sorted(n for n in changes if n not in ("secret", "new_secret"))
    details: dict[str, Any] = {"fields": fields, "secret_changed": secret_changed}
    audit.record(session, caller, "update", "inbound_endpoint", endpoint.id, details)
    session.commit()
    return endpoint_out(endpoint, _public_url(request), show_secret=secret_changed)


@router.delete(
    "/api/v1/inbound-endpoints/{endpoint_id}",
    operation_id="deleteInboundEndpoint",
    summary="Delete an inbound endpoint",
    description="Its events go with it; the invitations it made stay.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_inbound_endpoint(
    endpoint_id: EndpointId, caller: CanManageIntegrations, session: DbSession
) -> Response:
    store.delete_endpoint(session, caller.organisation_id, endpoint_id)
    audit.record(session, caller, "delete", "inbound_endpoint", endpoint_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/inbound-endpoints/{endpoint_id}/events",
    operation_id="listInboundEvents",
    summary="The latest events an inbound endpoint received",
    response_model=InboundEventList,
    responses=problems(404),
)
def list_inbound_events(
    endpoint_id: EndpointId,
    caller: CanManageIntegrations,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboundEventList:
    found = store.recent_events(session, caller.organisation_id, endpoint_id, limit=limit)
    return InboundEventList(items=[event_out(e) for e in found])
