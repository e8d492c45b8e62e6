"""The signed-in web UI: login page, survey dashboards, drill-down and exports of a view.

Pages are server-rendered (Jinja2, autoescaped) and work without JavaScript; every filter
lives in the URL (``cxpulse.report.filters_url``), so a view can be bookmarked and shared.
They use the same session and CSRF cookies as ``POST /api/v1/auth/login``; without a valid
session a page redirects to ``/login``. Permissions follow ``web.permissions``: reading a
dashboard needs ``metrics:read`` (viewers have it), the responses behind a number
``responses:read``, and exports ``exports``. Another organisation's survey is a 404.

The monthly report page serves the very document ``cxpulse report`` writes
(``report.monthly``), as HTML or, printed by the server's Chromium, as PDF.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from cxpulse.act import goals as goal_store
from cxpulse.csv_safety import neutralise_cell
from cxpulse.metrics import ACSI_CAVEAT, Metric, format_value
from cxpulse.report import charts, monthly, pdf, views
from cxpulse.report import filters_url as urls
from cxpulse.store import accounts, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import SOURCES
from cxpulse.web import exporters
from cxpulse.web.access import Principal, authenticate, csrf_matches
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import auth
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.same_origin import same_origin
from cxpulse.web.schemas import LoginIn
from cxpulse.web.state import app_state
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

router = APIRouter(include_in_schema=False)

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
ExportFormat = Literal["csv", "xlsx", "parquet"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}
HTML_TYPE = "text/html; charset=utf-8"
logger = logging.getLogger("cxpulse.web")

REPORT_HEADERS = {
    # The report is one document with its style inline and no scripts, links or fetches:
    # allowing nothing else keeps it that way even if a survey's text were to slip through.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
}
PDF_TIMEOUT_SECONDS = 60.0
# Each PDF starts a Chromium of a few hundred MB: a few at a time, the rest told to retry.
PDF_SLOTS = threading.BoundedSemaphore(2)


# --------------------------------------------------------------------------- template helpers


def _number(value: float | None, digits: int = 1) -> str:
    return format_value(value, digits)


def _signed(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:+.{digits}f}"


def _percent(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.1f}%"


TEMPLATES.env.filters["number"] = _number
TEMPLATES.env.filters["signed"] = _signed
TEMPLATES.env.filters["percent"] = _percent


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
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
    return _render(
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


def _safe_next(target: str | None) -> str:
    """Only our own pages: an absolute or protocol-relative URL would be an open redirect."""
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


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


# --------------------------------------------------------------------------- login


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The service's front door: the dashboard (which asks for a login first)."""
    return RedirectResponse("/app", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _render(request, "app/login.html", {"next": _safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The HTML form's login: it runs the JSON login itself (same rate limit, password check,
    audit entry and cookies) and turns its answer into a page or a redirect."""
    if not same_origin(request):
        # Login CSRF: another site must not sign a visitor in to an account of its choosing.
        return _render(
            request,
            "app/login.html",
            {"next": "/app", "email": "", "error": "Please log in from this site's login page."},
            403,
        )
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    context = {"next": target, "email": email}
    try:
        body = LoginIn(email=email, password=password)
    except ValidationError:
        body = None
    if body is None or not email or not password:
        return _render(
            request,
            "app/login.html",
            {**context, "error": "Enter your email address and your password."},
            422,
        )
    cookies = Response()
    try:
        await auth.login(body, request, cookies)
    except HTTPException as error:
        if error.status_code != 429:
            message = "Wrong email or password."
        else:
            message = "Too many login attempts from this address; try again later."
        page = _render(request, "app/login.html", {**context, "error": message}, error.status_code)
        if error.headers and "Retry-After" in error.headers:
            page.headers["Retry-After"] = error.headers["Retry-After"]
        return page
    answer = RedirectResponse(target, status_code=303)
    for cookie in cookies.headers.getlist("set-cookie"):
        answer.headers.append("set-cookie", cookie)
    return answer


@router.post("/logout")
async def logout_form(request: Request) -> Response:
    """Ends the session; the form carries the CSRF token, as a header would."""
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    if data is not None:
        form = await request.form()
        if not csrf_matches(request, data, str(form.get("csrf_token") or "")):
            return problem_page(
                request,
                PageProblem(403, "Not logged out", "The form was stale; reload and try again."),
            )
    answer = RedirectResponse("/login", status_code=303)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        answer.delete_cookie(name, path="/", secure=state.options.cookie_secure, samesite="lax")
    return answer


# --------------------------------------------------------------------------- pages


@router.get("/app", response_class=HTMLResponse)
def surveys_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.METRICS_READ)
    except PageProblem as problem:
        return problem_page(request, problem)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    rows = []
    for survey in surveys.list_surveys(session, caller.organisation_id):
        view = views.load_headline(session, organisation, survey)
        rows.append({"survey": survey, "headline": view})
    return _render(request, "app/surveys.html", {"organisation": organisation, "rows": rows})


def _survey_and_filters(
    request: Request, session: Session, caller: Principal, survey_id: int
) -> tuple[Any, Any, urls.Parsed]:
    try:
        survey = surveys.get_survey(session, caller.organisation_id, survey_id)
    except NotFound:
        raise PageProblem(
            404, "Not found", "There is no such survey in your organisation."
        ) from None
    organisation = accounts.get_organisation(session, caller.organisation_id)
    return organisation, survey, urls.parse(request.query_params.multi_items())


@dataclass(frozen=True)
class Chart:
    """A chart twice: SVG drawn on the server (shown with JavaScript off) and its Vega-Lite
    spec as JSON, which app.js draws interactively (tooltips) when it can."""

    svg: Markup
    spec: Markup
    """JSON with every ``<`` escaped, safe inside ``<script type="application/json">``."""


def _chart(spec: charts.Spec) -> Chart:
    spec_text = charts.spec_json(spec).replace("<", "\\u003c")
    # SVG made by vl-convert from our own numbers; it escapes the text it draws, and
    # charts.py escapes the description it adds.
    return Chart(Markup(charts.to_svg(spec)), Markup(spec_text))  # noqa: S704


def _charts(view: views.DashboardView) -> dict[str, Chart]:
    points = [
        charts.TrendPoint(
            period=b.label,
            value=None if b.result.n == 0 else b.result.value,
            ci_low=None if b.result.n == 0 or math.isnan(b.result.ci_low) else b.result.ci_low,
            ci_high=None if b.result.n == 0 or math.isnan(b.result.ci_high) else b.result.ci_high,
            n=b.result.n,
            too_small=b.result.too_small,
        )
        for b in view.trend
    ]
    benchmark = None
    if view.benchmark is not None and view.metric is Metric.CSAT:
        benchmark = charts.ReferenceLine(
            view.benchmark.score, f"ACSI {view.benchmark.industry} {view.benchmark.year}"
        )
    goal = None
    if view.goal_line is not None:
        goal = charts.goal_line(view.goal_line.goal.target, view.goal_line.goal.name)
    out = {"trend": trend_chart(tuple(points), view.label, benchmark, goal)}
    if view.metric is Metric.NPS:
        bands = tuple(charts.NpsBands(label, *counts) for label, counts in view.bands.items())
        out["distribution"] = nps_chart(bands)
    else:
        counts = tuple(charts.ScaleCount(float(row.label), row.count) for row in view.distribution)
        out["distribution"] = scale_chart(counts)
    return out


# Charts are a pure function of their numbers: a view seen again (a reload, a shared link,
# a colleague's visit) skips building the spec with Altair and drawing it with vl-convert.
@functools.lru_cache(maxsize=256)
def trend_chart(
    points: tuple[charts.TrendPoint, ...],
    label: str,
    benchmark: charts.ReferenceLine | None,
    goal: charts.ReferenceLine | None,
) -> Chart:
    return _chart(charts.trend_spec(points, metric_label=label, benchmark=benchmark, goal=goal))


@functools.lru_cache(maxsize=256)
def nps_chart(bands: tuple[charts.NpsBands, ...]) -> Chart:
    return _chart(charts.nps_distribution_spec(bands))


@functools.lru_cache(maxsize=256)
def scale_chart(counts: tuple[charts.ScaleCount, ...]) -> Chart:
    return _chart(charts.scale_distribution_spec(counts))


def clear_chart_caches() -> None:
    """Forget every drawn chart (benchmarks use it to time drawing)."""
    for cached in (trend_chart, nps_chart, scale_chart):
        cached.cache_clear()
    charts.clear_cache()


@router.get("/app/surveys/{survey_id}", response_class=HTMLResponse)
def survey_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.METRICS_READ)
        organisation, survey, parsed = _survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    filters = parsed.view
    try:
        view = views.load_view(session, organisation, survey, filters)
    except Invalid as error:
        parsed.errors[error.field] = error.message
        filters = urls.ViewFilters()
        view = views.load_view(session, organisation, survey, filters)
    context = {
        "survey": survey,
        "view": view,
        "filters": filters,
        "errors": parsed.errors,
        "charts": _charts(view),
        "can_drill": Permission.RESPONSES_READ in caller.permissions,
        "can_export": Permission.EXPORTS in caller.permissions,
        "can_set_goals": Permission.SURVEYS_WRITE in caller.permissions,
        "goal_metrics": [m.value for m in goal_store.GOAL_METRICS[Metric(survey.metric)]],
        "caveat": ACSI_CAVEAT,
        "empty_drill": urls.DrillFilters(),
        "comment_drill": urls.DrillFilters(has_comment=True),
        "grains": urls.GRAINS,
        "sources": SOURCES,
        "dimensions": [*urls.BREAKDOWN_COLUMNS, *(f"property:{n}" for n in view.property_names)],
        "report_month": report_month_choice(view, _today()),
        "report_max": monthly.month_label(_today()),
    }
    return _render(request, "app/survey.html", context, 422 if parsed.errors else 200)


@router.get("/app/surveys/{survey_id}/responses", response_class=HTMLResponse)
def responses_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.RESPONSES_READ)
        organisation, survey, parsed = _survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    filters, drill = parsed.view, parsed.drill
    window = filters.window(views.latest_day(session, organisation.id, survey.id), _today())
    try:
        page = views.drill_down(session, organisation.id, survey.id, filters, window, drill)
    except Invalid as error:
        parsed.errors["after"] = error.message
        page = views.DrillPage([], None)
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
    }
    return _render(request, "app/responses.html", context, 422 if parsed.errors else 200)


# --------------------------------------------------------------------------- exports


def _download(chunks: Iterator[bytes], fmt: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/app/surveys/{survey_id}/export/responses.{fmt}")
def export_view_responses(
    survey_id: SurveyId, fmt: ExportFormat, request: Request, caller: PageCaller, session: DbSession
) -> Response:
    """The responses behind the view (and drill-down filters) as CSV, XLSX or Parquet."""
    try:
        check_allowed(caller, Permission.EXPORTS)
        organisation, survey, parsed = _survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    if parsed.errors:
        return problem_page(
            request,
            PageProblem(
                422, "Invalid filters", "; ".join(f"{k}: {v}" for k, v in parsed.errors.items())
            ),
        )
    window = parsed.view.window(views.latest_day(session, organisation.id, survey.id), _today())
    filters = views.response_filters(survey.id, parsed.view, window, parsed.drill)
    if (
        fmt == "xlsx"
        and exporters.count_rows(session, organisation.id, filters) > exporters.XLSX_MAX_ROWS
    ):
        return problem_page(
            request,
            PageProblem(
                422, "Too many rows", "Too many responses for one XLSX sheet: use CSV or Parquet."
            ),
        )
    plan = exporters.ExportPlan(
        organisation.id, filters, exporters.property_names(session, organisation.id, filters)
    )
    sessions = app_state(request).read_sessions
    chunks: Iterator[bytes]
    if fmt == "csv":
        chunks = exporters.csv_chunks(sessions, plan)
    elif fmt == "xlsx":
        chunks = exporters.xlsx_chunks(sessions, plan)
    else:
        chunks = exporters.parquet_chunks(sessions, plan)
    return _download(chunks, fmt, f"{survey.slug}-{window.start}-{window.last_day}-responses.{fmt}")


def tables_csv(table: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in table:
        writer.writerow(
            ["" if v is None else neutralise_cell(v) if isinstance(v, str) else v for v in row]
        )
    return buffer.getvalue().encode("utf-8")


def tables_xlsx(table: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("metrics")
    for row in table:
        # Control characters (allowed in segment values) cannot be stored in a workbook.
        sheet.append(
            [
                neutralise_cell(ILLEGAL_CHARACTERS_RE.sub("", v)) if isinstance(v, str) else v
                for v in row
            ]
        )
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        return file.read()


def tables_parquet(table: list[list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    header, rows = table[0], table[1:]
    types = {"n": pa.int64(), "too_small": pa.bool_(), "table": pa.string(), "group": pa.string()}
    types.update(metric=pa.string(), verdict=pa.string())
    columns = {
        name: pa.array([row[i] for row in rows], type=types.get(name, pa.float64()))
        for i, name in enumerate(header)
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="zstd")
    return sink.getvalue()


@router.get("/app/surveys/{survey_id}/export/tables.{fmt}")
def export_view_tables(
    survey_id: SurveyId, fmt: ExportFormat, request: Request, caller: PageCaller, session: DbSession
) -> Response:
    """The metric tables of the view (headline, previous period, trend, distribution,
    breakdown) as CSV, XLSX or Parquet."""
    try:
        check_allowed(caller, Permission.EXPORTS)
        organisation, survey, parsed = _survey_and_filters(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    if parsed.errors:
        return problem_page(
            request,
            PageProblem(
                422, "Invalid filters", "; ".join(f"{k}: {v}" for k, v in parsed.errors.items())
            ),
        )
    view = views.load_view(session, organisation, survey, parsed.view)
    table = views.metric_table(views.metric_rows(view))
    writer = {"csv": tables_csv, "xlsx": tables_xlsx, "parquet": tables_parquet}[fmt]
    name = f"{survey.slug}-{view.window.start}-{view.window.last_day}-metrics.{fmt}"
    return _download(iter([writer(table)]), fmt, name)


def _today() -> date:
    return datetime.now(UTC).date()


# --------------------------------------------------------------------------- monthly report


def last_full_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def report_month_choice(view: views.DashboardView, today: date) -> str:
    """The month the survey page offers first: the last full one, or the last month of the
    view when that ended earlier (a survey whose answers stopped)."""
    return monthly.month_label(min(last_full_month(today), view.window.last_day.replace(day=1)))


def _report_month(request: Request) -> tuple[date, str]:
    """The month and format asked for; a PageProblem (422) for anything else."""
    fmt = request.query_params.get("format") or "html"
    if fmt not in ("html", "pdf"):
        raise PageProblem(422, "Invalid report", "format must be html or pdf.")
    text = request.query_params.get("month")
    today = _today()
    if not text:
        return last_full_month(today), fmt
    try:
        first = monthly.parse_month(text)
    except Invalid as error:
        raise PageProblem(422, "Invalid report", f"month {error.message}.") from None
    if first > today.replace(day=1):
        raise PageProblem(
            422, "Invalid report", f"month {monthly.month_label(first)} has not begun yet."
        )
    return first, fmt


def _pdf(html: str) -> bytes:
    if not PDF_SLOTS.acquire(blocking=False):
        raise PageProblem(503, "Busy", "Other reports are being printed; try again in a minute.")
    try:
        with tempfile.TemporaryDirectory(prefix="cxpulse-report-") as folder:
            target = pdf.html_to_pdf(html, Path(folder) / "report.pdf", timeout=PDF_TIMEOUT_SECONDS)
            return target.read_bytes()
    except pdf.PdfError as error:
        logger.warning("monthly report PDF failed: %s", error)
        raise PageProblem(
            503,
            "PDF unavailable",
            "The server cannot print this report as a PDF right now; the HTML version works "
            "and prints from the browser.",
        ) from None
    finally:
        PDF_SLOTS.release()


@router.get("/app/surveys/{survey_id}/report", response_model=None)
def report_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> Response:
    """The survey's monthly report (``month=YYYY-MM``, the last full month by default), the
    same self-contained document as ``cxpulse report``; ``format=pdf`` downloads it as PDF."""
    try:
        check_allowed(caller, Permission.METRICS_READ)
        try:
            survey = surveys.get_survey(session, caller.organisation_id, survey_id)
        except NotFound:
            raise PageProblem(
                404, "Not found", "There is no such survey in your organisation."
            ) from None
        month, fmt = _report_month(request)
        html = monthly.render_html(
            session, caller.organisation_id, survey.id, monthly.month_label(month)
        )
        if fmt == "html":
            return HTMLResponse(html, headers=REPORT_HEADERS)
        document = _pdf(html)
    except PageProblem as problem:
        page = problem_page(request, problem)
        if problem.status_code == 503:
            page.headers["Retry-After"] = "60"
        return page
    name = f"{survey.slug}-{monthly.month_label(month)}-report.pdf"
    return Response(
        document,
        media_type="application/pdf",
        headers={**REPORT_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )
