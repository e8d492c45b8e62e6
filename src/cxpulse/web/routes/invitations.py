"""Invitations through the API, contact imports, response rates, and the public pages behind
the links of an email: unsubscribe (``/u/<token>``) and the open-tracking pixel
(``/o/<token>.gif``).

``GET /u/<token>`` only shows a button: mail scanners fetch every link of an email, and a
fetch must not unsubscribe anybody. ``POST /u/<token>`` unsubscribes, both from that button
and as the one-click unsubscribe of RFC 8058 (``List-Unsubscribe=One-Click``) that mail
programs send.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from cxpulse import i18n
from cxpulse.collect import invitations as triggers
from cxpulse.collect.contacts_csv import CsvProblem, decode, import_contacts, parse_contacts
from cxpulse.collect.links import LinkProblem
from cxpulse.collect.mailer import DOMAIN, environment
from cxpulse.collect.rates import RATE_PERIODS, response_rates
from cxpulse.store import invitations as store
from cxpulse.store import surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Invitation
from cxpulse.store.survey_options import parse_options
from cxpulse.web import audit
from cxpulse.web.access import CanReadContacts, CanReadMetrics, CanWriteContacts
from cxpulse.web.cursors import decode_id_cursor, encode_id_cursor
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.schemas import MAX_ID, FieldProblems, Text35, Text100, Text200, Text320
from cxpulse.web.state import app_state, database_turn
from cxpulse.web.tokens import retry_after_header

router = APIRouter()

MAX_INVITATIONS_PER_REQUEST = 1000
MAX_CSV_BYTES = 10_000_000
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}
# The smallest transparent GIF (1x1 pixel).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

InvitationId = Annotated[int, Path(ge=1, le=MAX_ID, description="The invitation's id.")]


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: int | None = Field(default=None, strict=True, ge=1, le=MAX_ID)
    external_id: Text200 | None = None
    email: Text320 | None = Field(default=None, description="Creates the contact if unknown.")
    name: Text200 | None = None
    locale: Text35 | None = None
    delay: Annotated[str, Field(max_length=30)] | None = Field(
        default=None, description='Send after this long: "30m", "24h", "2d", "1w".'
    )
    send_at: AwareDatetime | None = Field(default=None, description="Send at this moment.")
    properties: dict[Text100, str | int | float | bool | None] | None = Field(
        default=None, max_length=50, description="Copied onto the response (ticket, agent...)."
    )
    language: Literal["en", "sv", "nl", "mk", "de", "fr", "es", "pt"] | None = None
    idempotency_key: Text200 | None = Field(
        default=None, description="A retry with the same key returns the first invitation."
    )

    def request(self) -> triggers.InvitationRequest:
        return triggers.InvitationRequest(
            contact_id=self.contact_id,
            external_id=self.external_id,
            email=self.email,
            name=self.name,
            locale=self.locale,
            delay=self.delay,
            send_at=self.send_at,
            properties=self.properties,
            language=self.language,
            idempotency_key=self.idempotency_key,
        )


class InvitationBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[InvitationIn] = Field(min_length=1, max_length=MAX_INVITATIONS_PER_REQUEST)


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    survey_id: int
    contact_id: int
    channel: str
    status: str
    reason: str | None
    language: str | None
    properties: dict[str, str]
    idempotency_key: str | None
    send_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    reminded_at: datetime | None
    created_at: datetime


class InvitationsOut(BaseModel):
    items: list[InvitationOut]
    created: int = Field(description="How many are new (the others repeat an idempotency key).")


class InvitationPageOut(BaseModel):
    items: list[InvitationOut]
    next_cursor: str | None


class RateOut(BaseModel):
    value: float | None
    low: float | None
    high: float | None


class RateRowOut(BaseModel):
    period: str
    channel: str
    invited: int
    sent: int
    failed: int
    throttled: int
    unsubscribed: int
    opened: int
    answered: int
    commented: int
    response_rate: RateOut = Field(description="answered / sent, with a 95% Wilson interval.")
    comment_rate: RateOut = Field(description="commented / answered, with a Wilson interval.")


class RatesOut(BaseModel):
    survey_id: int
    period: str
    rows: list[RateRowOut]


class UnsubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Text320

    @model_validator(mode="after")
    def _address(self) -> UnsubscribeIn:
        if "@" not in self.email.strip():
            raise ValueError("email is not an email address")
        return self


class UnsubscribeOut(BaseModel):
    email: str
    created: bool


class ContactImportProblem(BaseModel):
    line: int
    column: str
    message: str


class ContactImportOut(BaseModel):
    created: int
    updated: int
    invalid: int
    problems: list[ContactImportProblem]


def _out(invitation: Invitation) -> InvitationOut:
    return InvitationOut.model_validate(invitation)


@router.post(
    "/api/v1/surveys/{survey_id}/invitations",
    operation_id="createInvitations",
    summary="Invite contacts to answer a survey by email",
    description=(
        'One invitation, or a batch as `{"items": [...]}` (at most 1,000). Name each '
        "contact by `contact_id`, or by `external_id` and/or `email` (created when new). "
        "Each invitation is stored as `scheduled` (sent at `send_at`, after `delay`, or now), "
        "`throttled` (the contact was invited within the throttle window) or `unsubscribed`. "
        "Answers 201 when something new was made, 200 when every item repeated an "
        "`idempotency_key`."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationsOut,
    responses={**problems(404, 409), 200: {"model": InvitationsOut}},
    tags=["invitations"],
)
def create_invitations(
    survey_id: SurveyId,
    body: InvitationIn | InvitationBatchIn,
    caller: CanWriteContacts,
    session: DbSession,
    response: Response,
) -> InvitationsOut:
    items = body.items if isinstance(body, InvitationBatchIn) else [body]
    made = triggers.create_invitations(
        session, caller.organisation_id, survey_id, [item.request() for item in items]
    )
    created = sum(1 for t in made if t.created)
    if created:
        audit.record(
            session,
            caller,
            "create",
            "invitation",
            None,
            {"survey_id": survey_id, "count": created},
        )
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return InvitationsOut(items=[_out(t.invitation) for t in made], created=created)


@router.get(
    "/api/v1/surveys/{survey_id}/invitations",
    operation_id="listInvitations",
    summary="List a survey's invitations",
    description="In id order, `limit` at a time; pass `next_cursor` back as `cursor`.",
    response_model=InvitationPageOut,
    responses=problems(404),
    tags=["invitations"],
)
def list_invitations(
    survey_id: SurveyId,
    caller: CanReadContacts,
    session: DbSession,
    status_filter: Annotated[
        Literal["scheduled", "sent", "failed", "throttled", "unsubscribed", "cancelled"] | None,
        Query(alias="status"),
    ] = None,
    contact_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> InvitationPageOut:
    surveys.get_survey(session, caller.organisation_id, survey_id)
    after = decode_id_cursor("invitation", cursor) if cursor else None
    page = store.list_invitations(
        session,
        caller.organisation_id,
        survey_id,
        status=status_filter,
        contact_id=contact_id,
        after=after,
        limit=limit,
    )
    return InvitationPageOut(
        items=[_out(i) for i in page.items],
        next_cursor=encode_id_cursor("invitation", page.next_after) if page.next_after else None,
    )


@router.get(
    "/api/v1/invitations/{invitation_id}",
    operation_id="getInvitation",
    summary="Get an invitation",
    response_model=InvitationOut,
    responses=problems(404),
    tags=["invitations"],
)
def get_invitation(
    invitation_id: InvitationId,
    caller: CanReadContacts,
    session: DbSession,
) -> InvitationOut:
    return _out(store.get_invitation(session, caller.organisation_id, invitation_id))


@router.post(
    "/api/v1/invitations/{invitation_id}/cancel",
    operation_id="cancelInvitation",
    summary="Withdraw a scheduled invitation before it is sent",
    response_model=InvitationOut,
    responses=problems(404),
    tags=["invitations"],
)
def cancel_invitation(
    invitation_id: InvitationId, caller: CanWriteContacts, session: DbSession
) -> InvitationOut:
    invitation = triggers.cancel_invitation(session, caller.organisation_id, invitation_id)
    audit.record(session, caller, "cancel", "invitation", invitation.id)
    session.commit()
    return _out(invitation)


async def _read_csv(file: UploadFile) -> str:
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise FieldErrors.one(
            ["body", "file"], f"is larger than {MAX_CSV_BYTES // 1_000_000} MB", status_code=413
        )
    return decode(data)


def _csv_problem(error: CsvProblem) -> FieldErrors:
    return FieldErrors.one(["body", "file"], str(error))


def _row_problems(found: list[Any]) -> FieldErrors:
    return FieldErrors(
        [field_error(["body", "file", "line", p.line, p.column], p.message) for p in found[:100]]
    )


@router.post(
    "/api/v1/surveys/{survey_id}/invitations/upload",
    operation_id="uploadInvitations",
    summary="Invite the contacts of a CSV file",
    description=(
        "Columns `external_id,email,name,locale` (one of the first two required), optional "
        "`delay`, `language`, `idempotency_key`, and any other column as a contact attribute. "
        "All rows or none: invalid rows are listed with their line numbers."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationsOut,
    responses={
        **problems(404),
        413: {"model": FieldProblems, "description": "The file is too large."},
    },
    tags=["invitations"],
)
async def upload_invitations(
    survey_id: SurveyId,
    file: Annotated[UploadFile, File(description="A CSV file, UTF-8 or Windows-1252.")],
    caller: CanWriteContacts,
    session: DbSession,
) -> InvitationsOut:
    text = await _read_csv(file)
    requests = _invitation_rows(text)

    # The request's session already holds its database turn (see ``deps``).
    def store_them() -> InvitationsOut:
        made = triggers.create_invitations(session, caller.organisation_id, survey_id, requests)
        created = sum(1 for t in made if t.created)
        audit.record(
            session,
            caller,
            "upload",
            "invitation",
            None,
            {"survey_id": survey_id, "count": created},
        )
        session.commit()
        return InvitationsOut(items=[_out(t.invitation) for t in made], created=created)

    return await run_in_threadpool(store_them)


def _invitation_rows(text: str) -> list[triggers.InvitationRequest]:
    try:
        parsed = parse_contacts(text)
    except CsvProblem as error:
        raise _csv_problem(error) from None
    if parsed.problems:
        raise _row_problems(parsed.problems)
    # The invitation columns are read from the same rows; they are not contact attributes.
    own = ("delay", "language", "idempotency_key")
    requests = []
    for row in parsed.rows:
        extra = {k: row.attributes.pop(k) for k in own if k in row.attributes}
        requests.append(
            triggers.InvitationRequest(
                external_id=row.external_id,
                email=row.email,
                name=row.name,
                locale=row.locale,
                attributes=row.attributes or None,
                delay=extra.get("delay"),
                language=extra.get("language"),
                idempotency_key=extra.get("idempotency_key"),
            )
        )
    return requests


@router.post(
    "/api/v1/contacts/import",
    operation_id="importContacts",
    summary="Create or update contacts from a CSV file",
    description=(
        "Columns `external_id,email,name,locale` and any other column as an attribute. A row "
        "updates the contact with its external id, else with its email, else creates one. "
        "All rows or none, unless `skip_invalid=true`."
    ),
    response_model=ContactImportOut,
    responses={
        **problems(),
        413: {"model": FieldProblems, "description": "The file is too large."},
    },
    tags=["contacts"],
)
async def import_contacts_csv(
    file: Annotated[UploadFile, File(description="A CSV file, UTF-8 or Windows-1252.")],
    caller: CanWriteContacts,
    session: DbSession,
    skip_invalid: Annotated[bool, Query()] = False,
) -> ContactImportOut:
    text = await _read_csv(file)
    try:
        parsed = parse_contacts(text)
    except CsvProblem as error:
        raise _csv_problem(error) from None
    if parsed.problems and not skip_invalid:
        raise _row_problems(parsed.problems)

    def store_them() -> ContactImportOut:
        result = import_contacts(
            session, caller.organisation_id, parsed.rows, parsed.problems, skip_invalid=True
        )
        audit.record(
            session,
            caller,
            "import",
            "contact",
            None,
            {"created": result.created, "updated": result.updated},
        )
        session.commit()
        return ContactImportOut(
            created=result.created,
            updated=result.updated,
            invalid=result.invalid,
            problems=[
                ContactImportProblem(line=p.line, column=p.column, message=p.message)
                for p in result.problems[:100]
            ],
        )

    return await run_in_threadpool(store_them)


@router.get(
    "/api/v1/surveys/{survey_id}/response-rates",
    operation_id="getResponseRates",
    summary="Response and comment rates of a survey's invitations",
    description="Per period of sending and channel; rates carry a 95% Wilson interval.",
    response_model=RatesOut,
    responses=problems(404),
    tags=["invitations"],
)
def get_response_rates(
    survey_id: SurveyId,
    caller: CanReadMetrics,
    session: DbSession,
    period: Annotated[Literal["day", "week", "month", "quarter", "year"], Query()] = "month",
) -> RatesOut:
    assert period in RATE_PERIODS
    surveys.get_survey(session, caller.organisation_id, survey_id)
    rows = response_rates(session, caller.organisation_id, survey_id, period=period)
    return RatesOut(
        survey_id=survey_id,
        period=period,
        rows=[RateRowOut.model_validate(r.to_document()) for r in rows],
    )


@router.post(
    "/api/v1/unsubscribes",
    operation_id="createUnsubscribe",
    summary="Stop all survey emails to an address",
    description="For an opt-out received elsewhere (phone, support ticket). Repeating it is "
    "harmless; invitations to the address are then stored as `unsubscribed` and never sent.",
    status_code=status.HTTP_201_CREATED,
    response_model=UnsubscribeOut,
    responses=problems(),
    tags=["invitations"],
)
def create_unsubscribe(
    body: UnsubscribeIn, caller: CanWriteContacts, session: DbSession, response: Response
) -> UnsubscribeOut:
    created = store.add_unsubscribe(session, caller.organisation_id, body.email, "api")
    if created:
        audit.record(session, caller, "create", "unsubscribe", None)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return UnsubscribeOut(email=store.normalise_email(body.email), created=created)


# Public pages behind the links of an email


@functools.cache
def _page_template() -> Any:
    return environment().get_template("unsubscribe_page.html")


def _page(
    language: str,
    *,
    status_code: int = 200,
    problem: str | None = None,
    organisation: str = "",
    email: str = "",
    action: str = "",
    done: bool = False,
) -> HTMLResponse:
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    html = _page_template().render(
        _=gettext,
        language=language,
        problem=gettext(problem) if problem else None,
        organisation=organisation,
        email=email,
        action=action,
        done=done,
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _language(request: Request) -> str:
    return i18n.negotiate(accept_language=request.headers.get("accept-language"))


def _link_problem(request: Request, error: LinkProblem) -> HTMLResponse:
    message = (
        "This link has expired."
        if error.expired
        else ("This link is damaged. Copy the whole address from the email.")
    )
    return _page(_language(request), status_code=410 if error.expired else 404, problem=message)


@router.get("/u/{token}", include_in_schema=False)
async def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
    state = app_state(request)
    try:
        claims = state.links.verify(token, "unsubscribe")
    except LinkProblem as error:
        return _link_problem(request, error)

    def load() -> triggers.LinkTarget:
        with state.read_sessions() as session:
            return triggers.invitation_for_link(session, claims.invitation_id, claims.survey_id)

    try:
        async with database_turn(state, writes=False):
            target = await run_in_threadpool(load)
    except NotFound:
        return _link_problem(request, LinkProblem("gone"))
    language = i18n.negotiate(
        invitation=target.invitation.language,
        contact=target.contact.locale if target.contact else None,
        accept_language=request.headers.get("accept-language"),
    )
    email = target.contact.email if target.contact and target.contact.email else ""
    return _page(
        language,
        organisation=target.organisation.name,
        email=email,
        action=f"/u/{token}",
    )


@router.post("/u/{token}", include_in_schema=False)
async def unsubscribe(token: str, request: Request) -> Response:
    state = app_state(request)
    client = request.client.host if request.client else "unknown"
    wait = state.public_limiter.take(client)
    if wait:
        return Response(status_code=429, headers={"Retry-After": retry_after_header(wait)})
    try:
        claims = state.links.verify(token, "unsubscribe")
    except LinkProblem as error:
        return _link_problem(request, error)
    body = (await request.body())[:1000]
    one_click = b"List-Unsubscribe=One-Click" in body

    def record() -> triggers.LinkTarget:
        with state.sessions() as session:
            target = triggers.invitation_for_link(session, claims.invitation_id, claims.survey_id)
            triggers.unsubscribe(session, target, "list-unsubscribe" if one_click else "link")
            session.commit()
            return target

    try:
        async with database_turn(state, writes=True):
            target = await run_in_threadpool(record)
    except NotFound:
        return _link_problem(request, LinkProblem("gone"))
    if one_click:
        return Response(status_code=200)
    language = i18n.negotiate(
        invitation=target.invitation.language,
        contact=target.contact.locale if target.contact else None,
        accept_language=request.headers.get("accept-language"),
    )
    return _page(
        language,
        organisation=target.organisation.name,
        email=target.contact.email if target.contact and target.contact.email else "",
        done=True,
    )


@router.get("/o/{token}.gif", include_in_schema=False)
async def open_pixel(token: str, request: Request) -> Response:
    """Records the first open when the survey tracks opens; always the same tiny image."""
    state = app_state(request)
    headers = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
    try:
        claims = state.links.verify(token, "open")
    except LinkProblem:
        return Response(PIXEL, media_type="image/gif", headers=headers)

    def record() -> None:
        with state.sessions() as session:
            try:
                target = triggers.invitation_for_link(
                    session, claims.invitation_id, claims.survey_id
                )
            except NotFound:
                return
            survey = surveys.get_survey(
                session, target.organisation.id, target.invitation.survey_id
            )
            if parse_options(survey.collect_options).track_opens:
                triggers.record_open(session, target.invitation)
                session.commit()

    async with database_turn(state, writes=True):
        await run_in_threadpool(record)
    return Response(PIXEL, media_type="image/gif", headers=headers)


__all__ = ["router"]
