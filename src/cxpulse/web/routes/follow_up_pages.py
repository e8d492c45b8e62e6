"""The questions page of a survey, plain HTML forms that work without JavaScript:

- ``/app/surveys/{id}/questions``: the survey's follow-up questions in asking order, each
  with its results over the last 90 days (a rating's top-box share and mean with intervals
  and n, a choice's shares with intervals), buttons to move it up or down and to delete it,
  and the form to add one;
- ``/app/surveys/{id}/questions/{question_id}``: a question's form, to change it.

Under the questions, "What drives the score": the key-driver table of the survey's score on
its rating questions over the same 90 days (``report.follow_up_drivers``, as the API's
``questions/drivers``), one sentence for a manager on top, or why there is no table.

Labels are asked in the survey's languages (``follow_up_forms.survey_languages``). The rules
and writes are ``collect.follow_up_changes``' and the results ``report.follow_up_scores``',
shared with the API. Reading needs ``surveys:read`` (the results ``metrics:read``); changing
``surveys:write``. A refused form comes back 422 with each message by its field and the
values kept; every change is audited.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse import i18n
from cxpulse.collect import follow_up_changes
from cxpulse.collect.follow_ups import KEY_RULE, MAX_QUESTIONS, InvalidQuestion, label_in
from cxpulse.metrics import format_value
from cxpulse.report.follow_up_drivers import SurveyDrivers, survey_drivers
from cxpulse.report.follow_up_scores import question_results
from cxpulse.store import survey_questions
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Survey, SurveyQuestion
from cxpulse.web import audit, follow_up_forms
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, page_survey, problem_page, render
from cxpulse.web.routes.page_access import allowed_survey, permitted_survey_page
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(include_in_schema=False)

SurveyPath = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
QuestionPath = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
RESULT_DAYS = 90
KIND_WORDS = {"rating": "Rating", "choice": "One choice", "text": "Short text"}
NOTICES = {
    "saved": "Saved.",
    "deleted": "The question was deleted.",
    "moved": "The order was changed.",
}


def _base(survey_id: int) -> str:
    return f"/app/surveys/{survey_id}/questions"


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such question in this survey.")


def _results(session: Session, caller: Principal, survey: Survey) -> dict[int, dict[str, Any]]:
    """Each question's results, worded for the page (empty without ``metrics:read``)."""
    if Permission.METRICS_READ not in caller.permissions:
        return {}
    until = datetime.now(UTC)
    found = question_results(
        session,
        caller.organisation_id,
        survey.id,
        since=until - timedelta(days=RESULT_DAYS),
        until=until,
    )
    worded: dict[int, dict[str, Any]] = {}
    for result in found:
        question = result.question
        entry: dict[str, Any] = {"n": result.n, "shares": []}
        if result.top_box is not None and result.mean is not None and result.n:
            top, average = result.top_box, result.mean
            entry["top"] = (
                f"{format_value(top.value)} % in the top two "
                f"({format_value(top.ci_low)}–{format_value(top.ci_high)})"
            )
            entry["mean"] = (
                f"mean {format_value(average.value, 2)} "
                f"({format_value(average.ci_low, 2)}–{format_value(average.ci_high, 2)})"
            )
            entry["too_small"] = top.too_small
        for share in result.choices:
            label = next(
                (
                    label_in(
                        c.get("labels") or {}, survey.default_language, survey.default_language
                    )
                    for c in question.choices or []
                    if c.get("key") == share.key
                ),
                share.key,
            )
            entry["shares"].append(
                {
                    "label": label,
                    "count": share.count,
                    "share": format_value(share.share),
                    "interval": f"{format_value(share.ci_low)}–{format_value(share.ci_high)}"
                    if result.n
                    else "",
                    "width": 0 if not result.n else round(share.share),
                }
            )
        worded[question.id] = entry
    return worded


def _percent(value: float | None) -> str:
    return format_value(None if value is None else value * 100, 0)


