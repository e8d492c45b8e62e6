"""The browser's contact import, in four steps that store nothing until the last:

1. ``GET/POST /app/contacts/import``: upload a CSV file (at most 10 MB, as the API), read
   by the one encoding rule; it is kept on the server (``collect.contact_uploads``: why
   there, and how it is tied to the person's session) and the page moves to step 2;
2. ``GET /app/contacts/import/{token}``: the first rows, and per column a choice of what it
   holds (email, name, external id, phone, language, an attribute, nothing), guessed from
   its heading (``collect.contact_mapping``);
3. ``POST .../check``: every row checked by the rules of every door
   (``collect.contacts_csv``); each bad row listed by its line, or the count to import;
4. ``POST .../import``: the rows checked again and stored all or nothing by the writer of
   ``cxpulse contacts import`` and the API, audited; ``POST .../cancel`` forgets the file.

Every step needs ``contacts:write`` (the API's permission to import) and the form's CSRF
token. The app registers this router without a body limit: each form sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from cxpulse.collect import contact_mapping
from cxpulse.collect.contact_uploads import Owner, Staged, UploadGone, UploadStore, default_folder
from cxpulse.collect.contacts_csv import (
    CsvProblem,
    ParsedContacts,
    Table,
    TargetProblem,
    decode,
    parse_rows,
    read_table,
)
from cxpulse.engine.encoding import EncodingProblem, check_encoding_name
from cxpulse.store import contact_listing
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.form_values import MAX_ID, parse_whole
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.contacts import store_import
from cxpulse.web.routes.csv_uploads import MAX_CSV_BYTES, UPLOAD_BODY_BYTES
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.upload_gate import caller_before_body

router = APIRouter(include_in_schema=False)

BASE = "/app/contacts/import"
Token = Annotated[str, Path(min_length=40, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
FORM_BODY_BYTES = 200_000
"""The steps' forms after the upload: a token, a choice per column (at most a few hundred)."""
MAX_LISTED = 200
"""Problems shown in full; every bad line is also listed by number."""
UPLOADS = UploadStore(default_folder())


def imported_notice(request: Request) -> str | None:
    """The contacts list's notice after an import (``?imported=CREATED-UPDATED``)."""
    created_text, _, updated_text = request.query_params.get("imported", "")[:40].partition("-")
    created = parse_whole(created_text, 0, MAX_ID)
    updated = parse_whole(updated_text, 0, MAX_ID)
    if created is None or updated is None:
        return None
    return f"Imported: {created:,} contacts added, {updated:,} updated."


def _owner(caller: Principal) -> Owner:
    return Owner(caller.organisation_id, caller.user_id, caller.session_id)


def _gone() -> PageProblem:
    return PageProblem(
        404,
        "Upload not found",
        "This upload has expired, was imported or cancelled, or belongs to another session: "
        "upload the file again.",
    )


# -- 1. upload ---------------------------------------------------------------------------------


def _upload_page(
    request: Request, errors: dict[str, str] | None = None, status_code: int = 200
) -> HTMLResponse:
    context = {
        "errors": errors or {},
        "max_mb": MAX_CSV_BYTES // 1_000_000,
        "cancelled": "cancelled" in request.query_params,
    }
    return render_page(request, "app/contacts/import_upload.html", context, status_code)


@router.get(BASE, response_class=HTMLResponse)
def upload_page(request: Request, caller: PageCaller) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.CONTACTS_WRITE)
    except PageProblem as problem:
        return problem_page(request, problem, back="/app/contacts")
    return _upload_page(request)


def _encoding(form: FormData) -> str | None:
    given = form.get("encoding")
    if not isinstance(given, str) or not given.strip():
        return None
    return check_encoding_name(given[:40])


@router.post(BASE, max_body_size=UPLOAD_BODY_BYTES)
async def upload_form(request: Request, session: DbSession) -> Response:
    try:
        # Refused from the headers before the (up to 10 MB) body is read and parsed; the
        # form's CSRF token is checked once it is.
        caller_before_body(request, session, (Permission.CONTACTS_WRITE,))
        caller, form = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
        return await _take(request, caller, form)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, BASE)
    finally:
        # The parsed form's spooled file, also when the form was refused (403): at once.
        await request.close()


async def _take(request: Request, caller: Principal, form: FormData) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _upload_page(request, {"file": "choose a CSV file"}, 422)
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        message = f"is larger than {MAX_CSV_BYTES // 1_000_000} MB: split it into smaller files"
        return _upload_page(request, {"file": message}, 413)
    try:
        text = decode(data, _encoding(form))
        read_table(text)  # a file without a header is refused here, not after the upload
    except EncodingProblem as problem:
        return _upload_page(request, {"encoding": str(problem)}, 422)
    except CsvProblem as problem:
        return _upload_page(request, {"file": str(problem)}, 422)
    token = await run_in_threadpool(UPLOADS.put, _owner(caller), upload.filename, text)
    return RedirectResponse(f"{BASE}/{token}", status_code=303)


# -- 2. the mapping ----------------------------------------------------------------------------


