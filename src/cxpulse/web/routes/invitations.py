"""Invitations: ask contacts to answer a survey by email, one, a batch or a CSV file at a
time; list, read and withdraw them. The emails' links are served by ``unsubscribes`` and
``open_tracking``, the rates by ``response_rates``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from cxpulse.collect import invitations as triggers
from cxpulse.store import invitations as store
from cxpulse.store import surveys
from cxpulse.store.models import Invitation
from cxpulse.web import audit
from cxpulse.web.access import CanReadContacts, CanWriteContacts, Principal
from cxpulse.web.cursors import decode_id_cursor
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import SurveyId, id_page, problems
from cxpulse.web.routes.csv_uploads import (
    ENCODING_HELP,
    UPLOAD_BODY_BYTES,
    encoding_named,
    parse_contacts,
    read_csv,
    row_problems,
)
from cxpulse.web.schemas import MAX_ID, FieldProblems, Text35, Text100, Text200, Text320

router = APIRouter(tags=["invitations"])

MAX_INVITATIONS_PER_REQUEST = 1000

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


def _out(invitation: Invitation) -> InvitationOut:
    return InvitationOut.model_validate(invitation)


def audit_made(
    session: Session, caller: Principal, action: str, survey_id: int, count: int, **more: Any
) -> None:
    """The audit entry of invitations made at once (``create``, ``upload``): their survey and
    how many, then what else the door knows (the send page: its outcome and form)."""
    details = {"survey_id": survey_id, "count": count, **more}
    audit.record(session, caller, action, "invitation", None, details)


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
        audit_made(session, caller, "create", survey_id, created)
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
    return id_page(InvitationPageOut, "invitation", [_out(i) for i in page.items], page.next_after)


@router.get(
    "/api/v1/invitations/{invitation_id}",
    operation_id="getInvitation",
    summary="Get an invitation",
    response_model=InvitationOut,
    responses=problems(404),
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
)
def cancel_invitation(
    invitation_id: InvitationId, caller: CanWriteContacts, session: DbSession
) -> InvitationOut:
    invitation = triggers.cancel_invitation(session, caller.organisation_id, invitation_id)
    audit.record(session, caller, "cancel", "invitation", invitation.id)
    session.commit()
    return _out(invitation)


@router.post(
    "/api/v1/surveys/{survey_id}/invitations/upload",
    operation_id="uploadInvitations",
    summary="Invite the contacts of a CSV file",
    description=(
        "Columns `external_id,email,name,locale` (one of the first two required), optional "
        "`delay`, `language`, `idempotency_key`, and any other column as a contact attribute. "
        "All rows or none: invalid rows are listed with their line numbers. Files up to 10 MB."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationsOut,
    responses={
        **problems(404),
        413: {"model": FieldProblems, "description": "The file is over 10 MB."},
    },
    max_body_size=UPLOAD_BODY_BYTES,
)
async def upload_invitations(
    survey_id: SurveyId,
    file: Annotated[UploadFile, File(description="A CSV file of at most 10 MB.")],
    caller: CanWriteContacts,
    session: DbSession,
    encoding: Annotated[str | None, Form(max_length=40, description=ENCODING_HELP)] = None,
) -> InvitationsOut:
    requests = _invitation_rows(await read_csv(file, encoding_named(encoding)))

    # The request's session already holds its database turn (see ``deps``).
    def store_them() -> InvitationsOut:
        made = triggers.create_invitations(session, caller.organisation_id, survey_id, requests)
        created = sum(1 for t in made if t.created)
        audit_made(session, caller, "upload", survey_id, created)
        session.commit()
        return InvitationsOut(items=[_out(t.invitation) for t in made], created=created)

    return await run_in_threadpool(store_them)


def _invitation_rows(text: str) -> list[triggers.InvitationRequest]:
    parsed = parse_contacts(text)
    if parsed.problems:
        raise row_problems(parsed.problems)
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