def _drivers(session: Session, caller: Principal, survey: Survey) -> dict[str, Any] | None:
    """What drives the survey's score, worded for the page: None without ``metrics:read`` or
    without any rating question."""
    if Permission.METRICS_READ not in caller.permissions:
        return None
    until = datetime.now(UTC)
    found = survey_drivers(
        session,
        caller.organisation_id,
        survey,
        since=until - timedelta(days=RESULT_DAYS),
        until=until,
    )
    if not found.questions:
        return None
    worded: dict[str, Any] = {
        "reason": found.reason_text,
        "rows": [],
        "n": f"{found.n:,}",
        "left_out": f"{found.left_out:,}" if found.left_out else "",
        "complete": f"{found.complete:,}" if found.capped else "",
        "bootstrap": found.bootstrap,
    }
    if found.reason is None and found.rows:
        worded.update(_driver_table(found))
    return worded


def _driver_table(found: SurveyDrivers) -> dict[str, Any]:
    top = found.rows[0]
    r_squared = format_value(found.r_squared, 2)
    return {
        "r_squared": r_squared,
        "r_squared_interval": (
            f"{format_value(found.r_squared_low, 2)}–{format_value(found.r_squared_high, 2)}"
        ),
        # No sentence when the ratings explain nothing (R² 0): no share to name.
        "top_label": top.label if math.isfinite(top.share) else "",
        "top_share": format_value(top.share, 0),
        "rows": [
            {
                "label": row.label,
                "key": row.key,
                "share": format_value(row.share, 0),
                "width": 0 if math.isnan(row.share) else min(100, max(0, round(row.share))),
                "weight": _percent(row.weight),
                "interval": f"{_percent(row.weight_low)}–{_percent(row.weight_high)}",
            }
            for row in found.rows
        ],
    }


def _page(
    request: Request,
    session: Session,
    caller: Principal,
    survey: Survey,
    *,
    editing: SurveyQuestion | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    questions = survey_questions.list_questions(session, caller.organisation_id, survey.id)
    languages = follow_up_forms.survey_languages(survey, questions)
    base = _base(survey.id)
    notice = next((text for key, text in NOTICES.items() if key in request.query_params), None)
    context = {
        "survey": survey,
        "questions": [
            {
                "question": q,
                "kind": KIND_WORDS.get(q.kind, q.kind),
                "label": label_in(q.labels or {}, survey.default_language, survey.default_language),
                "first": n == 0,
                "last": n == len(questions) - 1,
            }
            for n, q in enumerate(questions)
        ],
        "results": _results(session, caller, survey),
        # The analysis (a bootstrap) only where it is shown: the list, not a question's form.
        "drivers": _drivers(session, caller, survey) if editing is None else None,
        "result_days": RESULT_DAYS,
        "languages": languages,
        "language_names": i18n.LANGUAGE_NAMES,
        "editing": editing,
        "editing_label": label_in(
            editing.labels or {}, survey.default_language, survey.default_language
        )
        if editing is not None
        else "",
        "full": len(questions) >= MAX_QUESTIONS and editing is None,
        "most": MAX_QUESTIONS,
        "v": values or follow_up_forms.values_of(editing, languages),
        "errors": errors or {},
        "key_rule": KEY_RULE,
        "kinds": KIND_WORDS,
        "base": base,
        "action": f"{base}/{editing.id}" if editing is not None else base,
        "can_edit": Permission.SURVEYS_WRITE in caller.permissions,
        "notice": notice,
    }
    return render(request, "app/questions/page.html", context, status_code)


@router.get("/app/surveys/{survey_id}/questions", response_class=HTMLResponse)
def questions_page(
    survey_id: SurveyPath, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return permitted_survey_page(
        request, session, caller, survey_id, Permission.SURVEYS_READ, _page
    )


@router.get("/app/surveys/{survey_id}/questions/{question_id}", response_class=HTMLResponse)
def question_page(
    survey_id: SurveyPath,
    question_id: QuestionPath,
    request: Request,
    caller: PageCaller,
    session: DbSession,
) -> HTMLResponse:
    try:
        survey = allowed_survey(session, caller, survey_id, Permission.SURVEYS_READ)
        question = survey_questions.get_question(
            session, caller.organisation_id, survey_id, question_id
        )
    except PageProblem as problem:
        return problem_page(request, problem)
    except NotFound:
        return problem_page(request, _missing(), back=_base(survey_id))
    return _page(request, session, caller, survey, editing=question)


def _save(
    request: Request,
    session: Session,
    caller: Principal,
    form: FormData,
    survey: Survey,
    editing: SurveyQuestion | None = None,
) -> Response:
    org = caller.organisation_id
    existing = survey_questions.list_questions(session, org, survey.id)
    languages = follow_up_forms.survey_languages(survey, existing)
    posted = follow_up_forms.read_form(form, languages)
    try:
        if editing is None:
            saved = follow_up_changes.create_question(session, org, survey.id, posted.document)
        else:
            saved = follow_up_changes.update_question(
                session, org, survey.id, editing.id, posted.document
            )
    except InvalidQuestion as error:
        session.rollback()
        errors = follow_up_forms.errors_by_field(
            error.problems, posted.rows, survey.default_language
        )
        return _page(
            request,
            session,
            caller,
            survey,
            editing=editing,
            values=follow_up_forms.posted_values(form, languages),
            errors=errors,
            status_code=422,
        )
    action = "create" if editing is None else "update"
    details = {"survey_id": survey.id, "key": saved.key, "kind": saved.kind}
    audit.record(session, caller, action, "survey_question", saved.id, details)
    session.commit()
    return RedirectResponse(f"{_base(survey.id)}?saved=1", status_code=303)


QuestionForm = Callable[[Principal, FormData, Survey], Response]
"""What a form of the questions page does with its caller, the form and the survey."""


async def _question_form(
    request: Request, session: Session, survey_id: int, handle: QuestionForm
) -> Response:
    """``handle`` of a form posted by a caller with ``surveys:write``. A refusal, or a
    question that is not in the survey, is a page that links back to the questions."""
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.SURVEYS_WRITE)
        return handle(caller, form, page_survey(session, caller, survey_id))
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, _base(survey_id))
    except NotFound:
        return page_forms.form_problem(request, _missing(), _base(survey_id))


