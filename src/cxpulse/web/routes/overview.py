"""The overview at ``/app``: every survey of the organisation with its headline, the first
page a signed-in manager sees."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cxpulse.report import dashboard as dashboard_data
from cxpulse.store import accounts, surveys
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import (
    PageCaller,
    PageProblem,
    check_allowed,
    problem_page,
    render,
)

router = APIRouter(include_in_schema=False)


@router.get("/app", response_class=HTMLResponse)
def surveys_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.METRICS_READ)
    except PageProblem as problem:
        return problem_page(request, problem)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    rows = []
    for survey in surveys.list_surveys(session, caller.organisation_id):
        view = dashboard_data.load_headline(session, organisation, survey)
        rows.append({"survey": survey, "headline": view})
    return render(request, "app/surveys.html", {"organisation": organisation, "rows": rows})
