"""A survey's follow-up figures through API v1: the numbers of the dashboard's "Follow-ups"
panel and of the overview's card (``report.loop_figures``), for the same periods."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cxpulse.report import dashboard
from cxpulse.report.comparison_windows import (
    DEFAULT_COMPARISON,
    LABELS,
    Comparison,
    comparison_windows,
)
from cxpulse.store import _values as values
from cxpulse.store import surveys
from cxpulse.web.access import CanReadMetrics
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.routes.dashboard import utc_today
from cxpulse.web.state import app_state

router = APIRouter(prefix="/api/v1", tags=["follow-ups"])


class TimeOut(BaseModel):
    median_hours: float | None = Field(description="Median time in hours; null without cases.")
    p90_hours: float | None = Field(description="90th percentile in hours.")
    n: int = Field(description="Cases it is counted from.")
    too_small: bool = Field(description="Fewer cases than the minimum n: too few to read.")


class ShareOut(BaseModel):
    value: float | None = Field(description="Percent, 0 to 100; null when n is 0.")
    ci_low: float | None
    ci_high: float | None
    part: int
    n: int
    level: float
    method: str = Field(description="wilson")
    too_small: bool


class BandShareOut(ShareOut):
    band: str = Field(description='The band counted, such as "Detractors 0–6".')


class MeanOut(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    level: float
    method: str = Field(description="t")
    too_small: bool


class LoopFiguresOut(BaseModel):
    survey_id: int
    start: date = Field(description="First day of the period, inclusive (UTC).")
    end: date = Field(description="Day after the period's last (UTC).")
    period: str = Field(examples=["Last 30 days"])
    cases: int = Field(description="Cases opened in the period.")
    open: int = Field(description="Of them, those still new or contacted.")
    time_to_first_contact: TimeOut
    time_to_resolution: TimeOut = Field(description="To resolved or won't fix.")
    sla_breaches: ShareOut = Field(
        description="Cases first contacted after their due time, or not contacted when it "
        "passed, of the cases with a due time."
    )
    closed_loop_rate: BandShareOut = Field(
        description="The period's answers in the survey's bottom band whose case is closed "
        "(resolved or won't fix), of all the period's answers in that band."
    )
    recovery_rate: BandShareOut = Field(
        description="Re-surveyed cases whose re-survey score is in the survey's top band."
    )
    recovery_mean: MeanOut = Field(description="The mean re-survey score.")
    min_n: int


@router.get(
    "/surveys/{survey_id}/loop-figures",
    operation_id="getSurveyLoopFigures",
    summary="Follow-up figures of a survey",
    description="Time to first contact and to resolution (median and 90th percentile in "
    "hours), SLA breaches, the closed-loop rate and the recovery rate, each proportion with "
    "its Wilson interval and every figure with its n, for the cases opened in the period "
    "(the last 30 days by default, ending today) and the answers submitted in it: the "
    "numbers of the dashboard's Follow-ups panel.",
    response_model=LoopFiguresOut,
    responses=problems(404),
)
def get_loop_figures(
    survey_id: SurveyId,
    request: Request,
    caller: CanReadMetrics,
    session: DbSession,
    compare: Annotated[
        Comparison,
        Query(description="The period, as on the dashboard: week, 30d, mtd, quarter or year."),
    ] = DEFAULT_COMPARISON,
    to: Annotated[
        date | None, Query(description="Last day of the period, inclusive; default today (UTC).")
    ] = None,
) -> dict[str, Any]:
    if to is not None and (problem := values.day_problem(to)) is not None:
        raise FieldErrors.one(["query", "to"], problem)
    survey = surveys.get_survey(session, caller.organisation_id, survey_id)
    window = comparison_windows(compare, to or utc_today()).current
    figures = dashboard.follow_ups(
        session,
        caller.organisation_id,
        survey,
        window,
        min_n=app_state(request).settings.min_n,
    )
    assert figures is not None  # asked without shown_only
    return {
        "survey_id": survey.id,
        "start": window.start,
        "end": window.end,
        "period": LABELS[compare],
        **figures.to_dict(),
    }
