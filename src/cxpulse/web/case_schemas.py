"""Bodies and answers of the follow-up case API (``routes/cases_api.py``).

Texts are checked by ``act.cases`` (the same rule for the API and the pages); here only
their types and lengths.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from cxpulse.act.cases import MAX_BULK, MAX_TEXT
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID, Body, Id, Name100

CaseState = Literal["new", "contacted", "resolved", "wont_fix"]
CasePriority = Literal["low", "normal", "high", "urgent"]
CaseView = Literal["all", "mine", "team", "overdue"]
CaseSort = Literal["due", "priority", "created"]
UserRef = Annotated[int, Field(strict=True, ge=1, le=MAX_SMALL_ID)]
CaseText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Subject = Annotated[str, StringConstraints(min_length=1, max_length=200)]
SlaHours = Annotated[float, Field(strict=True, gt=0, le=2000, allow_inf_nan=False)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Weekday = Annotated[int, Field(strict=True, ge=0, le=6)]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class CaseCreate(Body):
    """A case opened by a person for one answer (a rule opens the others)."""

    response_id: Id
    title: Title | None = None
    priority: CasePriority = "normal"
    team_id: UserRef | None = Field(None, description="Without an assignee: round-robin within.")
    assignee_user_id: UserRef | None = None


class CaseUpdate(Body):
    """Only the fields sent change; `assignee_user_id` and `team_id` may be null."""

    state: CaseState | None = None
    resolution_reason: CaseText | None = Field(
        None, description="Required to close a case (resolved or wont_fix)."
    )
    resurvey: StrictBool = Field(
        False,
        description="With state resolved: invite the customer to the same survey again, to "
        "measure the recovery (the throttle is bypassed for this one invitation).",
    )
    assignee_user_id: UserRef | None = None
    team_id: UserRef | None = None
    priority: CasePriority | None = None


class NoteCreate(Body):
    body: CaseText


class ReplyCreate(Body):
    body: CaseText
    subject: Subject | None = Field(None, description="Default: Your feedback to <organisation>.")


class BulkUpdate(Body):
    """One change for many cases: all of them or none."""

    case_ids: list[Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=MAX_BULK
    )
    state: CaseState | None = None
    resolution_reason: CaseText | None = None
    assignee_user_id: UserRef | None = None
    priority: CasePriority | None = None


class BulkOut(BaseModel):
    updated: list[int]
    unchanged: list[int]
    missing: list[int] = Field(description="Ids that are no case of the organisation.")


class CaseOut(BaseModel):
    id: int
    survey_id: int | None
    response_id: int | None
    contact_id: int | None
    rule_id: int | None
    team_id: int | None
    assignee_user_id: int | None
    title: str
    state: CaseState
    priority: CasePriority
    due_at: datetime | None
    overdue: bool = Field(description="New (no first contact yet) and past its due time.")
    first_contact_at: datetime | None
    closed_at: datetime | None
    resolution_reason: str | None
    resurvey_invitation_id: int | None
    recovery_score: float | None
    created_at: datetime
    updated_at: datetime


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class CaseEventOut(BaseModel):
    id: int
    kind: str
    author_user_id: int | None
    body: str | None
    data: dict[str, Any]
    message_id: str | None
    created_at: datetime


class AnswerOut(BaseModel):
    id: int
    survey_id: int
    score: float
    comment: str | None = Field(description="Personal data in it replaced (redaction).")
    channel: str | None
    submitted_at: datetime


class TimelineEntryOut(BaseModel):
    at: datetime
    kind: str
    survey_id: int | None
    survey_name: str | None
    response_id: int | None
    invitation_id: int | None
    case_id: int | None
    score: float | None
    text: str | None = Field(description="Personal data in it replaced (redaction).")
    details: dict[str, Any]


class CaseDetail(CaseOut):
    answer: AnswerOut | None
    events: list[CaseEventOut]
    timeline: list[TimelineEntryOut] = Field(
        description="The customer's history across surveys, oldest first."
    )


class InboundOut(BaseModel):
    accepted: bool
    duplicate: bool


class TeamIn(Body):
    name: Name100


class TeamOut(BaseModel):
    id: int
    name: str
    member_ids: list[int]
    last_assigned_user_id: int | None


class TeamList(BaseModel):
    items: list[TeamOut]


class BusinessHoursIn(Body):
    days: list[Weekday] = Field(min_length=1, max_length=7, examples=[[0, 1, 2, 3, 4]])
    start: Clock = Field(examples=["09:00"])
    end: Clock = Field(examples=["17:00"])


class CaseSettingsIn(Body):
    """Only the fields sent change; open cases keep their due times."""

    timezone: Zone | None = Field(None, examples=["Europe/Stockholm"])
    business_hours: BusinessHoursIn | None = None
    sla_hours: dict[CasePriority, SlaHours] | None = Field(
        None,
        description="Business hours to first contact per priority; the others keep theirs.",
        examples=[{"urgent": 2, "high": 8}],
    )


class CaseSettingsOut(BaseModel):
    timezone: str
    business_hours: dict[str, Any]
    sla_hours: dict[str, float]
