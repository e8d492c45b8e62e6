"""Follow-up questions through API v1: a survey's optional questions after the main score
(ratings of an attribute, one choice, a short text), their results, and the answers of one
response.

Reading the questions needs ``surveys:read``, their results (and what drives the survey's
score among its rating questions, ``report.follow_up_drivers``) ``metrics:read``, a response's
answers ``responses:read``; making, changing, ordering and deleting questions need
``surveys:write``. The rules are ``collect.follow_ups``' (shared with the questions page and
the respondent's form); a question that breaks one is a 422 naming each field at fault.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from cxpulse.collect import follow_up_changes
from cxpulse.collect.follow_ups import InvalidQuestion
from cxpulse.metrics import DEFAULT_LEVEL
from cxpulse.report import follow_up_drivers
from cxpulse.report.follow_up_scores import question_results
from cxpulse.store import response_answers, survey_questions, surveys
from cxpulse.store._values import day_problem
from cxpulse.web import audit
from cxpulse.web.access import (
    CanReadMetrics,
    CanReadResponses,
    CanReadSurveys,
    CanWriteSurveys,
)
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.follow_up_schemas import (
    AnswerList,
    DriversOut,
    QuestionCreate,
    QuestionList,
    QuestionOrder,
    QuestionOut,
    QuestionScores,
    QuestionUpdate,
    answer_out,
    drivers_out,
    question_errors,
    question_out,
    score_out,
)
from cxpulse.web.routes.common import ResponseId, SurveyId, problems
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(prefix="/api/v1", tags=["follow-up questions"])

QuestionId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID, description="The question's id.")]
DEFAULT_DAYS = 90
"""The results' default window: the last 90 days."""


def _dump(body: QuestionCreate | QuestionUpdate, only_sent: bool) -> dict[str, Any]:
    if only_sent:
        return body.model_dump(include=set(body.model_fields_set))
    return body.model_dump()


@router.get(
    "/surveys/{survey_id}/questions",
    operation_id="listFollowUpQuestions",
    summary="List a survey's follow-up questions in asking order",
    response_model=QuestionList,
    responses=problems(404),
)
def list_questions(survey_id: SurveyId, caller: CanReadSurveys, session: DbSession) -> QuestionList:
    org = caller.organisation_id
    surveys.get_survey(session, org, survey_id)
    return QuestionList(
        items=[question_out(q) for q in survey_questions.list_questions(session, org, survey_id)]
    )


@router.post(
    "/surveys/{survey_id}/questions",
    operation_id="createFollowUpQuestion",
    summary="Add a follow-up question",
    description="Asked after the main score, after the survey's other questions; every "
    "follow-up question is optional for the respondent. At most 5 per survey.",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionOut,
    responses=problems(404),
)
def create_question(
    survey_id: SurveyId, body: QuestionCreate, caller: CanWriteSurveys, session: DbSession
) -> QuestionOut:
    try:
        question = follow_up_changes.create_question(
            session, caller.organisation_id, survey_id, _dump(body, only_sent=False)
        )
    except InvalidQuestion as error:
        raise question_errors(error) from None
    details = {"survey_id": survey_id, "key": question.key, "kind": question.kind}
    audit.record(session, caller, "create", "survey_question", question.id, details)
    session.commit()
    return question_out(question)


@router.put(
    "/surveys/{survey_id}/questions/order",
    operation_id="reorderFollowUpQuestions",
    summary="Put a survey's follow-up questions in a new order",
    response_model=QuestionList,
    responses=problems(404),
)
def reorder_questions(
    survey_id: SurveyId, body: QuestionOrder, caller: CanWriteSurveys, session: DbSession
) -> QuestionList:
    org = caller.organisation_id
    surveys.get_survey(session, org, survey_id)
    ordered = survey_questions.reorder(session, org, survey_id, body.ids)
    audit.record(session, caller, "reorder", "survey_question", None, {"ids": body.ids})
    session.commit()
    return QuestionList(items=[question_out(q) for q in ordered])


