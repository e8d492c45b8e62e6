"""The signed-in web UI's survey dashboards, and what every signed-in page shares.

- Shared: the templates (``TEMPLATES``), the caller of a page (``PageCaller``: the signed-in
  user, or a redirect to ``/login``), the permission check and the problem page.
- Pages: a survey's dashboard and the drill-down to its responses (the overview of all
  surveys is ``overview``).
  Their charts are drawn by ``dashboard_charts``; exports of a view are
  ``dashboard_exports``, the monthly report ``report_pages``, login and logout
  ``login_pages``.

Pages are server-rendered (Jinja2, autoescaped) and work without JavaScript; every filter
lives in the URL (``cxpulse.report.filters_url``), so a view can be bookmarked and shared.
They use the same session and CSRF cookies as ``POST /api/v1/auth/login``; without a valid
session a page redirects to ``/login``. Permissions follow ``web.permissions``: reading a
dashboard needs ``metrics:read`` (viewers have it), the responses behind a number
``responses:read``, and exports ``exports``. Another organisation's survey is a 404.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from cxpulse import templating
from cxpulse.act import goals as goal_store
from cxpulse.metrics import ACSI_CAVEAT, Metric
from cxpulse.report import comments_view, monthly, themes_view
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report import filters_url as urls
from cxpulse.report.filter_choices import FilterChoices, filter_choices
from cxpulse.store import accounts, segment_values, surveys, text_themes
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import SOURCES, Survey
from cxpulse.web.access import Principal, authenticate
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard_charts import survey_charts
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

router = APIRouter(include_in_schema=False)

TEMPLATES = Jinja2Templates(env=templating.environment())


# --------------------------------------------------------------------------- shared by pages


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A page of ``templates/app``, with the CSRF token its forms post back."""
    csrf = request.cookies.get(CSRF_COOKIE, "")
    return TEMPLATES.TemplateResponse(
        request, name, {"csrf_token": csrf, **context}, status_code=status_code
    )


