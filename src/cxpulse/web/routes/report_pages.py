"""The survey's monthly report as a page: the very document ``cxpulse report`` writes
(``report.monthly``), as HTML or, printed by the server's Chromium, as PDF."""

from __future__ import annotations

import logging
import tempfile
import threading
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cxpulse.report import monthly, pdf
from cxpulse.store.errors import Invalid
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import (
    PageCaller,
    PageProblem,
    check_allowed,
    last_full_month,
    page_survey,
    problem_page,
    utc_today,
)
from cxpulse.web.security_headers import REPORT_HEADERS

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("cxpulse.web")

PDF_TIMEOUT_SECONDS = 60.0
# Each PDF starts a Chromium of a few hundred MB: a few at a time, the rest told to retry.
PDF_SLOTS = threading.BoundedSemaphore(2)


def _report_month(request: Request) -> tuple[date, str]:
    """The month and format asked for; a PageProblem (422) for anything else."""
    fmt = request.query_params.get("format") or "html"
    if fmt not in ("html", "pdf"):
        raise PageProblem(422, "Invalid report", "format must be html or pdf.")
    text = request.query_params.get("month")
    today = utc_today()
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
        survey = page_survey(session, caller, survey_id)
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
