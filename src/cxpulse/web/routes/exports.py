"""Exports of a survey's responses: CSV, XLSX or Parquet, streamed."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from cxpulse.store import segment_values, surveys
from cxpulse.web import exporters
from cxpulse.web.access import CanExport
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.filters import SEGMENT_FILTER_HELP, Filters
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.state import app_state

router = APIRouter(prefix="/api/v1", tags=["exports"])


@router.get(
    "/surveys/{survey_id}/responses/export.{format}",
    operation_id="exportResponses",
    summary="Export a survey's responses",
    description="All responses matching the filters (the same as listResponses), oldest "
    "first, one column per response property (`property.<name>`). CSV and XLSX text cells "
    "that start with = + - @ are prefixed with ' so that spreadsheets do not run them as "
    "formulas. Times are UTC. XLSX holds at most 1,048,575 rows; use CSV or Parquet beyond. "
    + SEGMENT_FILTER_HELP,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file.",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in exporters.MEDIA_TYPES.values()
            },
        },
        **problems(404),
    },
)
def export_responses(
    survey_id: SurveyId,
    format: exporters.ExportFormat,
    request: Request,
    caller: CanExport,
    session: DbSession,
    filters: Filters,
    bom: Annotated[
        bool, Query(description="CSV only: start with a UTF-8 byte order mark, for Excel.")
    ] = False,
) -> StreamingResponse:
    organisation_id = caller.organisation_id
    survey = surveys.get_survey(session, organisation_id, survey_id)
    scoped = segment_values.resolve(
        session, organisation_id, dataclasses.replace(filters, survey_id=survey_id)
    )
    if format == "xlsx" and exporters.too_many_for_xlsx(session, organisation_id, scoped):
        raise FieldErrors.one(
            ["path", "format"],
            f"more than {exporters.XLSX_MAX_ROWS:,} responses match: too many for one XLSX "
            "sheet; use csv or parquet, or narrow the filters",
        )
    plan = exporters.plan_export(session, organisation_id, scoped)
    chunks = exporters.chunks(app_state(request).read_sessions, plan, format, bom=bom)
    filename = f"{survey.slug}-responses.{format}"
    return StreamingResponse(
        chunks,
        media_type=exporters.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