class PageProblem(Exception):
    def __init__(self, status_code: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status_code, self.title, self.message = status_code, title, message


def problem_page(
    request: Request, problem: PageProblem, signed_in: bool = True, back: str | None = None
) -> HTMLResponse:
    """A page telling what went wrong; ``back``: a link to the page the person came from."""
    return render(
        request,
        "app/problem.html",
        {
            "title": problem.title,
            "message": problem.message,
            "signed_in": signed_in,
            "back": back,
        },
        problem.status_code,
    )


# --------------------------------------------------------------------------- who is calling


def _to_login(request: Request) -> HTTPException:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(303, "log in first", headers={"Location": "/login?next=" + quote(here)})


def page_caller(request: Request, session: DbSession, background: BackgroundTasks) -> Principal:
    """The signed-in user of a page, or a redirect to the login page."""
    if not request.cookies.get(SESSION_COOKIE) and "authorization" not in request.headers:
        raise _to_login(request)
    try:
        return authenticate(request, session, background, None, None)
    except HTTPException as error:
        if error.status_code == 401:
            raise _to_login(request) from None
        raise


PageCaller = Annotated[Principal, Depends(page_caller)]


def check_allowed(caller: Principal, permission: Permission) -> None:
    if permission not in caller.permissions:
        raise PageProblem(
            403,
            "Not allowed",
            f"Your role does not allow this: it needs the {permission} permission.",
        )


def page_survey(session: Session, caller: Principal, survey_id: int) -> Survey:
    """The caller's survey ``survey_id``; a 404 page problem when there is none."""
    try:
        return surveys.get_survey(session, caller.organisation_id, survey_id)
    except NotFound:
        raise PageProblem(
            404, "Not found", "There is no such survey in your organisation."
        ) from None


def survey_and_filters(
    request: Request, session: Session, caller: Principal, survey_id: int
) -> tuple[Any, Any, urls.Parsed]:
    survey = page_survey(session, caller, survey_id)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    return organisation, survey, urls.parse(request.query_params.multi_items())


def utc_today() -> date:
    """Today in UTC, the time zone of every stored moment."""
    return datetime.now(UTC).date()


def last_full_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def report_month_choice(view: dashboard_data.DashboardView, today: date) -> str:
    """The month the survey page offers first: the last full one, or the last month of the
    view when that ended earlier (a survey whose answers stopped)."""
    return monthly.month_label(min(last_full_month(today), view.window.last_day.replace(day=1)))


def matched_in_any_case(
    session: Session, organisation_id: int, survey_id: int, filters: urls.ViewFilters
) -> urls.ViewFilters:
    """The view with its segment filters matched in any case, over the survey's answers of
    every period (a headline's period before may reach past the view's window)."""
    found = segment_values.resolve(
        session, organisation_id, replace(filters.where, survey_id=survey_id)
    )
    return replace(filters, where=replace(found, survey_id=None))


def unmatched_hints(
    filters: urls.ViewFilters, choices: FilterChoices
) -> list[tuple[str, str, Any, str]]:
    """Per segment filter that matches no answer: (its label, the value asked for, the
    values present in the period, the view without it)."""
    hints = []
    for dimension, value in filters.where.unmatched():
        present = choices.of(dimension)
        label = present.label if present is not None else dimension.replace(":", " ", 1)
        hints.append((label, value, present, filters.without(dimension).query()))
    return hints


def _picked_redirect(request: Request, parsed: urls.Parsed) -> RedirectResponse | None:
    """A filter picked from the form's list arrives as ``pick``: send the browser to the
    view's plain URL, the one to bookmark and share."""
    if "pick" not in request.query_params or parsed.errors:
        return None
    query = urlencode(parsed.view.query_pairs() + parsed.drill.query_pairs())
    return RedirectResponse(request.url.path + (f"?{query}" if query else ""), 303)


# --------------------------------------------------------------------------- pages


@router.get("/app/surveys/{survey_id}", response_class=HTMLResponse, response_model=None)
def survey_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse | RedirectResponse:
    try:
        check_allowed(caller, Permission.METRICS_READ)
        organisation, survey, parsed = survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    redirect = _picked_redirect(request, parsed)
    if redirect is not None:
        return redirect
    filters = matched_in_any_case(session, organisation.id, survey.id, parsed.view)
    try:
        view = dashboard_data.load_view(session, organisation, survey, filters)
    except Invalid as error:
        parsed.errors[error.field] = error.message
        filters = urls.ViewFilters()
        view = dashboard_data.load_view(session, organisation, survey, filters)
    choices = filter_choices(session, organisation.id, survey.id, view.window)
    readable, other_dimensions = choices.breakdowns()
    can_drill = Permission.RESPONSES_READ in caller.permissions
    themes, comments = _text_panels(
        request, session, organisation.id, survey, filters, view, parsed.errors, can_drill
    )
    context = {
        "survey": survey,
        "view": view,
        "filters": filters,
        "errors": parsed.errors,
        "charts": survey_charts(view),
        "can_drill": can_drill,
        "can_export": Permission.EXPORTS in caller.permissions,
        "can_set_goals": Permission.SURVEYS_WRITE in caller.permissions,
        "goal_metrics": [m.value for m in goal_store.GOAL_METRICS[Metric(survey.metric)]],
        "caveat": ACSI_CAVEAT,
        "empty_drill": urls.DrillFilters(),
        "comment_drill": urls.DrillFilters(has_comment=True),
        "grains": urls.GRAINS,
        "sources": SOURCES,
        "choices": choices,
        "breakdowns": readable,
        "other_breakdowns": other_dimensions,
        "unmatched": unmatched_hints(filters, choices),
        "report_month": report_month_choice(view, utc_today()),
        "report_max": monthly.month_label(utc_today()),
        "themes": themes,
        "comments": comments,
    }
    return render(request, "app/survey.html", context, 422 if parsed.errors else 200)


def _theme_name(session: Session, organisation_id: int, key: str | None) -> str | None:
    """The name of the organisation's theme ``key`` (None without one)."""
    if key is None:
        return None
    try:
        return text_themes.get_theme_by_key(session, organisation_id, key).name
    except NotFound:
        return None


def _text_panels(
    request: Request,
    session: Session,
    organisation_id: int,
    survey: Survey,
    filters: urls.ViewFilters,
    view: dashboard_data.DashboardView,
    errors: dict[str, str],
    can_read_comments: bool,
) -> tuple[themes_view.ThemesView, comments_view.CommentsPanel | None]:
    """The themes panel, and the comments panel for a role that may read responses (comment
    texts are responses); the panel's own parameters (``comments.*``) are read here, and a
    bad one is shown beside the view's errors."""
    themes = themes_view.themes_view(
        session,
        organisation_id,
        survey,
        filters,
        view.window,
        examples=themes_view.EXAMPLES if can_read_comments else 0,
        comments=view.comment_rate,
        today=utc_today(),
        min_n=view.min_n,
    )
    if not can_read_comments:
        return themes, None
    query, problems = comments_view.parse_comment_query(request.query_params.multi_items())
    errors.update(problems)
    offered = [(row.key, row.name) for row in sorted(themes.themes, key=lambda r: -r.mentions)]
    panel = comments_view.latest_comments(
        session,
        organisation_id,
        survey.id,
        survey.metric_spec(min_n=view.min_n),
        filters,
        view.window,
        query,
        themes=offered,
    )
    return themes, panel


@router.get("/app/surveys/{survey_id}/responses", response_class=HTMLResponse)
def responses_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.RESPONSES_READ)
        organisation, survey, parsed = survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    drill = parsed.drill
    filters = matched_in_any_case(session, organisation.id, survey.id, parsed.view)
    window = filters.window(
        dashboard_data.latest_day(session, organisation.id, survey.id), utc_today()
    )
    try:
        page = dashboard_data.drill_down(
            session, organisation.id, survey.id, filters, window, drill
        )
    except Invalid as error:
        parsed.errors["after"] = error.message
        page = dashboard_data.DrillPage([], None)
    drill_pairs = filters.query_pairs() + drill.query_pairs()
    context = {
        "survey": survey,
        "filters": filters,
        "drill": drill,
        "window": window,
        "page": page,
        "errors": parsed.errors,
        "query": urlencode(drill_pairs),
        "next_query": urlencode([*drill_pairs, ("after", page.next_after)])
        if page.next_after
        else None,
        "can_export": Permission.EXPORTS in caller.permissions,
        "theme_name": _theme_name(session, organisation.id, drill.theme),
        "unmatched": [
            (dimension.replace(":", " ", 1), value, filters.without(dimension).drill_query(drill))
            for dimension, value in filters.where.unmatched()
        ],
    }
    return render(request, "app/responses.html", context, 422 if parsed.errors else 200)
