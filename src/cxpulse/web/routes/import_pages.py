"""The signed-in pages of imports of past answers, plain HTML that works without JavaScript:

- ``/app/imports``: the imports made from the browser (survey, file, preset, rows stored and
  rejected, who, when, undone);
- ``/app/imports/new`` (``?survey=ID``): choose the survey and upload a file (CSV, TSV,
  XLSX, Parquet, JSON lines; at most ``CXPULSE_IMPORT_MAX_MB``);
- ``/app/imports/new/{token}``: map its columns (a preset, or field by field), preview the
  first rows as they will be read (``?preview=1``, a GET: nothing changes), and post to
  import; the answer is the line-numbered report;
- ``/app/imports/{id}``: one import, and ``/app/imports/{id}/undo`` (a confirmation, then a
  post) to delete exactly the answers it stored.

The permissions are those of the import API (``import_upload.IMPORT_PERMISSIONS``); undoing
also needs ``responses:delete``. Uploads wait server-side between the steps
(``collect.import_uploads``), found by a random token and only by their uploader. This
router is registered without a body limit: the upload post applies the import limit itself,
while it reads the body, and every other post is small.

It is over the usual 400 lines because it is one flow: the three steps share the upload
lookup, the mapping context and the refusals, and read best together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message

from cxpulse.collect.import_options import ImportOptions, SurveyTarget
from cxpulse.collect.import_preview import file_columns
from cxpulse.collect.import_results import ImportFailed, InvalidRowsError
from cxpulse.collect.import_runs import ImportPreview, preview_import, run_import
from cxpulse.collect.import_uploads import StagedUpload, UnsafeUploadFolder, UploadStore
from cxpulse.collect.presets import PRESETS
from cxpulse.engine.files import FORMATS
from cxpulse.store import import_runs, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Survey
from cxpulse.web import audit, import_forms
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.form_values import MAX_ID, MAX_SMALL_ID, over_length, parse_id, sheet_value
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, render
from cxpulse.web.routes.import_upload import IMPORT_PERMISSIONS, max_upload_bytes
from cxpulse.web.routes.page_flow import guarded_page
from cxpulse.web.routes.upload_gate import caller_before_body_in_turn
from cxpulse.web.state import app_state, database_turn

router = APIRouter(include_in_schema=False)
logger = logging.getLogger("cxpulse.web")

RunId = Annotated[int, Path(ge=1, le=MAX_ID)]
Token = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
UNDO_PERMISSIONS = (*IMPORT_PERMISSIONS, Permission.RESPONSES_DELETE)
FORM_ROOM = 1_000_000
"""Bytes of a multipart body beyond the file: its framing and the other fields."""

UPLOADS = UploadStore()
"""Where uploads wait between the steps (tests may point ``UPLOADS.root`` elsewhere)."""


def _allowed(caller: Principal, permissions: Sequence[Permission] = IMPORT_PERMISSIONS) -> None:
    for permission in permissions:
        check_allowed(caller, permission)


def _survey_choices(session: Session, organisation_id: int) -> list[Survey]:
    return [
        survey
        for survey in surveys.list_surveys(session, organisation_id, include_archived=False)
        if survey.status != "closed"
    ] or surveys.list_surveys(session, organisation_id, include_archived=False)


# -- the list ----------------------------------------------------------------------------------


@router.get("/app/imports", response_class=HTMLResponse)
def imports_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return guarded_page(
        request, caller, IMPORT_PERMISSIONS, lambda: _imports_page(request, session, caller)
    )


def _imports_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    names = {s.id: s.name for s in surveys.list_surveys(session, caller.organisation_id)}
    rows = import_runs.list_runs(session, caller.organisation_id)
    context = {"rows": rows, "names": names, "presets": PRESETS}
    return render(request, "app/imports/list.html", context)


# -- step 1: the upload ------------------------------------------------------------------------


def _upload_page(
    request: Request,
    choices: list[Survey],
    *,
    survey_id: int | None,
    limit: int,
    errors: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "surveys": choices,
        "survey_id": survey_id,
        "errors": dict(errors or {}),
        "limit_mb": limit / 1e6,
        "formats": ", ".join(FORMATS),
        "accept": ",".join(FORMATS),
    }
    return render(request, "app/imports/new.html", context, status_code)


@router.get("/app/imports/new", response_class=HTMLResponse)
def new_import_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return guarded_page(
        request, caller, IMPORT_PERMISSIONS, lambda: _new_import_page(request, session, caller)
    )


def _new_import_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    limit = max_upload_bytes(app_state(request).settings)
    choices = _survey_choices(session, caller.organisation_id)
    survey_id = parse_id(request.query_params.get("survey"), MAX_SMALL_ID)
    return _upload_page(request, choices, survey_id=survey_id, limit=limit)


class _TooLarge(Exception):
    pass


def _limited(request: Request, limit: int) -> Request:
    """``request`` reading at most ``limit`` bytes of body (``_TooLarge`` beyond)."""
    received = 0
    upstream = request.receive

    async def receive() -> Message:
        nonlocal received
        message = await upstream()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
        return message

    return Request(request.scope, receive)


def _too_large(request: Request, limit: int) -> HTMLResponse:
    problem = PageProblem(
        413,
        "File too large",
        f"The file is over the {limit / 1e6:g} MB import limit. Split it into smaller files "
        "(rows stored before are skipped), or import it with `cxpulse import`.",
    )
    return page_forms.form_problem(request, problem, "/app/imports/new")


def _chunks(upload: UploadFile) -> Iterator[bytes]:
    upload.file.seek(0)
    return iter(lambda: upload.file.read(1 << 20), b"")


@router.post("/app/imports/new")
async def upload_form(request: Request) -> Response:
    back = "/app/imports/new"
    limit = max_upload_bytes(app_state(request).settings)
    if over_length(request.headers.get("content-length"), limit + FORM_ROOM):
        return _too_large(request, limit)
    # Who posts is checked from the headers before a byte of the body is read; the body is
    # then read holding no database connection (a slow upload holds none), and the form's
    # CSRF token checked after it (``_staged``).
    try:
        await caller_before_body_in_turn(request, IMPORT_PERMISSIONS)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, back)
    reading = _limited(request, limit + FORM_ROOM)
    try:
        form = await reading.form(max_files=1, max_fields=20)
    except _TooLarge:
        return _too_large(request, limit)
    try:
        return await _staged(reading, form, limit, back)
    finally:
        await form.close()


async def _staged(request: Request, form: FormData, limit: int, back: str) -> Response:
    state = app_state(request)
    async with database_turn(state, writes=False):
        with state.read_sessions() as session:
            try:
                caller, _ = await page_forms.form_caller(
                    request, session, Permission.RESPONSES_SUBMIT
                )
                _allowed(caller)
            except PageProblem as problem:
                return page_forms.form_problem(request, problem, back)
            choices = _survey_choices(session, caller.organisation_id)
    chosen = str(form.get("survey_id") or "")
    survey = next((s for s in choices if str(s.id) == chosen), None)
    errors: dict[str, str] = {}
    if survey is None:
        errors["survey_id"] = "choose the survey the answers belong to"
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "choose a file to upload"
    elif (upload.size or 0) > limit:
        return _too_large(request, limit)
    elif not any(upload.filename.lower().endswith(suffix) for suffix in FORMATS):
        errors["file"] = f"is not one of the formats read: {', '.join(FORMATS)}"
    if errors or survey is None or not isinstance(upload, UploadFile):
        return _upload_page(
            request,
            choices,
            survey_id=survey.id if survey else None,
            limit=limit,
            errors=errors,
            status_code=422,
        )
    assert caller.user_id is not None
    try:
        staged = await run_in_threadpool(
            UPLOADS.save,
            _chunks(upload),
            filename=upload.filename or "",
            organisation_id=caller.organisation_id,
            user_id=caller.user_id,
            survey_id=survey.id,
        )
    except UnsafeUploadFolder as unsafe:
        return page_forms.form_problem(request, _unsafe(unsafe), back)
    try:
        await run_in_threadpool(file_columns, staged.path)
    except ImportFailed as error:
        UPLOADS.remove(staged)
        return _upload_page(
            request,
            choices,
            survey_id=survey.id,
            limit=limit,
            errors={"file": str(error)},
            status_code=422,
        )
    return RedirectResponse(f"/app/imports/new/{staged.token}", status_code=303)


# -- step 2: mapping and preview ---------------------------------------------------------------


def _unsafe(error: UnsafeUploadFolder) -> PageProblem:
    logger.error("%s", error)
    return PageProblem(
        503,
        "Uploads unavailable",
        "The server's folder for uploads is not private to it, so nothing is kept there. "
        "The administrator finds the details in the server's log.",
    )


def _staged_upload(caller: Principal, token: str) -> StagedUpload:
    # Pages are signed in as a user (API keys do not reach them): 0 matches no upload.
    try:
        found = UPLOADS.find(
            token, organisation_id=caller.organisation_id, user_id=caller.user_id or 0
        )
    except UnsafeUploadFolder as unsafe:
        raise _unsafe(unsafe) from None
    if found is None:
        raise PageProblem(
            404,
            "Upload not found",
            "This upload has expired or was imported already (uploads wait an hour). "
            "Upload the file again.",
        )
    return found


def _survey_gone() -> PageProblem:
    return PageProblem(404, "Not found", "The survey of this upload no longer exists.")


def _guess(columns: Sequence[str]) -> dict[str, list[str]]:
    """Field -> the columns named like it, to choose first when no preset is chosen."""
    words = {
        "score": ("score", "rating"),
        "submitted_at": ("submitted_at", "submitted at", "date", "created_at"),
        "comment": ("comment", "comments"),
        "channel": ("channel",),
        "touchpoint": ("touchpoint",),
        "language": ("language", "lang"),
        "contact": ("contact", "email", "customer_id"),
        "id": ("id", "response_id"),
    }
    folded = {column.strip().casefold(): column for column in columns}
    return {
        name: [folded[word] for word in found if word in folded] for name, found in words.items()
    }


def _mapping_context(
    upload: StagedUpload,
    survey: Survey,
    columns: list[str],
    form: import_forms.MappingForm,
    *,
    posted: bool = False,
) -> dict[str, Any]:
    return {
        "posted": posted,
        "preview": None,
        "upload": upload,
        "survey": survey,
        "columns": columns,
        "form": form,
        "errors": form.errors,
        "labels": import_forms.FIELD_LABELS,
        "presets": PRESETS,
        "auto": import_forms.AUTO,
        "none": import_forms.NONE,
        "query": form.query(),
        "property_name": import_forms.property_name,
    }


def _options(form: import_forms.MappingForm) -> ImportOptions:
    return ImportOptions(
        mapping=form.mapping,
        preset=form.preset or None,
        date_format=form.date_format or None,
        timezone=form.timezone or None,
        skip_invalid=form.skip_invalid,
        # Not ``form.sheet_choice``, whose ``isdigit`` takes "²" for a number.
        sheet=sheet_value(form.sheet),
        encoding=form.encoding or None,
    )


def _values(params: Any) -> dict[str, list[str]]:
    return {key: [str(v) for v in params.getlist(key)] for key in params}


@router.get("/app/imports/new/{token}", response_class=HTMLResponse)
def mapping_page(
    token: Token, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return guarded_page(
        request,
        caller,
        IMPORT_PERMISSIONS,
        lambda: _mapping_page(request, session, caller, token),
        back="/app/imports/new",
        missing=_survey_gone(),
    )


def _mapping_page(
    request: Request, session: Session, caller: Principal, token: str
) -> HTMLResponse:
    upload = _staged_upload(caller, token)
    survey = surveys.get_survey(session, caller.organisation_id, upload.survey_id)
    params = request.query_params
    wanted = "preview" in params
    try:
        columns = file_columns(
            upload.path,
            sheet=sheet_value(params.get("sheet")),
            encoding=params.get("encoding", "").strip() or None,
        )
    except ImportFailed as error:
        columns, problem_text = [], str(error)
    else:
        problem_text = ""
    if wanted:
        form = import_forms.read_mapping(_values(params), columns)
    else:
        guessed = _guess(columns)
        form = import_forms.MappingForm(
            fields={
                name: (found[0] if found else import_forms.AUTO) for name, found in guessed.items()
            }
        )
    if problem_text:
        form.errors[import_forms.problem_field(problem_text)] = problem_text
    preview: ImportPreview | None = None
    if wanted and not form.errors:
        try:
            preview = preview_import(upload.path, SurveyTarget.of(survey), _options(form))
        except ImportFailed as error:
            form.errors[import_forms.problem_field(str(error))] = str(error)
    context = _mapping_context(upload, survey, columns, form)
    context["preview"] = preview
    status = 422 if wanted and form.errors else 200
    return render(request, "app/imports/map.html", context, status)


# -- step 3: the import ------------------------------------------------------------------------


def _import(
    session: Session,
    caller: Principal,
    upload: StagedUpload,
    survey: Survey,
    form: import_forms.MappingForm,
) -> tuple[int | None, Any]:
    """The run's id and result, or (None, refused result) for invalid rows not skipped."""
    try:
        outcome = run_import(
            session,
            SurveyTarget.of(survey),
            upload.path,
            _options(form),
            filename=upload.filename,
            created_by=caller.user_id,
            actor=caller.actor,
        )
    except InvalidRowsError as error:
        session.rollback()
        return None, error.result
    except ImportFailed:
        session.rollback()
        raise
    session.commit()
    return outcome.run_id, outcome.result


