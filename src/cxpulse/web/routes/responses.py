"""Responses: submit one or a batch (idempotently), list with filters, read, delete.

Every comment in an answer is shown with personal data replaced (``store.shown_comments``):
the redacted text of its analysis, else the comment redacted on the spot.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Header, Query, Request, status
from fastapi import Response as HttpResponse
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxpulse.store import contacts, responses, segment_values, shown_comments, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Response
from cxpulse.store.responses import MAX_PAGE_SIZE, NewResponse, StoredResponse
from cxpulse.web import audit
from cxpulse.web.access import (
    SUBMITTER_SECURITY,
    CanDeleteResponses,
    CanReadResponses,
    CanSubmitOneResponse,
    CanSubmitResponses,
    Principal,
    key_submitter,
)
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import (
    FieldErrors,
    answer_error,
    field_error,
    invalid_errors,
    invalid_loc,
)
from cxpulse.web.filters import SEGMENT_FILTER_HELP, Filters
from cxpulse.web.routes.common import ResponseId, SurveyId, problems
from cxpulse.web.schemas import (
    MAX_BATCH_BODY_BYTES,
    MAX_BATCH_SIZE,
    MAX_BODY_BYTES,
    MAX_ID,
    MAX_SMALL_ID,
    BatchItemOut,
    BatchOut,
    ResponseBatch,
    ResponseCreate,
    ResponseOut,
    ResponsePage,
    clean_text,
)
from cxpulse.web.state import AppState, app_state

router = APIRouter(prefix="/api/v1", tags=["responses"])

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Same as the idempotency_key field; when both are given they must agree.",
    ),
]


_FROM_ROW = tuple(name for name in ResponseOut.model_fields if name != "comment")
"""What ``ResponseOut`` takes from the row as it is: all but the comment, never shown as
stored."""


def _shown_fields(response: Response, comment: str | None) -> dict[str, Any]:
    """The fields of ``ResponseOut`` for ``response``, with ``comment`` (its shown, redacted
    comment)."""
    fields = {name: getattr(response, name) for name in _FROM_ROW}
    fields["comment"] = comment
    # True or false in the answer, even for a row whose column default is not applied yet.
    fields["unverified"] = bool(response.unverified)
    return fields


def response_out(response: Response, comment: str | None) -> ResponseOut:
    """The response as the API shows it, with ``comment`` (its shown, redacted comment)."""
    return ResponseOut(**_shown_fields(response, comment))


def _new_response(survey_id: int, body: ResponseCreate, key: str | None) -> NewResponse:
    return NewResponse(
        survey_id=survey_id,
        score=body.score,
        submitted_at=body.submitted_at,
        comment=body.comment,
        language=body.language,
        channel=body.channel,
        touchpoint=body.touchpoint,
        properties=body.properties,
        contact_id=body.contact_id,
        source=body.source,
        idempotency_key=key,
    )


def _idempotency_key(body: ResponseCreate, header: str | None) -> str | None:
    if header is None:
        return body.idempotency_key
    try:
        clean_text(header)
    except ValueError as error:
        raise FieldErrors.one(["header", "Idempotency-Key"], str(error)) from None
    if body.idempotency_key is not None and body.idempotency_key != header:
        raise FieldErrors.one(
            ["header", "Idempotency-Key"], "differs from the idempotency_key field"
        )
    return header


async def create_response(
    request: Request,
    survey_id: SurveyId,
    body: ResponseCreate,
    caller: CanSubmitOneResponse,
    idempotency_key: IdempotencyHeader = None,
) -> HttpResponse:
    return await _submit(request, survey_id, body, caller, idempotency_key)


async def _submit(
    request: Request,
    survey_id: int,
    body: ResponseCreate,
    caller: Principal,
    idempotency_header: str | None,
) -> HttpResponse:
    content, code = await _stored_answer(
        app_state(request), survey_id, body, caller, idempotency_header
    )
    return HttpResponse(content, status_code=code, media_type="application/json")


async def _stored_answer(
    state: AppState,
    survey_id: int,
    body: ResponseCreate,
    caller: Principal,
    idempotency_header: str | None,
) -> tuple[bytes, int]:
    """Store the answer; its JSON and status code (201, or 200 for a repeat)."""
    # Committed together with other requests' submissions (``web.submissions``); answered
    # as JSON rendered here, since the values are checked and stored already.
    item = _new_response(survey_id, body, _idempotency_key(body, idempotency_header))
    try:
        stored, created = await state.submissions.submit(
            caller.organisation_id, caller.api_key_id, item
        )
    except NotFound as error:
        if error.entity == "contact":
            raise FieldErrors.one(["body", "contact_id"], "no such contact") from None
        raise
    return stored_json(stored), status.HTTP_201_CREATED if created else status.HTTP_200_OK


def stored_json(stored: StoredResponse) -> bytes:
    """``ResponseOut`` of a new answer as JSON, without building the model: the values are
    checked and stored already, and building a model costs four times the serialising on
    the busiest route. The same bytes as the model (``tests/web/routes/test_response_json``
    compares them), keys in the model's order."""
    return pydantic_core.to_json(
        {
            "id": stored.id,
            "survey_id": stored.survey_id,
            "contact_id": stored.contact_id,
            "score": stored.score,
            "comment": shown_comments.shown_comment(stored.comment),
            "language": stored.language,
            "channel": stored.channel,
            "touchpoint": stored.touchpoint,
            "properties": stored.properties,
            "submitted_at": stored.submitted_at,
            "received_at": stored.received_at,
            "source": stored.source,
            "idempotency_key": stored.idempotency_key,
            "contact_consent": None,
            "unverified": False,
        }
    )