def _utc_day(value: datetime | None, fallback: datetime, name: str) -> datetime:
    if value is None:
        return fallback
    problem = day_problem(value)
    if problem is not None:
        raise FieldErrors.one(["query", name], problem)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@router.get(
    "/surveys/{survey_id}/questions/scores",
    operation_id="getFollowUpScores",
    summary="Results of a survey's follow-up questions",
    description="Over the responses submitted in [since, until) (default: the last 90 "
    "days). Ratings: the top-box share (top two points, Wilson interval, as CSAT is "
    "scored) and the mean (t interval), each with n. Choices: count and share of each "
    "choice with its Wilson interval. Texts: how many answered.",
    response_model=QuestionScores,
    responses=problems(404),
)
def question_scores(
    survey_id: SurveyId,
    caller: CanReadMetrics,
    session: DbSession,
    since: Annotated[datetime | None, Query(description="Start (UTC when no zone).")] = None,
    until: Annotated[datetime | None, Query(description="End, excluded; default now.")] = None,
) -> QuestionScores:
    org = caller.organisation_id
    surveys.get_survey(session, org, survey_id)
    start, end = _window(since, until)
    results = question_results(session, org, survey_id, since=start, until=end)
    return QuestionScores(
        survey_id=survey_id, since=start, until=end, items=[score_out(r) for r in results]
    )


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until) of the query, by default the last ``DEFAULT_DAYS`` days."""
    end = _utc_day(until, datetime.now(UTC), "until")
    start = _utc_day(since, end - timedelta(days=DEFAULT_DAYS), "since")
    if start >= end:
        raise FieldErrors.one(["query", "since"], "must be before until")
    return start, end


@router.get(
    "/surveys/{survey_id}/questions/drivers",
    operation_id="getFollowUpDrivers",
    summary="What drives a survey's score among its rating questions",
    description="A key-driver analysis of the survey's score on its rating questions over "
    "the responses submitted in [since, until) (default: the last 90 days) that answered "
    "every rating question (the latest 50,000): Johnson's relative weights and Shapley "
    "values of R², with percentile bootstrap intervals (500 seeded resamples, so the same "
    "answers give the same intervals). Without a table (fewer than 2 rating questions, "
    "fewer than 30 complete answers, a score or rating that does not vary) `rows` is empty "
    "and `reason` says why.",
    response_model=DriversOut,
    responses=problems(404),
)
def question_drivers(
    survey_id: SurveyId,
    caller: CanReadMetrics,
    session: DbSession,
    since: Annotated[datetime | None, Query(description="Start (UTC when no zone).")] = None,
    until: Annotated[datetime | None, Query(description="End, excluded; default now.")] = None,
    level: Annotated[
        float, Query(ge=0.5, le=0.999, description="Confidence level of the intervals.")
    ] = DEFAULT_LEVEL,
) -> DriversOut:
    org = caller.organisation_id
    survey = surveys.get_survey(session, org, survey_id)
    start, end = _window(since, until)
    found = follow_up_drivers.survey_drivers(
        session, org, survey, since=start, until=end, level=level
    )
    return drivers_out(survey_id, start, end, found)


@router.get(
    "/surveys/{survey_id}/questions/{question_id}",
    operation_id="getFollowUpQuestion",
    summary="Get a follow-up question",
    response_model=QuestionOut,
    responses=problems(404),
)
def get_question(
    survey_id: SurveyId, question_id: QuestionId, caller: CanReadSurveys, session: DbSession
) -> QuestionOut:
    question = survey_questions.get_question(
        session, caller.organisation_id, survey_id, question_id
    )
    return question_out(question)


@router.patch(
    "/surveys/{survey_id}/questions/{question_id}",
    operation_id="updateFollowUpQuestion",
    summary="Change a follow-up question",
    description="Only the fields sent change; the question is checked as a whole. Answers "
    "already given stay with the question.",
    response_model=QuestionOut,
    responses=problems(404),
)
def update_question(
    survey_id: SurveyId,
    question_id: QuestionId,
    body: QuestionUpdate,
    caller: CanWriteSurveys,
    session: DbSession,
) -> QuestionOut:
    changes = _dump(body, only_sent=True)
    try:
        question = follow_up_changes.update_question(
            session, caller.organisation_id, survey_id, question_id, changes
        )
    except InvalidQuestion as error:
        raise question_errors(error) from None
    audit.record(
        session, caller, "update", "survey_question", question.id, {"fields": sorted(changes)}
    )
    session.commit()
    return question_out(question)


@router.delete(
    "/surveys/{survey_id}/questions/{question_id}",
    operation_id="deleteFollowUpQuestion",
    summary="Delete a follow-up question",
    description="Its answers go with it.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_question(
    survey_id: SurveyId, question_id: QuestionId, caller: CanWriteSurveys, session: DbSession
) -> Response:
    deleted = survey_questions.delete_question(
        session, caller.organisation_id, survey_id, question_id
    )
    audit.record(session, caller, "delete", "survey_question", question_id, {"key": deleted.key})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/responses/{response_id}/answers",
    operation_id="listResponseAnswers",
    summary="A response's answers to follow-up questions",
    description="In the order the survey asks its questions; unanswered questions are left out.",
    response_model=AnswerList,
    responses=problems(404),
)
def response_answers_list(
    response_id: ResponseId, caller: CanReadResponses, session: DbSession
) -> AnswerList:
    org = caller.organisation_id
    response_answers.response_survey(session, org, response_id)
    found = response_answers.answers_of(session, org, [response_id])[response_id]
    return AnswerList(response_id=response_id, items=[answer_out(a) for a in found])
