"""The signed-in webhook pages, plain HTML forms that work without JavaScript:

- ``/app/webhooks``: the organisation's endpoints with their health (last delivery, failing
  deliveries, why one was switched off) and a form to add one; the new endpoint's secret is
  shown on the answer to that form, once;
- ``/app/webhooks/{id}``: one endpoint: its settings, a test event, a new secret (shown
  once), switching it off or on, its delivery log by state, newest first, with a replay
  button per delivery and one for every failed delivery, and deletion.

Every page and form needs ``integrations:manage`` (admins and owners): the log shows what was
sent, which may name customers. Forms carry the page's CSRF token as a field
(``access.form_principal``). The rules are ``store.webhooks``'s, shared with the API.
About 400 lines: the two pages and their eight small forms; an endpoint's forms share their
caller check, commit and refusals (``_endpoint_form``), each giving only its change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.act import events
from cxpulse.store import cursors, webhooks
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import DELIVERY_STATES, WEBHOOK_FORMATS, WebhookEndpoint
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.form_refusals import NO_REFUSAL, Refusal, refused
from cxpulse.web.routes.page_access import permitted_page
from cxpulse.web.routes.page_moments import when
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID

router = APIRouter(include_in_schema=False)

EndpointId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]
LIST = "/app/webhooks"
PAGE_SIZE = 25
ENTITY = "webhook_endpoint"
FORMAT_NAMES = {"standard": "Signed JSON", "slack": "Slack", "teams": "Microsoft Teams"}
STATE_NAMES = {
    "pending": "waiting",
    "delivered": "delivered",
    "failed": "failed, will retry",
    "dead": "failed, given up",
}
NOTICES = {
    "tested": "A test event was queued: it shows in the log below within seconds.",
    "replayed": "Queued again, with the same event id.",
    "saved": "Saved.",
    "enabled": "Switched on. Replay the failed deliveries to send what it missed.",
    "disabled": "Switched off: no events are sent to it until it is switched on again.",
    "deleted": "The endpoint and its delivery log were deleted.",
}


def _notice(request: Request) -> str | None:
    for name, text in NOTICES.items():
        if name in request.query_params:
            given = request.query_params[name]
            if name == "replayed" and given.isascii() and given.isdecimal() and len(given) < 9:
                count = int(given)
                noun = "delivery" if count == 1 else "deliveries"
                return f"{count} {noun} queued again, each with its event id."
            return text
    return None


def _typed(form: FormData | None) -> dict[str, Any]:
    if form is None:
        return {}
    typed: dict[str, Any] = {
        name: value for name, value in form.multi_items() if isinstance(value, str)
    }
    typed["events"] = [value for value in form.getlist("events") if isinstance(value, str)]
    return typed


def _text(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > limit:
        raise Invalid(name, f"must be at most {limit} characters")
    return text


def _events(form: FormData) -> list[str]:
    return [value for value in form.getlist("events") if isinstance(value, str)]


async def _form_caller(request: Request, session: Session) -> tuple[Principal, FormData]:
    return await page_forms.form_caller(request, session, Permission.INTEGRATIONS_MANAGE)


def _form_problem(request: Request, problem: PageProblem, back: str) -> HTMLResponse:
    return page_forms.form_problem(request, problem, back)


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such webhook endpoint in your organisation.")


def _endpoint_view(endpoint: WebhookEndpoint, health: webhooks.Health | None) -> dict[str, Any]:
    counts = health.counts if health else {}
    return {
        "endpoint": endpoint,
        "format_name": FORMAT_NAMES.get(endpoint.format, endpoint.format),
        "types": list((endpoint.events or {}).get("types", [])),
        "last_delivered": when(health.last_delivered_at if health else None),
        "delivered": counts.get("delivered", 0),
        "failing": counts.get("failed", 0) + counts.get("dead", 0),
        # Both kinds of failure: the whole log; one kind: that state's page of it.
        "failing_filter": ""
        if counts.get("failed") and counts.get("dead")
        else f"?state={'failed' if counts.get('failed') else 'dead'}",
        "waiting": counts.get("pending", 0),
        "last_error": health.last_error if health else None,
    }


# -- the list ----------------------------------------------------------------------------------


def _list_page(
    request: Request, session: Session, caller: Principal, refusal: Refusal = NO_REFUSAL
) -> HTMLResponse:
    org = caller.organisation_id
    health = webhooks.health(session, org)
    context = {
        "endpoints": [
            _endpoint_view(endpoint, health.get(endpoint.id))
            for endpoint in webhooks.list_endpoints(session, org)
        ],
        "event_types": webhooks.EVENT_TYPES,
        "formats": [(name, FORMAT_NAMES[name]) for name in WEBHOOK_FORMATS],
        "max_endpoints": webhooks.MAX_ENDPOINTS,
        "errors": refusal.errors,
        "typed": _typed(refusal.form),
        "notice": _notice(request),
    }
    return render_page(request, "app/webhooks/list.html", context, refusal.status_code)


@router.get("/app/webhooks", response_class=HTMLResponse)
def webhooks_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return permitted_page(request, session, caller, Permission.INTEGRATIONS_MANAGE, _list_page)


@router.post("/app/webhooks")
async def create_endpoint_form(request: Request, session: DbSession) -> Response:
    try:
        caller, form = await _form_caller(request, session)
    except PageProblem as problem:
        return _form_problem(request, problem, LIST)
    try:
        endpoint = webhooks.create_endpoint(
            session,
            caller.organisation_id,
            url=_text(form, "url", webhooks.MAX_URL_LENGTH),
            format=_text(form, "format", 20) or "standard",
            description=_text(form, "description", webhooks.MAX_DESCRIPTION_LENGTH) or None,
            events=_events(form),
        )
        audit.record(session, caller, "create", ENTITY, endpoint.id, {"format": endpoint.format})
        session.commit()
    except Invalid as error:
        session.rollback()
        return _list_page(request, session, caller, refused(error, form))
    # The secret is shown on this answer only: a redirect would have to carry it in a URL.
    return _endpoint_page(
        request, session, caller, endpoint.id, secret=endpoint.secret, created=True
    )


# -- one endpoint ------------------------------------------------------------------------------


def _endpoint_page(
    request: Request,
    session: Session,
    caller: Principal,
    endpoint_id: int,
    *,
    state: str | None = None,
    cursor: str | None = None,
    secret: str | None = None,
    created: bool = False,
    refusal: Refusal = NO_REFUSAL,
) -> HTMLResponse:
    org = caller.organisation_id
    endpoint = webhooks.get_endpoint(session, org, endpoint_id)
    states = [state] if state in DELIVERY_STATES else []
    after = cursors.decode_cursor(cursor) if cursor else None
    found = webhooks.list_deliveries(
        session, org, endpoint_id, states=states, after=after, limit=PAGE_SIZE + 1
    )
    page = found[:PAGE_SIZE]
    older = None
    if len(found) > PAGE_SIZE:
        older = cursors.encode_cursor(webhooks.cursor_of(page[-1]))
    view = _endpoint_view(endpoint, webhooks.health(session, org).get(endpoint.id))
    typed = (
        _typed(refusal.form)
        if refusal.form is not None
        else {
            "url": endpoint.url,
            "description": endpoint.description or "",
            "events": view["types"],
        }
    )
    context = {
        **view,
        "deliveries": [
            {
                "delivery": delivery,
                "created": when(delivery.created_at),
                "state_name": STATE_NAMES.get(delivery.state, delivery.state),
            }
            for delivery in page
        ],
        "state": states[0] if states else None,
        "states": [(name, STATE_NAMES[name]) for name in DELIVERY_STATES],
        "older": older,
        "first_page": cursor is None,
        "secret": secret,
        "created": created,
        "rotation_until": when(endpoint.previous_secret_until)
        if endpoint.previous_secret and endpoint.previous_secret_until
        else None,
        "event_types": webhooks.EVENT_TYPES,
        "errors": refusal.errors,
        "typed": typed,
        "notice": _notice(request),
    }
    return render_page(request, "app/webhooks/endpoint.html", context, refusal.status_code)


@router.get("/app/webhooks/{endpoint_id}", response_class=HTMLResponse)
def endpoint_page(
    endpoint_id: EndpointId,
    request: Request,
    caller: PageCaller,
    session: DbSession,
    state: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.INTEGRATIONS_MANAGE)
        return _endpoint_page(request, session, caller, endpoint_id, state=state, cursor=cursor)
    except PageProblem as problem:
        return problem_page(request, problem)
    except NotFound:
        return problem_page(request, _missing(), back=LIST)
    except Invalid:
        stale = PageProblem(422, "Not found", "That page of the log does not exist.")
        return problem_page(request, stale, back=_endpoint_url(endpoint_id))


EndpointChange = Callable[[Principal, FormData], Response]
"""What a form of an endpoint's page does: its store change and audit entry; it gives the
answer, which is sent once the change is committed."""


def _endpoint_url(endpoint_id: int) -> str:
    return f"{LIST}/{endpoint_id}"


def _back(endpoint_id: int, notice: str) -> RedirectResponse:
    """Back to the endpoint's page, with the ``notice`` query that names what was done."""
    return RedirectResponse(f"{_endpoint_url(endpoint_id)}?{notice}", status_code=303)