FAST_PATH_MAX_BYTES = 65_536
"""Bodies up to this size (with a Content-Length) may take ``SubmissionDoor``'s direct path;
the route's limit (``MAX_BODY_BYTES``) is far above it, so the direct path never meets it."""

_PATH_HEAD = f"{router.prefix}/surveys/"
_PATH_TAIL = "/responses"
_READ_HEADERS = frozenset(
    (b"content-type", b"content-length", b"authorization", b"idempotency-key")
)


class SubmissionDoor:
    """ASGI middleware: ``POST /api/v1/surveys/{id}/responses`` straight to its endpoint code.

    The busiest route. FastAPI's routing (matching the path against every route before it),
    its middleware, request and response objects and dependency solving cost more than
    storing the answer (half the server's CPU per answer, measured in-process). For a request
    that is plainly well-formed (JSON body with a Content-Length, an API key, a plain decimal
    survey id, a body ``ResponseCreate`` accepts) this does the same steps directly: the same
    JSON parsing and validation (Python mode, as FastAPI does), the same authentication
    (``access.key_submitter``), the same endpoint code (``_stored_answer``), and the app's own
    exception handlers for what they raise (a revoked key, an unknown survey, a score off the
    scale, and the catch-all 500). Anything else goes on to FastAPI, with the body it read
    passed on unchanged, so odd requests' answers (422 locations, 413, "401 before 422") are
    FastAPI's. The route stays declared, for the OpenAPI document and for those requests.

    It sits inside ``SecurityHeaders`` and outside FastAPI's middleware
    (``FastAPIWithHeaders.doors``). FastAPI's own OpenTelemetry instrumentation (off unless a
    tracer is installed) still records these requests, without their route template, and
    not the errors the door answers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = _plain_submission(scope)
        if plain is None:
            await self.app(scope, receive, send)
            return
        survey_id, limit, authorization, idempotency_key = plain
        raw, more = b"", True
        while more and len(raw) <= limit:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body came: nobody to answer
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        replay = _replaying(raw, more, receive)
        body = None if more or len(raw) > limit else _valid_body(raw)
        if body is None:
            await self.app(scope, replay, send)
            return
        state: AppState = scope["app"].state.cxpulse
        try:
            caller = await key_submitter(state, authorization)
            content, code = await _stored_answer(state, survey_id, body, caller, idempotency_key)
        except Exception as error:
            refusal = await answer_error(Request(scope, replay), error)
            if refusal is None:
                raise
            await refusal(scope, replay, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": code,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _plain_submission(scope: Scope) -> tuple[int, int, str, str | None] | None:
    """(survey id, Content-Length, Authorization, Idempotency-Key) when ``scope`` may take the
    direct path, else None."""
    if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not (path.startswith(_PATH_HEAD) and path.endswith(_PATH_TAIL)):
        return None
    if scope["app"].dependency_overrides:
        return None  # tests replacing a dependency get FastAPI's handler
    found: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        if key in _READ_HEADERS:
            if key in found:
                return None  # a repeated header: FastAPI's handler reads its first copy
            found[key] = value
    content_type = found.get(b"content-type")
    length = found.get(b"content-length")
    authorization = found.get(b"authorization")
    idempotency_key = found.get(b"idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > 200:
        return None
    if authorization is None or content_type is None:
        return None  # sessions (and their CSRF check) take FastAPI's handler
    if content_type.partition(b";")[0].strip().lower() != b"application/json":
        return None
    limit = _plain_int(None if length is None else length.decode("latin-1"), FAST_PATH_MAX_BYTES)
    survey_id = _plain_int(path[len(_PATH_HEAD) : -len(_PATH_TAIL)], MAX_SMALL_ID)
    if limit is None or survey_id is None:
        return None
    return (
        survey_id,
        limit,
        authorization.decode("latin-1"),
        None if idempotency_key is None else idempotency_key.decode("latin-1"),
    )


def _valid_body(raw: bytes) -> ResponseCreate | None:
    try:
        return ResponseCreate.model_validate(json.loads(raw))
    except Exception:  # any doubt: FastAPI's handler decides, and answers the error
        return None


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    """``receive`` that first gives back the body read already (in one message)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay


