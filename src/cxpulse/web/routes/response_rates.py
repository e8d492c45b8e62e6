"""Response and comment rates of a survey's invitations, per period of sending and channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cxpulse.collect.rates import response_rates
from cxpulse.engine.periods import PeriodName
from cxpulse.store import surveys
from cxpulse.store.invitation_counts import InvitationCounts
from cxpulse.web.access import CanReadMetrics
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import SurveyId, problems

router = APIRouter(tags=["invitations"])


class RateOut(BaseModel):
    value: float | None
    low: float | None
    high: float | None


# The counts are the store's own fields, in its order: pydantic reads a dataclass as it reads
# a model, so a count added there reaches the API without a second list. No docstring: the
# schema would take it as its description.
@dataclass(frozen=True)
class RateRowOut(InvitationCounts):
    response_rate: Annotated[
        RateOut, Field(description="answered / sent, with a 95% Wilson interval.")
    ]
    comment_rate: Annotated[
        RateOut, Field(description="commented / answered, with a Wilson interval.")
    ]


class RatesOut(BaseModel):
    survey_id: int
    period: str
    rows: list[RateRowOut]


@router.get(
    "/api/v1/surveys/{survey_id}/response-rates",
    operation_id="getResponseRates",
    summary="Response and comment rates of a survey's invitations",
    description="Per period of sending and channel; rates carry a 95% Wilson interval.",
    response_model=RatesOut,
    responses=problems(404),
)
def get_response_rates(
    survey_id: SurveyId,
    caller: CanReadMetrics,
    session: DbSession,
    period: Annotated[PeriodName, Query()] = "month",
) -> RatesOut:
    surveys.get_survey(session, caller.organisation_id, survey_id)
    rows = response_rates(session, caller.organisation_id, survey_id, period=period)
    return RatesOut.model_validate(
        {"survey_id": survey_id, "period": period, "rows": [r.to_document() for r in rows]}
    )
