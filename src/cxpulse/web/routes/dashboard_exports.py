"""Exports of a dashboard view: the responses behind it, and its metric tables, as CSV, XLSX
or Parquet. Both need the ``exports`` permission; text cells are neutralised against
spreadsheet formulas (``cxpulse.csv_safety``)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from cxpulse.csv_safety import neutralise_cell
from cxpulse.report import dashboard as dashboard_data
from cxpulse.report import filters_url as urls
from cxpulse.web import exporters
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, problem_page, utc_today
from cxpulse.web.routes.dashboard_views import permitted_view
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)


def _download(
    chunks: Iterator[bytes], fmt: exporters.ExportFormat, filename: str
) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=exporters.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _view_to_export(
    request: Request, session: Session, caller: Principal, survey_id: int
) -> tuple[Any, Any, urls.Parsed]:
    """The organisation, survey and filters of a view to export; a PageProblem when the
    caller may not export or a filter is invalid."""
    organisation, survey, parsed = permitted_view(
        request, session, caller, survey_id, Permission.EXPORTS
    )
    if parsed.errors:
        raise PageProblem(
            422, "Invalid filters", "; ".join(f"{k}: {v}" for k, v in parsed.errors.items())
        )
    return organisation, survey, parsed


@router.get("/app/surveys/{survey_id}/export/responses.{fmt}")
def export_view_responses(
    survey_id: SurveyId,
    fmt: exporters.ExportFormat,
    request: Request,
    caller: PageCaller,
    session: DbSession,
) -> Response:
    """The responses behind the view (and drill-down filters) as CSV, XLSX or Parquet."""
    try:
        organisation, survey, parsed = _view_to_export(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    window = parsed.view.window(
        dashboard_data.latest_day(session, organisation.id, survey.id), utc_today()
    )
    filters = dashboard_data.response_filters(survey.id, parsed.view, window, parsed.drill)
    if fmt == "xlsx" and exporters.too_many_for_xlsx(session, organisation.id, filters):
        return problem_page(
            request,
            PageProblem(
                422, "Too many rows", "Too many responses for one XLSX sheet: use CSV or Parquet."
            ),
        )
    plan = exporters.plan_export(session, organisation.id, filters)
    chunks = exporters.chunks(app_state(request).read_sessions, plan, fmt)
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
    survey_id: SurveyId,
    fmt: exporters.ExportFormat,
    request: Request,
    caller: PageCaller,
    session: DbSession,
) -> Response:
    """The metric tables of the view (headline, previous period, trend, distribution,
    breakdown) as CSV, XLSX or Parquet."""
    try:
        organisation, survey, parsed = _view_to_export(request, session, caller, survey_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    view = dashboard_data.load_view(session, organisation, survey, parsed.view)
    table = dashboard_data.metric_table(dashboard_data.metric_rows(view))
    writer = {"csv": tables_csv, "xlsx": tables_xlsx, "parquet": tables_parquet}[fmt]
    name = f"{survey.slug}-{view.window.start}-{view.window.last_day}-metrics.{fmt}"
    return _download(iter([writer(table)]), fmt, name)