def _mapping_page(
    request: Request,
    session: Session,
    caller: Principal,
    staged: Staged,
    table: Table,
    *,
    chosen: list[str] | None = None,
    problems: list[TargetProblem] | None = None,
    parsed: ParsedContacts | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = contact_listing.attribute_names(session, caller.organisation_id)
    found = problems or []
    row_problems = parsed.problems if parsed else []
    context = {
        "staged": staged,
        "base": f"{BASE}/{staged.token}",
        "columns": contact_mapping.columns(table, names, chosen, found),
        "overall": [p.message for p in found if p.column is None],
        "preview_rows": min(len(table.records), contact_mapping.PREVIEW_ROWS),
        "rows": len(table.records),
        "parsed": parsed,
        "row_problems": row_problems[:MAX_LISTED],
        "bad_lines": _line_ranges(sorted({p.line for p in row_problems})),
        "bad_count": len({p.line for p in row_problems}),
    }
    return render_page(request, "app/contacts/import_mapping.html", context, status_code)


def _line_ranges(lines: list[int]) -> str:
    """``2-5, 9, 12-13``: every bad line, short."""
    parts: list[str] = []
    start = previous = None
    for line in [*lines, None]:
        if line is not None and previous is not None and line == previous + 1:
            previous = line
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}–{previous}")
        start = previous = line
    return ", ".join(parts)


def _staged(caller: Principal, token: str) -> tuple[Staged, Table]:
    staged = UPLOADS.get(_owner(caller), token)
    try:
        return staged, read_table(staged.text)
    except CsvProblem:  # read once at the upload: only a changed file lands here
        raise UploadGone(token) from None


@router.get(BASE + "/{token}", response_class=HTMLResponse)
def mapping_page(
    token: Token, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.CONTACTS_WRITE)
        staged, table = _staged(caller, token)
    except PageProblem as problem:
        return problem_page(request, problem, back="/app/contacts")
    except UploadGone:
        return problem_page(request, _gone(), back=BASE)
    return _mapping_page(request, session, caller, staged, table)


def _choices(form: FormData, table: Table) -> list[str | None]:
    given: list[str | None] = []
    for index in range(len(table.header)):
        value = form.get(f"column-{index}")
        given.append(value[:300] if isinstance(value, str) else None)
    return given


@dataclass(frozen=True)
class Checked:
    """A step's form whose targets and rows are all sound."""

    caller: Principal
    staged: Staged
    table: Table
    targets: list[str]
    parsed: ParsedContacts


async def _checked(request: Request, session: Session, token: str) -> Checked | Response:
    """The posted choices of the steps after the mapping, with every row checked; otherwise
    the page to answer: the form's problem, the upload gone, or the mapping again (422)
    saying what is wrong with the targets or the rows."""
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
        staged, table = _staged(caller, token)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, f"{BASE}/{token}")
    except UploadGone:
        return problem_page(request, _gone(), back=BASE)
    targets, problems = contact_mapping.read_choices(table, _choices(form, table))
    parsed = None if problems else await run_in_threadpool(parse_rows, table, targets)
    if parsed is None or parsed.problems:
        return _mapping_page(
            request,
            session,
            caller,
            staged,
            table,
            chosen=targets,
            problems=problems,
            parsed=parsed,
            status_code=422,
        )
    return Checked(caller, staged, table, targets, parsed)


@router.post(BASE + "/{token}/check", max_body_size=FORM_BODY_BYTES)
async def check_form(token: Token, request: Request, session: DbSession) -> Response:
    checked = await _checked(request, session, token)
    if isinstance(checked, Response):
        return checked
    targets = checked.targets
    context: dict[str, Any] = {
        "staged": checked.staged,
        "base": f"{BASE}/{token}",
        "count": len(checked.parsed.rows),
        "targets": list(enumerate(targets)),
        "mapped": [
            (heading, contact_mapping.FIELD_LABELS.get(target, target.replace(":", ": ", 1)))
            for heading, target in zip(checked.table.header, targets, strict=True)
            if target
        ],
    }
    return render_page(request, "app/contacts/import_confirm.html", context)


# -- 4. import or cancel -----------------------------------------------------------------------


@router.post(BASE + "/{token}/import", max_body_size=FORM_BODY_BYTES)
async def import_form(token: Token, request: Request, session: DbSession) -> Response:
    checked = await _checked(request, session, token)
    if isinstance(checked, Response):
        return checked
    # skip_invalid off: all or nothing, as the API and the command line without the flag.
    result = await run_in_threadpool(
        store_import,
        session,
        checked.caller,
        checked.parsed,
        skip_invalid=False,
        filename=checked.staged.filename,
    )
    UPLOADS.drop(_owner(checked.caller), token)
    return RedirectResponse(
        f"/app/contacts?imported={result.created}-{result.updated}", status_code=303
    )


@router.post(BASE + "/{token}/cancel", max_body_size=FORM_BODY_BYTES)
async def cancel_form(token: Token, request: Request, session: DbSession) -> Response:
    try:
        caller, _ = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, f"{BASE}/{token}")
    if not UPLOADS.drop(_owner(caller), token):
        return page_forms.form_problem(request, _gone(), BASE)
    return RedirectResponse(f"{BASE}?cancelled=1", status_code=303)