def _plain_int(text: object, limit: int) -> int | None:
    if not isinstance(text, str) or not 0 < len(text) <= 19:
        return None
    if not (text.isascii() and text.isdigit()) or text[0] == "0":
        return None
    value = int(text)
    return value if value <= limit else None


router.add_api_route(
    "/surveys/{survey_id}/responses",
    create_response,
    methods=["POST"],
    operation_id="createResponse",
    summary="Submit a response",
    description="Answers 201 with the stored response, or 200 with the response stored "
    "before when its idempotency key (field or Idempotency-Key header) was seen already for "
    "this survey; the repeat stores nothing.",
    status_code=status.HTTP_201_CREATED,
    response_model=ResponseOut,
    responses={
        200: {"model": ResponseOut, "description": "A repeat: the response stored before."},
        **problems(404),
    },
    openapi_extra={"security": SUBMITTER_SECURITY},
    max_body_size=MAX_BODY_BYTES,
)


@router.post(
    "/surveys/{survey_id}/responses/batch",
    operation_id="createResponsesBatch",
    summary="Submit a batch of responses",
    description=f"Up to {MAX_BATCH_SIZE:,} responses, all or nothing: when any item is "
    "invalid nothing is stored and the 422 lists every item's errors (loc "
    '`["body", "items", <position>, <field>]`). Items whose idempotency key is stored '
    "already (or repeated within the batch) are answered with the stored response and "
    "`created: false`. Answers 201 when at least one response was stored, else 200.",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses={
        200: {"model": BatchOut, "description": "Every item was a repeat."},
        **problems(404),
    },
    max_body_size=MAX_BATCH_BODY_BYTES,
)
def create_responses_batch(
    survey_id: SurveyId,
    body: ResponseBatch,
    caller: CanSubmitResponses,
    session: DbSession,
    http: HttpResponse,
) -> BatchOut:
    organisation_id = caller.organisation_id
    survey = surveys.get_survey(session, organisation_id, survey_id)
    items = [_new_response(survey_id, item, item.idempotency_key) for item in body.items]
    # Every item checked by the store's own rules (score, answer time, texts, names), so
    # that the 422 lists each item's problem rather than the first one found.
    errors: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        try:
            responses.check_new_response(survey, item, index=n)
        except Invalid as error:
            errors.append(field_error(invalid_loc(error), error.message))
    missing = contacts.missing_contact_ids(
        session, organisation_id, {i.contact_id for i in body.items if i.contact_id is not None}
    )
    errors += [
        field_error(["body", "items", n, "contact_id"], "no such contact")
        for n, item in enumerate(body.items)
        if item.contact_id in missing
    ]
    if errors:
        errors.sort(key=lambda e: e["loc"][2])
        raise FieldErrors(errors)
    try:
        results = responses.add_responses(session, organisation_id, items)
    except Invalid as error:
        # The store leaves the position out of a batch of one; the API always gives it.
        at = error if error.index is not None else Invalid(error.field, error.message, index=0)
        raise invalid_errors(at) from None
    session.commit()
    created = sum(1 for _, was_created in results if was_created)
    if created == 0:
        http.status_code = status.HTTP_200_OK
    shown = _shown(session, organisation_id, [stored for stored, _ in results])
    return BatchOut(
        created=created,
        existing=len(results) - created,
        items=[
            BatchItemOut(**_shown_fields(stored, shown[stored.id]), created=was_created)
            for stored, was_created in results
        ],
    )


