"""Bulk import through the API: POST a survey export, get what was imported.

The same function as ``cxpulse import`` (:func:`cxpulse.collect.imports.import_file`): the
upload is spooled to a temporary file, read and checked in DuckDB, and stored in the
request's transaction, all or nothing unless ``skip_invalid``.

Include it with ``app.include_router(import_upload.router)``. It needs python-multipart
(FastAPI's form parsing).

Limits: files up to ``CXPULSE_IMPORT_MAX_MB`` megabytes (default 50; bigger files answer
413: import them with ``cxpulse import``); DuckDB reads and checks them within
``IMPORT_MEMORY_MB`` of memory, spilling to disk beyond (a file that still does not fit
answers 413 with what to do, never 500); at most 100 invalid cells are listed in an
answer. On SQLite the request holds the write lock while it stores, so other writes wait
for it: keep API imports small, or use PostgreSQL.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from cxpulse.collect.imports import (
    MAX_SHOWN,
    ImportInputError,
    ImportOptions,
    ImportResult,
    ImportTooLarge,
    InvalidRowsError,
    SurveyTarget,
    import_file,
)
from cxpulse.collect.mapping import MappingError, canonical_field, check_properties, parse_map
from cxpulse.collect.presets import PRESETS
from cxpulse.config import Settings
from cxpulse.engine.files import FORMATS
from cxpulse.store import surveys
from cxpulse.web.access import Caller, Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors, field_error
from cxpulse.web.form_values import over_length, sheet_value
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId, problems
from cxpulse.web.routes.csv_uploads import encoding_named
from cxpulse.web.schemas import FieldProblem
from cxpulse.web.state import app_state

router = APIRouter(prefix="/api/v1", tags=["imports"])

IMPORT_PERMISSIONS = (Permission.RESPONSES_SUBMIT, Permission.CONTACTS_WRITE)
"""An import adds responses and may create contacts: analysts and above, and write keys."""

PresetName = Literal["zendesk", "typeform", "surveymonkey", "qualtrics"]
assert set(PRESETS) == {"zendesk", "typeform", "surveymonkey", "qualtrics"}


def max_upload_bytes(settings: Settings) -> int:
    """``CXPULSE_IMPORT_MAX_MB`` (default 50) in bytes."""
    return max(int(settings.import_max_mb * 1_000_000), 1)


async def _can_import(caller: Caller) -> Principal:
    missing = [p for p in IMPORT_PERMISSIONS if p not in caller.permissions]
    if missing:
        needed = " and ".join(str(p) for p in IMPORT_PERMISSIONS)
        raise HTTPException(403, f"not allowed: importing needs the {needed} permissions")
    return caller


CanImport = Annotated[Principal, Depends(_can_import)]


class InvalidCellOut(BaseModel):
    line: int = Field(description="File line (the header is line 1); Parquet: row number.")
    column: str
    field: str
    value: str | None = Field(description="The cell as written (cut after 200 characters).")
    reason: str


class ImportOut(BaseModel):
    file: str
    survey_id: int
    rows: int = Field(description="Data rows read.")
    imported: int
    already_present: int = Field(description="Rows stored by an earlier import: skipped.")
    duplicates: int = Field(description="Rows repeating an earlier row's response id.")
    blank: int = Field(description="Rows without a score: not stored.")
    invalid: int = Field(description="Rows with an invalid value: skipped (skip_invalid).")
    invalid_rows: list[InvalidCellOut] = Field(description=f"The first {MAX_SHOWN}.")
    unit: str
    contacts_created: int
    key: str = Field(description="How re-imports are recognised: a column, or a content hash.")
    columns: dict[str, str] = Field(description="Field -> the column it was read from.")
    seconds: float


class ImportRefused(BaseModel):
    detail: list[FieldProblem] = Field(
        description="One entry per invalid cell (at most 100): loc is body, file, line, column; "
        "or one entry per invalid form field."
    )
    result: ImportOut | None = Field(
        default=None, description="Counts of the refused file; absent when a form field is wrong."
    )


def _out(survey_id: int, result: ImportResult) -> ImportOut:
    return ImportOut(
        file=result.file,
        survey_id=survey_id,
        rows=result.rows,
        imported=result.imported,
        already_present=result.already_present,
        duplicates=result.duplicates,
        blank=result.blank,
        invalid=result.invalid,
        invalid_rows=[
            InvalidCellOut(
                line=cell.line,
                column=cell.column,
                field=cell.field,
                value=cell.value,
                reason=cell.reason,
            )
            for cell in result.invalid_rows[:MAX_SHOWN]
        ],
        unit=result.unit,
        contacts_created=result.contacts_created,
        key=result.key,
        columns=result.columns,
        seconds=round(result.seconds, 3),
    )


def _mapping(text: str | None) -> dict[str, str]:
    """``score=Rating,comment=Why`` (as on the command line) or a JSON object."""
    if text is None or not text.strip():
        return {}
    try:
        if text.lstrip().startswith("{"):
            document = json.loads(text)
            if not isinstance(document, dict) or not all(
                isinstance(value, str) for value in document.values()
            ):
                raise MappingError("a JSON map must be an object of field names to column names")
            mapping: dict[str, str] = {}
            for name, column in document.items():
                field_name = canonical_field(str(name))
                if field_name in mapping:
                    raise MappingError(f"field {field_name!r} is mapped twice")
                mapping[field_name] = column.strip()
            check_properties(mapping)
            return mapping
        return parse_map([text])
    except ValueError as error:  # MappingError, or JSON that does not parse
        raise FieldErrors.one(["body", "map"], str(error)) from None


def _suffix(upload: UploadFile) -> str:
    suffix = PurePath(upload.filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise FieldErrors.one(
            ["body", "file"],
            f"unsupported file type {suffix or '(none)'!r}: send one of {', '.join(FORMATS)}",
        )
    return suffix


def _spool(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the upload to ``target``, refusing it (413) past ``limit`` bytes."""
    written = 0
    upload.file.seek(0)
    with target.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise HTTPException(
                    413,
                    f"the file is over the API's {limit / 1e6:g} MB import limit: "
                    "import it with `cxpulse import`",
                )
            out.write(chunk)


