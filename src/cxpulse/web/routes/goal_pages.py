"""Goals set and removed from the survey dashboard with plain HTML forms (no JavaScript
needed); the API (``routes/goals.py``) does the same for scripts.

Both forms post the page's CSRF token as a field (``access.form_principal``), need the
``surveys:write`` permission (analysts and above) and come back to the dashboard's goals.
A refused goal answers 422 with the field and the reason, and stores nothing.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from cxpulse.act import goals
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import PageProblem
from cxpulse.web.schemas import MAX_SMALL_ID

router = APIRouter(include_in_schema=False)

GoalId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
MAX_FIELD_LENGTH = 300


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if len(text) > MAX_FIELD_LENGTH:
        raise Invalid(name, f"must be at most {MAX_FIELD_LENGTH} characters")
    return text


def _number(form: FormData, name: str) -> float:
    text = _field(form, name).replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise Invalid(name, "must be a number") from None
    if not math.isfinite(value):
        raise Invalid(name, "must be a finite number")
    return value


def _segment(text: str) -> dict[str, str]:
    """``dimension=value``, such as ``channel=email`` or ``property:team=billing``."""
    if not text:
        return {}
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise Invalid("segment", "write it as dimension=value, such as channel=email")
    return {name.strip(): value.strip()}


def goal_fields(form: FormData) -> dict[str, object]:
    """The ``create_goal`` arguments of the dashboard's goal form."""
    fields: dict[str, object] = {
        "name": _field(form, "name"),
        "target": _number(form, "target"),
        "segment": _segment(_field(form, "segment")),
    }
    metric = _field(form, "metric")
    if metric:
        fields["metric"] = metric
    due = _field(form, "due_date")
    if due:
        try:
            fields["due_date"] = date.fromisoformat(due)
        except ValueError:
            raise Invalid("due_date", "must be a date such as 2027-03-31") from None
    else:
        months = _field(form, "months") or "3"
        # isdigit() also admits "²", which int() refuses.
        if not (months.isascii() and months.isdecimal()) or len(months) > 4:
            raise Invalid("months", "must be a whole number of months")
        fields["months"] = int(months)
    if _field(form, "baseline"):
        fields["baseline"] = _number(form, "baseline")
    return fields


async def _caller(request: Request, session: DbSession) -> tuple[Principal, FormData]:
    return await page_forms.form_caller(request, session, Permission.SURVEYS_WRITE)


def _problem(request: Request, problem: PageProblem, back: str) -> HTMLResponse:
    return page_forms.form_problem(request, problem, back)


def _back(survey_id: int) -> str:
    return f"/app/surveys/{survey_id}#goals-heading"


@router.post("/app/surveys/{survey_id}/goals")
async def create_goal_form(request: Request, survey_id: SurveyId, session: DbSession) -> Response:
    back = _back(survey_id)
    try:
        caller, form = await _caller(request, session)
        goal = goals.create_goal(
            session,
            caller.organisation_id,
            survey_id,
            **goal_fields(form),  # type: ignore[arg-type]
        )
        audit.record(session, caller, "create", "goal", goal.id, {"survey_id": survey_id})
        session.commit()
    except PageProblem as problem:
        return _problem(request, problem, back)
    except NotFound:
        return _problem(request, PageProblem(404, "Not found", "There is no such survey."), "/app")
    except Invalid as error:
        session.rollback()
        message = f"The goal was not saved: {error.field} {error.message}."
        return _problem(request, PageProblem(422, "Goal not saved", message), back)
    return RedirectResponse(back, status_code=303)


@router.post("/app/surveys/{survey_id}/goals/{goal_id}/delete")
async def delete_goal_form(
    request: Request, survey_id: SurveyId, goal_id: GoalId, session: DbSession
) -> Response:
    back = _back(survey_id)
    try:
        caller, _ = await _caller(request, session)
        goals.delete_goal(session, caller.organisation_id, survey_id, goal_id)
        audit.record(session, caller, "delete", "goal", goal_id, {"survey_id": survey_id})
        session.commit()
    except PageProblem as problem:
        return _problem(request, problem, back)
    except NotFound:
        return _problem(request, PageProblem(404, "Not found", "There is no such goal."), back)
    return RedirectResponse(back, status_code=303)