def _shown(session: Session, organisation_id: int, found: list[Response]) -> dict[int, str | None]:
    """Each response's shown comment, by id."""
    return shown_comments.shown_comments(
        session, organisation_id, {response.id: response.comment for response in found}
    )


@router.get(
    "/surveys/{survey_id}/responses",
    operation_id="listResponses",
    summary="List a survey's responses",
    description="Oldest first, in (submitted_at, id) order, `limit` at a time; pass "
    "`next_cursor` back as `cursor` for the next page. " + SEGMENT_FILTER_HELP,
    response_model=ResponsePage,
    responses=problems(404),
)
def list_responses(
    survey_id: SurveyId,
    caller: CanReadResponses,
    session: DbSession,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="From next_cursor.")] = None,
) -> ResponsePage:
    surveys.get_survey(session, caller.organisation_id, survey_id)
    after = decode_cursor(cursor) if cursor else None
    scoped = segment_values.resolve(
        session, caller.organisation_id, dataclasses.replace(filters, survey_id=survey_id)
    )
    page = responses.list_responses(
        session,
        caller.organisation_id,
        scoped,
        after=after,
        limit=limit,
    )
    shown = _shown(session, caller.organisation_id, list(page.items))
    return ResponsePage(
        items=[response_out(r, shown[r.id]) for r in page.items],
        next_cursor=responses.encode_cursor(page.next_after) if page.next_after else None,
    )


def decode_cursor(token: str) -> responses.Cursor:
    try:
        moment, last_id = responses.decode_cursor(token)
    except (Invalid, ValueError, OverflowError):
        raise FieldErrors.one(["query", "cursor"], "is not a cursor this server gave out") from None
    if not 0 <= last_id <= MAX_ID:
        raise FieldErrors.one(["query", "cursor"], "is not a cursor this server gave out")
    return moment, last_id


@router.get(
    "/responses/{response_id}",
    operation_id="getResponse",
    summary="Get a response",
    response_model=ResponseOut,
    responses=problems(404),
)
def get_response(
    response_id: ResponseId, caller: CanReadResponses, session: DbSession
) -> ResponseOut:
    found = responses.get_response(session, caller.organisation_id, response_id)
    return response_out(found, _shown(session, caller.organisation_id, [found])[found.id])


@router.delete(
    "/responses/{response_id}",
    operation_id="deleteResponse",
    summary="Delete a response",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=HttpResponse,
    responses=problems(404),
)
def delete_response(
    response_id: ResponseId, caller: CanDeleteResponses, session: DbSession
) -> HttpResponse:
    responses.delete_response(session, caller.organisation_id, response_id)
    audit.record(session, caller, "delete", "response", response_id)
    session.commit()
    return HttpResponse(status_code=status.HTTP_204_NO_CONTENT)