@router.post(
    "/surveys/{survey_id}/imports",
    operation_id="importResponses",
    summary="Import responses from a file",
    description=(
        "Upload a survey export (CSV, TSV, XLSX, Parquet or JSON lines) as multipart "
        "`file`, with `map` (`score=Rating,comment=Comment,property.agent=Assignee`, or a "
        "JSON object) and/or `preset` (zendesk, typeform, surveymonkey, qualtrics). Scores "
        "must be whole numbers on the survey's scale, dates must parse, texts fit their "
        "limits: any invalid row refuses the whole file (422, nothing stored, the first 100 "
        "problems listed) unless `skip_invalid`. Rows stored by an earlier import of the "
        "same file are skipped, so a retry is safe. Text files are read as UTF-8 (or UTF-16 "
        "with a BOM, or legacy Windows-1252); a file with bytes that are not valid in its "
        "encoding is refused with the line of the first, unless `encoding` names it. "
        "Files up to CXPULSE_IMPORT_MAX_MB "
        f"(default {Settings.model_fields['import_max_mb'].default:g}) MB; see docs/import.md."
    ),
    response_model=ImportOut,
    responses={
        **problems(404),
        413: {
            "description": "The file is over the import size limit, or needs more memory "
            "than an import may use (nothing stored; the message says what to do)."
        },
        422: {
            "model": ImportRefused,
            "description": "Invalid rows (nothing stored), or invalid fields or file.",
        },
    },
)
def import_responses(
    survey_id: SurveyId,
    request: Request,
    caller: CanImport,
    session: DbSession,
    file: Annotated[UploadFile, File(description="The export to import.")],
    map: Annotated[
        str | None,
        Form(max_length=20_000, description="FIELD=COLUMN,... or a JSON object."),
    ] = None,
    preset: Annotated[PresetName | None, Form()] = None,
    skip_invalid: Annotated[bool, Form()] = False,
    date_format: Annotated[
        str | None, Form(max_length=100, description="Such as %d/%m/%Y %H:%M.")
    ] = None,
    timezone: Annotated[
        str | None, Form(max_length=64, description="Of dates without offset; default UTC.")
    ] = None,
    sheet: Annotated[
        str | None, Form(max_length=100, description="Workbook sheet name or number.")
    ] = None,
    encoding: Annotated[
        str | None,
        Form(
            max_length=40,
            description="The text file's encoding, such as windows-1252 or iso-8859-15; "
            "default: UTF-8, UTF-16 with a BOM, or legacy Windows-1252 (docs/import.md).",
        ),
    ] = None,
) -> ImportOut | JSONResponse:
    limit = max_upload_bytes(app_state(request).settings)
    declared = request.headers.get("content-length", "")
    if over_length(declared, limit + 1_000_000):
        raise HTTPException(413, f"the request is over the API's {limit / 1e6:g} MB limit")
    mapping = _mapping(map)
    if preset is None and not mapping:
        raise FieldErrors.one(["body", "map"], "give a map (score=COLUMN,...) or a preset")
    suffix = _suffix(file)
    named = encoding_named(encoding)
    survey = surveys.get_survey(session, caller.organisation_id, survey_id)
    target = SurveyTarget.of(survey)
    options = ImportOptions(
        mapping=mapping,
        preset=preset,
        date_format=date_format or None,
        timezone=timezone or None,
        skip_invalid=skip_invalid,
        sheet=sheet_value(sheet),
        encoding=named,
    )
    stem = re.sub(r"[^\w.\- ]", "_", PurePath(file.filename or "").stem)[:100] or "upload"
    with tempfile.TemporaryDirectory(prefix="cxpulse-upload-") as scratch:
        path = Path(scratch) / (stem + suffix)
        _spool(file, path, limit)
        try:
            result = import_file(session, target, path, options, actor=caller.actor)
        except InvalidRowsError as error:
            session.rollback()
            refused = error.result
            detail = [
                field_error(
                    ["body", "file", cell.line, cell.column],
                    cell.describe(refused.unit),
                    "invalid_row",
                )
                for cell in refused.invalid_rows[:MAX_SHOWN]
            ]
            body: dict[str, Any] = {
                "detail": detail,
                "result": _out(survey_id, refused).model_dump(),
            }
            return JSONResponse(body, status_code=422)
        except ImportTooLarge as error:
            session.rollback()
            raise FieldErrors.one(["body", "file"], str(error), status_code=413) from None
        except ImportInputError as error:
            session.rollback()
            raise FieldErrors.one(["body", "file"], str(error)) from None
    session.commit()
    return _out(survey_id, result)
