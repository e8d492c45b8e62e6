"""Scores of a survey, counted by one GROUP BY inside the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from cxpulse.engine.periods import PeriodName
from cxpulse.metrics.scores import DEFAULT_LEVEL
from cxpulse.report.score_table import document_head
from cxpulse.store import metrics_query, segment_values, surveys
from cxpulse.store.errors import Invalid
from cxpulse.web.access import CanReadMetrics
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import invalid_errors
from cxpulse.web.filters import SEGMENT_FILTER_HELP, ScoreFilters
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.schemas import MetricsOut, clean_text
from cxpulse.web.state import app_state

router = APIRouter(prefix="/api/v1", tags=["metrics"])

MAX_GROUP_BY = 4

GroupBy = Annotated[
    list[str] | None,
    Query(
        max_length=MAX_GROUP_BY,
        description="Group by channel, touchpoint, language, source, property:<name> or "
        "contact:<attribute>; repeat for several (at most 4).",
    ),
]


@router.get(
    "/surveys/{survey_id}/metrics",
    operation_id="getSurveyMetrics",
    summary="Score a survey",
    description="The survey's metric (CSAT, DSAT, NPS, CES or mean) with its confidence "
    "interval, n and band counts: first the overall row (`group` {}), then one row per group. "
    "Rows have the same shape as `cxpulse score --format json`. " + SEGMENT_FILTER_HELP,
    response_model=MetricsOut,
    responses=problems(404),
)
def get_survey_metrics(
    survey_id: SurveyId,
    request: Request,
    caller: CanReadMetrics,
    session: DbSession,
    scoring: ScoreFilters,
    group_by: GroupBy = None,
    period: Annotated[
        PeriodName | None,
        Query(description="Also group by this calendar period (UTC); its label comes first."),
    ] = None,
    level: Annotated[
        float, Query(ge=0.5, le=0.999, description="Confidence level of the intervals.")
    ] = DEFAULT_LEVEL,
    min_n: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="Groups with fewer answers are flagged too small."),
    ] = None,
) -> dict[str, Any]:
    organisation_id = caller.organisation_id
    survey = surveys.get_survey(session, organisation_id, survey_id)
    dimensions = list(group_by or [])
    for dimension in dimensions:
        try:
            clean_text(dimension)
        except ValueError as error:
            raise invalid_errors(Invalid("group_by", str(error)), ("query",)) from None
    filters = segment_values.resolve_for_survey(
        session,
        organisation_id,
        survey_id,
        scoring,
    )
    spec = survey.metric_spec(level=level, min_n=min_n or app_state(request).settings.min_n)
    try:
        rows = metrics_query.score_rows(
            session,
            organisation_id,
            survey_id,
            filters=filters,
            spec=spec,
            group_by=dimensions,
            period=period,
        )
    except Invalid as error:
        raise invalid_errors(error, ("query",)) from None
    return {**document_head(survey.metric, spec), "rows": rows}