async def _endpoint_form(
    request: Request,
    session: Session,
    endpoint_id: int,
    change: EndpointChange,
    *,
    keep_typed: bool = False,
) -> Response:
    """``change`` by a caller with ``integrations:manage``, committed. A refused form comes
    back as the endpoint's page with the message (and, ``keep_typed``, the settings as
    typed); a missing endpoint is a 404 page that links to the list."""
    back = _endpoint_url(endpoint_id)
    try:
        caller, form = await _form_caller(request, session)
        answer = change(caller, form)
        session.commit()
    except PageProblem as problem:
        return _form_problem(request, problem, back)
    except NotFound:
        return _form_problem(request, _missing(), LIST)
    except Invalid as error:
        session.rollback()
        refusal = refused(error, form if keep_typed else None)
        return _endpoint_page(request, session, caller, endpoint_id, refusal=refusal)
    return answer


@router.post("/app/webhooks/{endpoint_id}")
async def update_endpoint_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def update(caller: Principal, form: FormData) -> Response:
        webhooks.update_endpoint(
            session,
            caller.organisation_id,
            endpoint_id,
            url=_text(form, "url", webhooks.MAX_URL_LENGTH),
            description=_text(form, "description", webhooks.MAX_DESCRIPTION_LENGTH) or None,
            events=_events(form),
        )
        fields = ["url", "description", "events"]
        audit.record(session, caller, "update", ENTITY, endpoint_id, {"fields": fields})
        return _back(endpoint_id, "saved=1")

    return await _endpoint_form(request, session, endpoint_id, update, keep_typed=True)