@router.post("/app/imports/new/{token}")
async def import_form(token: Token, request: Request, session: DbSession) -> Response:
    back = f"/app/imports/new/{token}"
    try:
        caller, posted = await page_forms.form_caller(request, session, Permission.RESPONSES_SUBMIT)
        _allowed(caller)
        upload = _staged_upload(caller, token)
        survey = surveys.get_survey(session, caller.organisation_id, upload.survey_id)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, back)
    except NotFound:
        return page_forms.form_problem(request, _survey_gone(), "/app/imports/new")
    form_values = {key: [str(v) for v in posted.getlist(key)] for key in posted}
    try:
        columns = await run_in_threadpool(
            file_columns,
            upload.path,
            sheet=sheet_value(str(posted.get("sheet") or "")),
            encoding=str(posted.get("encoding") or "").strip() or None,
        )
    except ImportFailed as error:
        columns = []
        failed: str | None = str(error)
    else:
        failed = None
    form = import_forms.read_mapping(form_values, columns, posted=True)
    if failed:
        form.errors[import_forms.problem_field(failed)] = failed
    if form.errors:
        context = _mapping_context(upload, survey, columns, form, posted=True)
        return render(request, "app/imports/map.html", context, 422)
    try:
        run_id, result = await run_in_threadpool(_import, session, caller, upload, survey, form)
    except ImportFailed as error:
        form.errors[import_forms.problem_field(str(error))] = str(error)
        context = _mapping_context(upload, survey, columns, form, posted=True)
        return render(request, "app/imports/map.html", context, 422)
    if run_id is not None:
        UPLOADS.remove(upload)
    context = {
        "result": result,
        "run_id": run_id,
        "survey": survey,
        "upload": upload,
        "back": back + "?" + urlencode([*form.query(), ("preview", "1")]),
    }
    return render(request, "app/imports/result.html", context, 200 if run_id else 422)