@router.post("/app/surveys/{survey_id}/questions")
async def create_question_form(
    survey_id: SurveyPath, request: Request, session: DbSession
) -> Response:
    return await _question_form(request, session, survey_id, partial(_save, request, session))


@router.post("/app/surveys/{survey_id}/questions/{question_id}")
async def update_question_form(
    survey_id: SurveyPath, question_id: QuestionPath, request: Request, session: DbSession
) -> Response:
    def update(caller: Principal, form: FormData, survey: Survey) -> Response:
        org = caller.organisation_id
        question = survey_questions.get_question(session, org, survey_id, question_id)
        return _save(request, session, caller, form, survey, question)

    return await _question_form(request, session, survey_id, update)


@router.post("/app/surveys/{survey_id}/questions/{question_id}/move")
async def move_question_form(
    survey_id: SurveyPath, question_id: QuestionPath, request: Request, session: DbSession
) -> Response:
    def move(caller: Principal, form: FormData, survey: Survey) -> Response:
        step = -1 if form.get("direction") == "up" else 1
        survey_questions.move(session, caller.organisation_id, survey.id, question_id, step)
        details = {"direction": "up" if step < 0 else "down"}
        audit.record(session, caller, "move", "survey_question", question_id, details)
        session.commit()
        return RedirectResponse(f"{_base(survey_id)}?moved=1", status_code=303)

    return await _question_form(request, session, survey_id, move)


@router.post("/app/surveys/{survey_id}/questions/{question_id}/delete")
async def delete_question_form(
    survey_id: SurveyPath, question_id: QuestionPath, request: Request, session: DbSession
) -> Response:
    def delete(caller: Principal, _: FormData, survey: Survey) -> Response:
        deleted = survey_questions.delete_question(
            session, caller.organisation_id, survey.id, question_id
        )
        details = {"key": deleted.key}
        audit.record(session, caller, "delete", "survey_question", question_id, details)
        session.commit()
        return RedirectResponse(f"{_base(survey_id)}?deleted=1", status_code=303)

    return await _question_form(request, session, survey_id, delete)
