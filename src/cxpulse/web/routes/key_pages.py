"""The API keys page, plain HTML forms that work without JavaScript:

- ``/app/keys``: the organisation's keys (name, scope, created, last use, revoked) and a
  form to create one; the new key is shown on the answer to that form, once, in a box to
  copy (a redirect would have to carry it in a URL);
- ``/app/keys/{id}/revoke``: a confirmation page whose form revokes the key.

Everything needs ``keys:manage`` (admins and owners), as ``/api/v1/api-keys`` does, and calls
the same store functions (``store.accounts``) and audit entries. Forms carry the page's CSRF
token (``page_forms.form_caller``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.store import accounts
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import API_KEY_SCOPES, ApiKey
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.form_refusals import NO_REFUSAL, Refusal, refused
from cxpulse.web.routes.page_access import permitted_page
from cxpulse.web.routes.page_moments import when
from cxpulse.web.schemas import MAX_SMALL_ID
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)

KeyId = Annotated[int, Path(ge=1, le=MAX_SMALL_ID)]
LIST = "/app/keys"
SCOPE_WORDS = {
    "read": "Read: surveys, scores, answers, contacts and exports; changes nothing.",
    "write": "Write: reading, and also sending answers, changing surveys and contacts.",
}
MAX_NAME = 100


def _row(key: ApiKey, names: dict[int, str]) -> dict[str, Any]:
    return {
        "key": key,
        "created": when(key.created_at),
        "created_by": names.get(key.created_by or 0, ""),
        "last_used": when(key.last_used_at),
        "revoked": when(key.revoked_at) if key.revoked_at else None,
    }


def _typed(form: FormData | None) -> dict[str, str]:
    if form is None:
        return {"scope": "read"}
    return {name: value for name, value in form.multi_items() if isinstance(value, str)}


def _list_page(
    request: Request,
    session: Session,
    caller: Principal,
    refusal: Refusal = NO_REFUSAL,
    *,
    created: tuple[ApiKey, str] | None = None,
) -> HTMLResponse:
    org = caller.organisation_id
    names = {user.id: user.name or user.email for user in accounts.list_users(session, org)}
    keys = accounts.list_api_keys(session, org)
    context = {
        "rows": [_row(key, names) for key in reversed(keys)],
        "scopes": [(scope, SCOPE_WORDS.get(scope, scope)) for scope in API_KEY_SCOPES],
        "errors": refusal.errors,
        "typed": _typed(refusal.form),
        "max_name": MAX_NAME,
        "created": created,
        "notice": "The key was revoked: it stopped working at once."
        if "revoked" in request.query_params
        else None,
    }
    status = 201 if created is not None else refusal.status_code
    return render_page(request, "app/keys/list.html", context, status)


@router.get("/app/keys", response_class=HTMLResponse)
def keys_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return permitted_page(request, session, caller, Permission.KEYS_MANAGE, _list_page)


@router.post("/app/keys")
async def create_key_form(request: Request, session: DbSession) -> Response:
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.KEYS_MANAGE)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, LIST)
    name = form.get("name")
    scope = form.get("scope")
    try:
        key, plaintext = accounts.create_api_key(
            session,
            caller.organisation_id,
            name=name.strip() if isinstance(name, str) else "",
            scope=scope if isinstance(scope, str) else "",
            created_by=caller.user_id,
        )
        audit.record(
            session, caller, "create", "api_key", key.id, {"name": key.name, "scope": key.scope}
        )
        session.commit()
    except Invalid as error:
        session.rollback()
        return _list_page(request, session, caller, refused(error, form))
    # Shown on this answer only (the page is never stored: Cache-Control no-store).
    return _list_page(request, session, caller, created=(key, plaintext))


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such API key in your organisation.")


@router.get("/app/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_page(
    key_id: KeyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.KEYS_MANAGE)
        key = accounts.get_api_key(session, caller.organisation_id, key_id)
    except PageProblem as problem:
        return problem_page(request, problem)
    except NotFound:
        return problem_page(request, _missing(), back=LIST)
    context = {"key": key, "last_used": when(key.last_used_at), "revoked": key.revoked_at}
    return render_page(request, "app/keys/revoke.html", context)


@router.post("/app/keys/{key_id}/revoke")
async def revoke_key_form(request: Request, key_id: KeyId, session: DbSession) -> Response:
    try:
        caller, _ = await page_forms.form_caller(request, session, Permission.KEYS_MANAGE)
        key = accounts.revoke_api_key(session, caller.organisation_id, key_id)
        audit.record(session, caller, "revoke", "api_key", key.id)
        session.commit()
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, LIST)
    except NotFound:
        return problem_page(request, _missing(), back=LIST)
    # Other processes notice at their next submission's transaction (see ``key_cache``).
    app_state(request).api_keys.forget(key.id)
    return RedirectResponse(f"{LIST}?revoked=1", status_code=303)
