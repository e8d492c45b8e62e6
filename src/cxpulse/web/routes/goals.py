"""Goals (baseline, target, due date) and monthly report schedules through API v1.

Every goal comes back with its current value, progress and forecast, computed from the store
at request time (``act.goals.goal_report``: two grouped queries per goal).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from cxpulse.act import goals
from cxpulse.report import monthly
from cxpulse.store.models import Goal, ReportSchedule
from cxpulse.web import audit
from cxpulse.web.access import CanReadSurveys, CanWriteSurveys
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.schemas import MAX_SMALL_ID, Body, MetricName, Name200, Text200

router = APIRouter(prefix="/api/v1/surveys/{survey_id}", tags=["goals"])

GoalId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The goal's id.")]
Value = Annotated[float, Field(strict=True, ge=-1000, le=1000, allow_inf_nan=False)]
SegmentName = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Segment = Annotated[
    dict[SegmentName, Text200],
    Field(
        max_length=10,
        description="Filters the goal applies to: channel, touchpoint, language, source, "
        "property:<name> or contact:<name>; empty for the whole survey.",
        examples=[{"channel": "email"}],
    ),
]
Email = Annotated[str, StringConstraints(min_length=3, max_length=320)]
_IN = ConfigDict(extra="forbid")
METRIC_HELP = (
    "What the goal aims at; default: the survey's metric. A CSAT or DSAT survey also takes "
    "the other of the two and mean, an NPS survey mean."
)


class GoalCreate(Body):
    """Either ``months`` (3 or 6 are usual) or ``due_date``; without ``baseline`` today's
    value (the last 30 days) becomes the baseline."""

    model_config = _IN
    name: Name200 = Field(examples=["CSAT to 85% by spring", "NPS to +30 by June"])
    metric: MetricName | None = Field(None, description=METRIC_HELP)
    target: Value = Field(examples=[85])
    months: Annotated[int, Field(strict=True, ge=1, le=goals.MAX_MONTHS)] | None = Field(
        None, examples=[3]
    )
    due_date: date | None = None
    baseline: Value | None = None
    baseline_date: date | None = None
    segment: Segment = Field(default_factory=dict)


class GoalUpdate(Body):
    """Only the fields sent change."""

    model_config = _IN
    name: Name200 | None = None
    metric: MetricName | None = Field(None, description=METRIC_HELP)
    target: Value | None = None
    due_date: date | None = None
    baseline: Value | None = None
    baseline_date: date | None = None
    segment: Segment | None = None


class ForecastOut(BaseModel):
    status: Literal["on track", "at risk", "off track", "met", "missed", "not enough data"]
    due_date: date
    value: float | None = Field(description="The trend's value at the due date.")
    ci_low: float | None
    ci_high: float | None
    slope_per_month: float | None = Field(description="Change per 30 days at the trend.")
    weeks: int = Field(description="Weeks with answers the trend was fitted on.")
    reason: str | None = Field(
        None,
        description="Why there is no forecast, in words: fewer than 4 weeks with answers, or "
        "a due date further ahead than the history behind the trend (a line is read no "
        "further ahead than the weeks it was fitted on).",
    )


class GoalOut(BaseModel):
    id: int
    survey_id: int
    name: str
    metric: str
    segment: dict[str, str]
    baseline: float
    baseline_date: date
    target: float
    due_date: date
    current: float | None = Field(description="The score over the last 30 days.")
    current_n: int
    progress: float | None = Field(
        description="Percent of the way from baseline to target (may be negative or > 100)."
    )
    forecast: ForecastOut


class GoalList(BaseModel):
    items: list[GoalOut]


class ScheduleIn(Body):
    model_config = _IN
    emails: list[Email] = Field(
        min_length=1, max_length=monthly.MAX_RECIPIENTS, examples=[["cx-team@example.com"]]
    )
    language: Annotated[str, StringConstraints(min_length=2, max_length=35)] = "en"
    active: StrictBool = True


class ScheduleOut(BaseModel):
    id: int
    survey_id: int
    emails: list[str]
    language: str
    active: bool
    last_month_sent: str | None = Field(
        description="The last month (YYYY-MM) whose report was queued."
    )


def goal_out(report: goals.GoalReport) -> GoalOut:
    goal: Goal = report.goal
    assessment = report.assessment
    return GoalOut(
        id=goal.id,
        survey_id=goal.survey_id,
        name=goal.name,
        metric=report.metric,
        segment=dict(goal.segment or {}),
        baseline=goal.baseline,
        baseline_date=goal.baseline_date,
        target=goal.target,
        due_date=goal.due_date,
        current=assessment.current,
        current_n=assessment.current_n,
        progress=assessment.progress,
        forecast=ForecastOut(**assessment.forecast.to_dict()),
    )


def schedule_out(schedule: ReportSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        survey_id=schedule.survey_id,
        emails=list((schedule.recipients or {}).get("emails", [])),
        language=schedule.language,
        active=schedule.active,
        last_month_sent=schedule.last_month_sent,
    )


@router.get(
    "/goals",
    operation_id="listGoals",
    summary="List a survey's goals with progress and forecast",
    response_model=GoalList,
    responses=problems(404),
)
def list_goals(survey_id: SurveyId, caller: CanReadSurveys, session: DbSession) -> GoalList:
    org = caller.organisation_id
    found = goals.list_goals(session, org, survey_id)
    return GoalList(items=[goal_out(goals.goal_report(session, org, goal)) for goal in found])


@router.post(
    "/goals",
    operation_id="createGoal",
    summary="Set a goal",
    description="`months` (3 or 6) sets the due date that far from today; without "
    "`baseline`, today's value (last 30 days) is the baseline.",
    status_code=status.HTTP_201_CREATED,
    response_model=GoalOut,
    responses=problems(404),
)
def create_goal(
    survey_id: SurveyId, body: GoalCreate, caller: CanWriteSurveys, session: DbSession
) -> GoalOut:
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    goal = goals.create_goal(session, caller.organisation_id, survey_id, **fields)
    audit.record(session, caller, "create", "goal", goal.id, {"survey_id": survey_id})
    session.commit()
    return goal_out(goals.goal_report(session, caller.organisation_id, goal))


@router.get(
    "/goals/{goal_id}",
    operation_id="getGoal",
    summary="Get a goal with its progress and forecast",
    response_model=GoalOut,
    responses=problems(404),
)
def get_goal(
    survey_id: SurveyId, goal_id: GoalId, caller: CanReadSurveys, session: DbSession
) -> GoalOut:
    org = caller.organisation_id
    return goal_out(
        goals.goal_report(session, org, goals.get_goal(session, org, survey_id, goal_id))
    )


@router.patch(
    "/goals/{goal_id}",
    operation_id="updateGoal",
    summary="Change a goal",
    response_model=GoalOut,
    responses=problems(404),
)
def update_goal(
    survey_id: SurveyId,
    goal_id: GoalId,
    body: GoalUpdate,
    caller: CanWriteSurveys,
    session: DbSession,
) -> GoalOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    goal = goals.update_goal(session, caller.organisation_id, survey_id, goal_id, **changes)
    audit.record(session, caller, "update", "goal", goal.id, {"fields": sorted(changes)})
    session.commit()
    return goal_out(goals.goal_report(session, caller.organisation_id, goal))


@router.delete(
    "/goals/{goal_id}",
    operation_id="deleteGoal",
    summary="Delete a goal",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_goal(
    survey_id: SurveyId, goal_id: GoalId, caller: CanWriteSurveys, session: DbSession
) -> Response:
    goals.delete_goal(session, caller.organisation_id, survey_id, goal_id)
    audit.record(session, caller, "delete", "goal", goal_id, {"survey_id": survey_id})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/report-schedule",
    operation_id="getReportSchedule",
    summary="Who receives the survey's monthly report",
    response_model=ScheduleOut,
    responses=problems(404),
)
def get_report_schedule(
    survey_id: SurveyId, caller: CanReadSurveys, session: DbSession
) -> ScheduleOut:
    return schedule_out(monthly.get_schedule(session, caller.organisation_id, survey_id))


@router.put(
    "/report-schedule",
    operation_id="putReportSchedule",
    summary="Set the recipients of the survey's monthly report",
    description="The report of each month is e-mailed on the first of the next month. A new "
    "schedule starts with the month under way.",
    response_model=ScheduleOut,
    responses=problems(404),
)
def put_report_schedule(
    survey_id: SurveyId, body: ScheduleIn, caller: CanWriteSurveys, session: DbSession
) -> ScheduleOut:
    schedule = monthly.put_schedule(
        session,
        caller.organisation_id,
        survey_id,
        emails=body.emails,
        language=body.language,
        active=body.active,
    )
    audit.record(
        session, caller, "update", "report_schedule", schedule.id, {"survey_id": survey_id}
    )
    session.commit()
    return schedule_out(schedule)


@router.delete(
    "/report-schedule",
    operation_id="deleteReportSchedule",
    summary="Stop e-mailing the survey's monthly report",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_report_schedule(
    survey_id: SurveyId, caller: CanWriteSurveys, session: DbSession
) -> Response:
    monthly.delete_schedule(session, caller.organisation_id, survey_id)
    audit.record(session, caller, "delete", "report_schedule", survey_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