@router.post("/app/webhooks/{endpoint_id}/switch")
async def switch_endpoint_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def switch(caller: Principal, form: FormData) -> Response:
        enabled = form.get("enabled") == "on"
        webhooks.update_endpoint(session, caller.organisation_id, endpoint_id, enabled=enabled)
        audit.record(session, caller, "update", ENTITY, endpoint_id, {"enabled": enabled})
        return _back(endpoint_id, f"{'enabled' if enabled else 'disabled'}=1")

    return await _endpoint_form(request, session, endpoint_id, switch)


@router.post("/app/webhooks/{endpoint_id}/test")
async def test_endpoint_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def test(caller: Principal, _: FormData) -> Response:
        delivery_id = events.send_test(session, caller.organisation_id, endpoint_id)
        audit.record(session, caller, "test", ENTITY, endpoint_id, {"delivery_id": delivery_id})
        return _back(endpoint_id, "tested=1")

    return await _endpoint_form(request, session, endpoint_id, test)


@router.post("/app/webhooks/{endpoint_id}/rotate", response_model=None)
async def rotate_secret_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def rotate(caller: Principal, _: FormData) -> Response:
        endpoint = webhooks.rotate_secret(session, caller.organisation_id, endpoint_id)
        audit.record(session, caller, "rotate_secret", ENTITY, endpoint_id)
        # The new secret is shown on this answer only, as a new endpoint's is.
        return _endpoint_page(request, session, caller, endpoint_id, secret=endpoint.secret)

    return await _endpoint_form(request, session, endpoint_id, rotate)


@router.post("/app/webhooks/{endpoint_id}/replay-failed")
async def replay_failed_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def replay_failed(caller: Principal, _: FormData) -> Response:
        count = webhooks.replay_failed(session, caller.organisation_id, endpoint_id)
        audit.record(session, caller, "replay_failed", ENTITY, endpoint_id, {"count": count})
        return _back(endpoint_id, f"replayed={count}")

    return await _endpoint_form(request, session, endpoint_id, replay_failed)


@router.post("/app/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
async def replay_form(
    request: Request, endpoint_id: EndpointId, delivery_id: DeliveryId, session: DbSession
) -> Response:
    def replay(caller: Principal, _: FormData) -> Response:
        org = caller.organisation_id
        try:
            webhooks.replay(session, org, delivery_id, endpoint_id=endpoint_id)
        except NotFound:  # the endpoint's page is there to go back to
            missing = "There is no such delivery of this endpoint."
            raise PageProblem(404, "Not found", missing) from None
        audit.record(session, caller, "replay", ENTITY, endpoint_id, {"delivery_id": delivery_id})
        return _back(endpoint_id, "replayed=1")

    return await _endpoint_form(request, session, endpoint_id, replay)


@router.post("/app/webhooks/{endpoint_id}/delete")
async def delete_endpoint_form(
    request: Request, endpoint_id: EndpointId, session: DbSession
) -> Response:
    def delete(caller: Principal, form: FormData) -> Response:
        if form.get("confirm") != "yes":
            webhooks.get_endpoint(session, caller.organisation_id, endpoint_id)  # 404 first
            raise Invalid("confirm", "tick the box to confirm the deletion")
        webhooks.delete_endpoint(session, caller.organisation_id, endpoint_id)
        audit.record(session, caller, "delete", ENTITY, endpoint_id)
        return RedirectResponse(f"{LIST}?deleted=1", status_code=303)

    return await _endpoint_form(request, session, endpoint_id, delete)
