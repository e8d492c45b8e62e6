"""The overview at ``/app``: every survey of the organisation as a card with its headline for
the comparison chosen (``?compare=week|30d|mtd|quarter|year``, 30 days by default), the first
page a signed-in manager sees. The cards come from ``report.overview``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cxpulse.report import overview as overview_data
from cxpulse.report.comparison_windows import (
    COMPARISONS,
    DEFAULT_COMPARISON,
    SWITCH_LABELS,
    parse_comparison,
)
from cxpulse.store import accounts, surveys
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import (
    PageCaller,
    PageProblem,
    check_allowed,
    problem_page,
    render,
    utc_today,
)
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)


@router.get("/app", response_class=HTMLResponse)
def surveys_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.METRICS_READ)
    except PageProblem as problem:
        return problem_page(request, problem)
    given = request.query_params.get("compare")
    choice = parse_comparison(given)
    errors: dict[str, str] = {}
    if given is not None and given.strip() and choice is None:
        errors["compare"] = f"must be one of {', '.join(COMPARISONS)}"
    organisation = accounts.get_organisation(session, caller.organisation_id)
    overview = overview_data.load_overview(
        session,
        caller.organisation_id,
        surveys.list_surveys(session, caller.organisation_id, include_archived=False),
        choice or DEFAULT_COMPARISON,
        today=utc_today(),
        min_n=app_state(request).settings.min_n,
        cache=overview_data.MONTHS,
    )
    context = {
        "organisation": organisation,
        "overview": overview,
        "errors": errors,
        "choices": [(c, SWITCH_LABELS[c]) for c in COMPARISONS],
        "default_choice": DEFAULT_COMPARISON,
        "can_drill": Permission.RESPONSES_READ in caller.permissions,
    }
    return render(request, "app/overview.html", context, 422 if errors else 200)