# -- one import, and undoing it ----------------------------------------------------------------


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such import in your organisation.")


def _run_context(session: Session, caller: Principal, run_id: int) -> dict[str, Any]:
    row = import_runs.get_run(session, caller.organisation_id, run_id)
    survey = session.get(Survey, row.run.survey_id)
    return {
        "row": row,
        "run": row.run,
        "survey": survey,
        "still_stored": import_runs.stored_count(session, caller.organisation_id, run_id),
        "presets": PRESETS,
        "can_undo": all(p in caller.permissions for p in UNDO_PERMISSIONS),
    }


@router.get("/app/imports/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: RunId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    def build() -> HTMLResponse:
        context = _run_context(session, caller, run_id)
        context["notice"] = "The import was undone." if "undone" in request.query_params else None
        return render(request, "app/imports/run.html", context)

    return guarded_page(
        request, caller, IMPORT_PERMISSIONS, build, missing=_missing(), missing_back="/app/imports"
    )


@router.get("/app/imports/{run_id}/undo")
def undo_page(run_id: RunId, request: Request, caller: PageCaller, session: DbSession) -> Response:
    def build() -> Response:
        context = _run_context(session, caller, run_id)
        if context["run"].undone_at is not None:
            return RedirectResponse(f"/app/imports/{run_id}", status_code=303)
        return render(request, "app/imports/undo.html", context)

    return guarded_page(
        request,
        caller,
        UNDO_PERMISSIONS,
        build,
        back=f"/app/imports/{run_id}",
        missing=_missing(),
        missing_back="/app/imports",
    )


@router.post("/app/imports/{run_id}/undo")
async def undo_form(run_id: RunId, request: Request, session: DbSession) -> Response:
    back = f"/app/imports/{run_id}"
    try:
        caller, _ = await page_forms.form_caller(request, session, Permission.RESPONSES_DELETE)
        _allowed(caller, UNDO_PERMISSIONS)
        undone = await run_in_threadpool(
            import_runs.undo_run, session, caller.organisation_id, run_id
        )
        if undone.changed:
            audit.record(
                session,
                caller,
                "undo",
                "import",
                run_id,
                {
                    "file": undone.run.filename,
                    "survey_id": undone.run.survey_id,
                    "deleted": undone.deleted,
                },
            )
        await run_in_threadpool(session.commit)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, back)
    except NotFound:
        return page_forms.form_problem(request, _missing(), "/app/imports")
    return RedirectResponse(f"{back}?undone=1", status_code=303)
