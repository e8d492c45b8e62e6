"""Follow-up cases, teams and the case settings through API v1.

- ``/api/v1/cases``: the inbox (``view`` mine, team, overdue or all; filters; three orders
  paged by key), one case with its history and the customer's timeline, opening a case for
  an answer, changes, notes, replies by email and bulk changes. Agents and above
  (``cases:read``, ``cases:write``).
- ``/api/v1/cases/inbound-email``: where a mail provider's inbound webhook posts a
  customer's answer to a case email. No key: the reply address's token and the thread
  (``act.cases.receive_email``) prove which case it belongs to; anything else is 403/404.
- ``/api/v1/teams`` and ``/api/v1/case-settings``: read by agents, changed by admins
  (``users:manage``).

One module over 400 lines: the app registers one router for the case API, and teams and
settings exist only for cases.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import datetime
from email.parser import HeaderParser
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from cxpulse.act import cases
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.signing import urlsafe_b64decode, urlsafe_b64encode
from cxpulse.store import cases as case_store
from cxpulse.store import teams
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import FollowUpCase, Team
from cxpulse.store.types import utc_now
from cxpulse.web import audit
from cxpulse.web.access import CanManageUsers, Principal, require
from cxpulse.web.case_schemas import (
    AnswerOut,
    BulkOut,
    BulkUpdate,
    CaseCreate,
    CaseDetail,
    CaseEventOut,
    CaseOut,
    CasePage,
    CasePriority,
    CaseSettingsIn,
    CaseSettingsOut,
    CaseSort,
    CaseState,
    CaseUpdate,
    CaseView,
    InboundOut,
    NoteCreate,
    ReplyCreate,
    TeamIn,
    TeamList,
    TeamOut,
    TimelineEntryOut,
)
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import UserId, problems
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID
from cxpulse.web.state import AppState, app_state
from cxpulse.web.tokens import retry_after_header

router = APIRouter(prefix="/api/v1", tags=["cases"])

CanReadCases = Annotated[Principal, Depends(require(Permission.CASES_READ))]
CanWriteCases = Annotated[Principal, Depends(require(Permission.CASES_WRITE))]
CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case's id.")]
TeamId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The team's id.")]
MAX_INBOUND_FIELD = 100_000


# -- converting --------------------------------------------------------------------------------


def case_out(row: FollowUpCase, now: datetime | None = None) -> CaseOut:
    return CaseOut(
        id=row.id,
        survey_id=row.survey_id,
        response_id=row.response_id,
        contact_id=row.contact_id,
        rule_id=row.rule_id,
        team_id=row.team_id,
        assignee_user_id=row.assignee_user_id,
        title=row.title,
        state=row.state,  # type: ignore[arg-type]
        priority=row.priority,  # type: ignore[arg-type]
        due_at=row.due_at,
        overdue=cases.is_overdue(row, now),
        first_contact_at=row.first_contact_at,
        closed_at=row.closed_at,
        resolution_reason=row.resolution_reason,
        resurvey_invitation_id=row.resurvey_invitation_id,
        recovery_score=row.recovery_score,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _detail(session: DbSession, organisation_id: int, case_id: int) -> CaseDetail:
    found = cases.case_detail(session, organisation_id, case_id)
    answer = found.answer
    return CaseDetail(
        **case_out(found.case).model_dump(),
        answer=None
        if answer is None
        else AnswerOut(
            id=answer.id,
            survey_id=answer.survey_id,
            score=answer.score,
            comment=found.answer_comment,
            channel=answer.channel,
            submitted_at=answer.submitted_at,
        ),
        events=[
            CaseEventOut(
                id=event.id,
                kind=event.kind,
                author_user_id=event.author_user_id,
                body=event.body,
                data=dict(event.data or {}),
                message_id=event.message_id,
                created_at=event.created_at,
            )
            for event in found.history
        ],
        timeline=[
            TimelineEntryOut(
                at=entry.at,
                kind=entry.kind,
                survey_id=entry.survey_id,
                survey_name=entry.survey_name,
                response_id=entry.response_id,
                invitation_id=entry.invitation_id,
                case_id=entry.case_id,
                score=entry.score,
                text=entry.text,
                details=entry.details,
            )
            for entry in found.timeline
        ],
    )


def encode_cursor(sort: str, key: tuple[Any, ...]) -> str:
    parts = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    return urlsafe_b64encode(json.dumps([sort, *parts]).encode())


def decode_cursor(sort: str, token: str) -> tuple[Any, ...]:
    """The key a cursor holds, checked part by part; 422 for anything this server did not
    give out for this order."""
    try:
        raw = json.loads(urlsafe_b64decode(token))
        if not isinstance(raw, list) or not raw or raw[0] != sort:
            raise ValueError(raw)
        parts = raw[1:]
        shape = {"due": 2, "created": 2, "priority": 3}[sort]
        if len(parts) != shape:
            raise ValueError(parts)
        *head, moment_text, last_id = parts
        moment = datetime.fromisoformat(moment_text)
        if moment.tzinfo is None:
            raise ValueError(moment_text)
        for number in (*head, last_id):
            if isinstance(number, bool) or not isinstance(number, int):
                raise ValueError(number)
        if not 1 <= last_id <= MAX_ID or any(not 0 <= n <= 3 for n in head):
            raise ValueError(parts)
        return (*head, moment, last_id)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise FieldErrors.one(["query", "cursor"], "is not a cursor this server gave out") from None


def _mail_domain(request: Request) -> str:
    state: AppState = request.app.state.cxpulse
    return SmtpSettings.from_settings(state.settings).domain


# -- cases -------------------------------------------------------------------------------------


@router.get(
    "/cases",
    operation_id="listCases",
    summary="List follow-up cases",
    description="`view`: `mine` (assigned to the caller), `team` (of the caller's teams), "
    "`overdue` (new cases past their due time) or `all`. `sort`: `due` (soonest first), "
    "`priority` (most urgent, then soonest due) or `created` (newest first). Pass "
    "`next_cursor` back as `cursor` with the same filters.",
    response_model=CasePage,
    responses=problems(),
)
def list_cases(
    caller: CanReadCases,
    session: DbSession,
    view: CaseView = "all",
    state: Annotated[list[CaseState] | None, Query(max_length=4)] = None,
    priority: CasePriority | None = None,
    survey_id: Annotated[int | None, Query(ge=1, le=MAX_SMALL_ID)] = None,
    sort: CaseSort = "due",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> CasePage:
    after = decode_cursor(sort, cursor) if cursor else None
    now = utc_now()
    try:
        where = cases.inbox_filter(
            session,
            caller.organisation_id,
            view,
            user_id=caller.user_id,
            states=tuple(state or ()),
            priority=priority,
            survey_id=survey_id,
            now=now,
        )
    except Invalid as error:
        raise FieldErrors.one(["query", error.field], error.message) from None
    page = case_store.list_cases(
        session, caller.organisation_id, where, sort=sort, after=after, limit=limit
    )
    return CasePage(
        items=[case_out(row, now) for row in page.items],
        next_cursor=encode_cursor(sort, page.next_key) if page.next_key else None,
    )


@router.post(
    "/cases",
    operation_id="createCase",
    summary="Open a case for an answer",
    description="The due time follows the organisation's SLA in business hours; without an "
    "assignee the case goes round-robin to the team's next member. 409 when the answer has "
    "a case already.",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseDetail,
    responses=problems(404, 409),
)
def create_case(body: CaseCreate, caller: CanWriteCases, session: DbSession) -> CaseDetail:
    case_id = cases.open_case(
        session,
        caller.organisation_id,
        response_id=body.response_id,
        title=body.title,
        priority=body.priority,
        team_id=body.team_id,
        assignee_user_id=body.assignee_user_id,
        author_user_id=caller.user_id,
    )
    if case_id is None:
        raise Conflict("response_id", "the answer has a case already")
    audit.record(session, caller, "create", "case", case_id, {"response_id": body.response_id})
    session.commit()
    return _detail(session, caller.organisation_id, case_id)


@router.post(
    "/cases/bulk",
    operation_id="bulkUpdateCases",
    summary="Change the state, assignee or priority of many cases",
    description=f"Up to {cases.MAX_BULK} cases, all or none: a case that refuses the change "
    "(closing without a reason) refuses the whole call, naming it. Ids that are not the "
    "organisation's cases are listed in `missing`.",
    response_model=BulkOut,
    responses=problems(),
)
def bulk_update_cases(body: BulkUpdate, caller: CanWriteCases, session: DbSession) -> BulkOut:
    changes: dict[str, Any] = {}
    if "assignee_user_id" in body.model_fields_set:
        changes["assignee_user_id"] = body.assignee_user_id
    result = audited_bulk_update(
        session,
        caller,
        body.case_ids,
        body.model_fields_set - {"case_ids"},
        state=body.state,
        resolution_reason=body.resolution_reason,
        priority=body.priority,
        **changes,
    )
    session.commit()
    return BulkOut(updated=result.updated, unchanged=result.unchanged, missing=result.missing)


def audited_bulk_update(
    session: Session,
    caller: Principal,
    case_ids: Collection[int],
    fields: Iterable[str],
    **changes: Any,
) -> cases.BulkResult:
    """``act.cases.bulk_update`` by ``caller``, recorded in the audit log with the ``fields``
    asked for (not committed): the bulk changes of the API and of the inbox page."""
    result = cases.bulk_update(
        session, caller.organisation_id, case_ids, author_user_id=caller.user_id, **changes
    )
    audit.record(
        session,
        caller,
        "bulk_update",
        "case",
        None,
        {"case_ids": result.updated, "fields": sorted(fields)},
    )
    return result


def _inbound_fields(raw: dict[str, Any]) -> dict[str, str]:
    """The fields of a provider's inbound-parse post, whatever it calls them (SendGrid,
    Mailgun, Postmark and plain JSON), as text."""
    lowered = {str(name).lower(): value for name, value in raw.items()}

    def first(*names: str) -> str:
        for name in names:
            value = lowered.get(name)
            if isinstance(value, str) and value:
                return value[:MAX_INBOUND_FIELD]
        return ""

    fields = {
        "from": first("from", "sender"),
        "to": first("to", "recipient", "originalrecipient"),
        "cc": first("cc"),
        "subject": first("subject"),
        "text": first("text", "stripped-text", "body-plain", "textbody", "plain"),
        "message_id": first("message-id", "message_id", "messageid"),
        "in_reply_to": first("in-reply-to", "in_reply_to"),
        "references": first("references"),
    }
    headers = lowered.get("headers")
    parsed: dict[str, str] = {}
    if isinstance(headers, str):  # SendGrid: the raw header block
        message = HeaderParser().parsestr(headers[:MAX_INBOUND_FIELD])
        parsed = {name.lower(): str(value) for name, value in message.items()}
    elif isinstance(headers, list):  # Postmark: [{"Name": ..., "Value": ...}]
        for header in headers[:200]:
            if isinstance(header, dict):
                name, value = header.get("Name"), header.get("Value")
                if isinstance(name, str) and isinstance(value, str):
                    parsed[name.lower()] = value[:MAX_INBOUND_FIELD]
    for field, header in (
        ("message_id", "message-id"),
        ("in_reply_to", "in-reply-to"),
        ("references", "references"),
    ):
        if not fields[field] and header in parsed:
            fields[field] = parsed[header]
    return fields


@router.post(
    "/cases/inbound-email",
    operation_id="receiveCaseEmail",
    summary="A customer's answer to a case email (a mail provider's inbound webhook)",
    description="JSON or form fields as inbound-parse webhooks send them: `from`, `to`, "
    "`subject`, `text`, `message-id`, `in-reply-to`, `references` (or a `headers` block). "
    "Accepted only when `to` holds a case's reply address (`reply+<token>@...`) and "
    "In-Reply-To or References names an email of that case; 404 or 403 otherwise. The "
    "same Message-ID twice is recorded once.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=InboundOut,
    responses=problems(404),
    openapi_extra={"security": []},
)
async def receive_case_email(request: Request, session: DbSession) -> Response:
    # A public door: limited per address like the survey pages, before any work.
    wait = await app_state(request).public_limiter.take_async(
        request.client.host if request.client else "unknown"
    )
    if wait:
        return JSONResponse(
            {"detail": "too many requests from this address; retry later"},
            429,
            headers={"Retry-After": retry_after_header(wait)},
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw: Any
    try:
        if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            raw = {name: value for name, value in form.items() if isinstance(value, str)}
        else:
            raw = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise FieldErrors.one(["body"], "is neither JSON nor form fields") from None
    if not isinstance(raw, dict):
        raise FieldErrors.one(["body"], "must be an object of fields")
    fields = _inbound_fields(raw)
    for required in ("to", "in_reply_to"):
        if not fields[required] and not (required == "in_reply_to" and fields["references"]):
            raise FieldErrors.one(["body", required.replace("_", "-")], "is required")
    try:
        received = cases.receive_email(
            session,
            sender=fields["from"],
            to=", ".join(part for part in (fields["to"], fields["cc"]) if part),
            subject=fields["subject"],
            text=fields["text"],
            message_id=fields["message_id"],
            in_reply_to=fields["in_reply_to"],
            references=fields["references"],
        )
    except cases.InboundRefused as refused:
        return JSONResponse({"detail": refused.message}, status_code=refused.status)
    session.commit()
    answer = InboundOut(accepted=True, duplicate=received.duplicate)
    return JSONResponse(answer.model_dump(), status_code=status.HTTP_202_ACCEPTED)


@router.get(
    "/cases/{case_id}",
    operation_id="getCase",
    summary="A case with its history and the customer's timeline",
    response_model=CaseDetail,
    responses=problems(404),
)
def get_case(case_id: CaseId, caller: CanReadCases, session: DbSession) -> CaseDetail:
    return _detail(session, caller.organisation_id, case_id)


@router.patch(
    "/cases/{case_id}",
    operation_id="updateCase",
    summary="Change a case's state, assignee, team or priority",
    description="States: new → contacted → resolved or wont_fix (a `resolution_reason` is "
    "required to close); a closed case may be reopened as contacted. `resurvey` with "
    "`resolved` invites the customer to the survey again to measure the recovery.",
    response_model=CaseDetail,
    responses=problems(404),
)
def update_case(
    case_id: CaseId, body: CaseUpdate, caller: CanWriteCases, session: DbSession
) -> CaseDetail:
    sent = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("assignee_user_id", "team_id"):
        if name in sent:
            changes[name] = getattr(body, name)
    cases.update_case(
        session,
        caller.organisation_id,
        case_id,
        author_user_id=caller.user_id,
        state=body.state,
        resolution_reason=body.resolution_reason,
        resurvey=body.resurvey,
        priority=body.priority,
        **changes,
    )
    audit.record(session, caller, "update", "case", case_id, {"fields": sorted(sent)})
    session.commit()
    return _detail(session, caller.organisation_id, case_id)


@router.post(
    "/cases/{case_id}/notes",
    operation_id="addCaseNote",
    summary="Add an internal note to a case",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseDetail,
    responses=problems(404),
)
def add_case_note(
    case_id: CaseId, body: NoteCreate, caller: CanWriteCases, session: DbSession
) -> CaseDetail:
    cases.add_note(
        session, caller.organisation_id, case_id, body.body, author_user_id=caller.user_id
    )
    audit.record(session, caller, "note", "case", case_id)
    session.commit()
    return _detail(session, caller.organisation_id, case_id)


@router.post(
    "/cases/{case_id}/replies",
    operation_id="replyToCase",
    summary="Email the customer from a case",
    description="Queued and sent by the worker, threaded with the case's earlier emails; "
    "the customer's answer comes back on the case through the reply address. The first "
    "email marks a new case contacted. 422 when the customer has no address or asked not "
    "to be contacted.",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CaseDetail,
    responses=problems(404),
)
def reply_to_case(
    request: Request, case_id: CaseId, body: ReplyCreate, caller: CanWriteCases, session: DbSession
) -> CaseDetail:
    cases.reply(
        session,
        caller.organisation_id,
        case_id,
        body.body,
        author_user_id=caller.user_id,
        mail_domain=_mail_domain(request),
        subject=body.subject,
    )
    audit.record(session, caller, "reply", "case", case_id)
    session.commit()
    return _detail(session, caller.organisation_id, case_id)


# -- teams -------------------------------------------------------------------------------------


def _team_out(session: DbSession, organisation_id: int, team: Team) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        member_ids=sorted(teams.member_ids(session, organisation_id, [team.id])),
        last_assigned_user_id=team.last_assigned_user_id,
    )


def _saved_team(
    session: Session, caller: Principal, action: str, team: Team, details: dict[str, Any]
) -> TeamOut:
    """Record ``action`` on ``team`` in the audit log, commit, and answer the team as saved."""
    audit.record(session, caller, action, "team", team.id, details)
    session.commit()
    return _team_out(session, caller.organisation_id, team)


@router.get(
    "/teams",
    operation_id="listTeams",
    summary="List the teams that share cases",
    response_model=TeamList,
    tags=["teams"],
    responses=problems(),
)
def list_teams(caller: CanReadCases, session: DbSession) -> TeamList:
    org = caller.organisation_id
    return TeamList(
        items=[_team_out(session, org, team) for team in teams.list_teams(session, org)]
    )


@router.post(
    "/teams",
    operation_id="createTeam",
    summary="Create a team",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamOut,
    tags=["teams"],
    responses=problems(409),
)
def create_team(body: TeamIn, caller: CanManageUsers, session: DbSession) -> TeamOut:
    team = teams.create_team(session, caller.organisation_id, body.name.strip())
    return _saved_team(session, caller, "create", team, {"name": team.name})


@router.patch(
    "/teams/{team_id}",
    operation_id="renameTeam",
    summary="Rename a team",
    response_model=TeamOut,
    tags=["teams"],
    responses=problems(404, 409),
)
def rename_team(
    team_id: TeamId, body: TeamIn, caller: CanManageUsers, session: DbSession
) -> TeamOut:
    team = teams.rename_team(session, caller.organisation_id, team_id, body.name.strip())
    return _saved_team(session, caller, "update", team, {"name": team.name})


@router.delete(
    "/teams/{team_id}",
    operation_id="deleteTeam",
    summary="Delete a team (its cases keep their assignees)",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["teams"],
    responses=problems(404),
)
def delete_team(team_id: TeamId, caller: CanManageUsers, session: DbSession) -> Response:
    teams.delete_team(session, caller.organisation_id, team_id)
    audit.record(session, caller, "delete", "team", team_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/teams/{team_id}/members/{user_id}",
    operation_id="addTeamMember",
    summary="Add a user to a team",
    response_model=TeamOut,
    tags=["teams"],
    responses=problems(404),
)
def add_team_member(
    team_id: TeamId, user_id: UserId, caller: CanManageUsers, session: DbSession
) -> TeamOut:
    teams.add_member(session, caller.organisation_id, team_id, user_id)
    team = teams.get_team(session, caller.organisation_id, team_id)
    return _saved_team(session, caller, "add_member", team, {"user_id": user_id})


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    operation_id="removeTeamMember",
    summary="Remove a user from a team",
    response_model=TeamOut,
    tags=["teams"],
    responses=problems(404),
)
def remove_team_member(
    team_id: TeamId, user_id: UserId, caller: CanManageUsers, session: DbSession
) -> TeamOut:
    teams.remove_member(session, caller.organisation_id, team_id, user_id)
    team = teams.get_team(session, caller.organisation_id, team_id)
    return _saved_team(session, caller, "remove_member", team, {"user_id": user_id})


# -- settings ----------------------------------------------------------------------------------


@router.get(
    "/case-settings",
    operation_id="getCaseSettings",
    summary="The SLA per priority, business hours and time zone of case due times",
    response_model=CaseSettingsOut,
    responses=problems(),
)
def get_case_settings(caller: CanReadCases, session: DbSession) -> CaseSettingsOut:
    return CaseSettingsOut(**cases.settings_view(session, caller.organisation_id))


@router.patch(
    "/case-settings",
    operation_id="updateCaseSettings",
    summary="Change the SLA, business hours or time zone",
    description="Only the fields sent change; cases already open keep their due times.",
    response_model=CaseSettingsOut,
    responses=problems(),
)
def update_case_settings(
    body: CaseSettingsIn, caller: CanManageUsers, session: DbSession
) -> CaseSettingsOut:
    view = cases.update_settings(
        session,
        caller.organisation_id,
        timezone=body.timezone,
        business_hours_document=body.business_hours.model_dump() if body.business_hours else None,
        sla_hours=None
        if body.sla_hours is None
        else {str(k): v for k, v in body.sla_hours.items()},
    )
    audit.record(
        session, caller, "update", "case_settings", None, {"fields": sorted(body.model_fields_set)}
    )
    session.commit()
    return CaseSettingsOut(**view)
