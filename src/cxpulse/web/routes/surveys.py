"""Surveys: create, list, read, change, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from cxpulse.act import goals
from cxpulse.store import surveys
from cxpulse.store.models import Survey
from cxpulse.web import audit
from cxpulse.web.access import CanDeleteSurveys, CanReadSurveys, CanWriteSurveys
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.schemas import SurveyCreate, SurveyList, SurveyOut, SurveyStatus, SurveyUpdate

router = APIRouter(prefix="/api/v1/surveys", tags=["surveys"])


def survey_out(survey: Survey) -> SurveyOut:
    return SurveyOut(
        id=survey.id,
        slug=survey.slug,
        name=survey.name,
        metric=survey.metric,
        scale=survey.scale.name,
        scale_low=survey.scale_low,
        scale_high=survey.scale_high,
        top_min=survey.top_min,
        bottom_max=survey.bottom_max,
        questions=survey.questions,
        default_language=survey.default_language,
        touchpoint=survey.touchpoint,
        status=survey.status,
        presentation=survey.presentation,
        collect_options=survey.collect_options,
        throttle_days=survey.throttle_days,
        reminder_days=survey.reminder_days,
        created_at=survey.created_at,
        updated_at=survey.updated_at,
    )


@router.get(
    "",
    operation_id="listSurveys",
    summary="List surveys",
    response_model=SurveyList,
    responses=problems(),
)
def list_surveys(
    caller: CanReadSurveys,
    session: DbSession,
    status_: Annotated[SurveyStatus | None, Query(alias="status")] = None,
) -> SurveyList:
    found = surveys.list_surveys(session, caller.organisation_id, status=status_)
    return SurveyList(items=[survey_out(s) for s in found])


@router.post(
    "",
    operation_id="createSurvey",
    summary="Create a survey",
    status_code=status.HTTP_201_CREATED,
    response_model=SurveyOut,
    responses=problems(409),
)
def create_survey(body: SurveyCreate, caller: CanWriteSurveys, session: DbSession) -> SurveyOut:
    fields: dict[str, Any] = body.model_dump(exclude_none=True)
    if body.questions is not None:
        fields["questions"] = {
            language: text.model_dump(exclude_none=True)
            for language, text in body.questions.items()
        }
    survey = surveys.create_survey(session, caller.organisation_id, **fields)
    audit.record(session, caller, "create", "survey", survey.id, {"slug": survey.slug})
    session.commit()
    return survey_out(survey)


@router.get(
    "/{survey_id}",
    operation_id="getSurvey",
    summary="Get a survey",
    response_model=SurveyOut,
    responses=problems(404),
)
def get_survey(survey_id: SurveyId, caller: CanReadSurveys, session: DbSession) -> SurveyOut:
    return survey_out(surveys.get_survey(session, caller.organisation_id, survey_id))


@router.patch(
    "/{survey_id}",
    operation_id="updateSurvey",
    summary="Change a survey",
    description="Only the fields sent change. The scale cannot change once responses exist, "
    "nor the metric while goals are set on it (409).",
    response_model=SurveyOut,
    responses=problems(404, 409),
)
def update_survey(
    survey_id: SurveyId, body: SurveyUpdate, caller: CanWriteSurveys, session: DbSession
) -> SurveyOut:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if "questions" in changes and body.questions is not None:
        changes["questions"] = {
            language: text.model_dump(exclude_none=True)
            for language, text in body.questions.items()
        }
    goals.check_survey_metric_change(
        session, caller.organisation_id, survey_id, changes.get("metric")
    )
    survey = surveys.update_survey(session, caller.organisation_id, survey_id, **changes)
    audit.record(session, caller, "update", "survey", survey.id, {"fields": sorted(changes)})
    session.commit()
    return survey_out(survey)


@router.delete(
    "/{survey_id}",
    operation_id="deleteSurvey",
    summary="Delete a survey with all its responses",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_survey(survey_id: SurveyId, caller: CanDeleteSurveys, session: DbSession) -> Response:
    survey = surveys.get_survey(session, caller.organisation_id, survey_id)
    slug = survey.slug
    surveys.delete_survey(session, caller.organisation_id, survey_id)
    audit.record(session, caller, "delete", "survey", survey_id, {"slug": slug})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
