"""Browser sessions: a user's own (list, end one, "sign out everywhere"), those of a user of
the organisation for owners and admins, and the signed-in page that lists one's sessions and
changes one's password.

Sessions are rows of ``store.web_sessions``; ending one makes its cookie useless at once, in
every server process. Only users have sessions: an API key calling the "my sessions" routes
gets 403. Owners and admins (``users:manage``) may list and end the sessions of any user of
their organisation, and only owners those of an owner; a user of another organisation is a
404. Every ending is in the audit log.

One module for the API and the page: both are a few lines over the same store calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse

from cxpulse.store import accounts, web_sessions
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import WebSession
from cxpulse.web import audit
from cxpulse.web.access import Caller, CanManageUsers, Principal, form_principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import auth
from cxpulse.web.routes.common import UserId, problems
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, problem_page, render
from cxpulse.web.same_origin import same_origin
from cxpulse.web.schemas import MAX_ID
from cxpulse.web.session_schemas import SessionList, SessionOut, SessionsEnded
from cxpulse.web.state import AppState, app_state, database_turn

router = APIRouter(tags=["sessions"])

SessionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The session's id.")]
SESSIONS_PAGE = "/app/sessions"


def _own_user(caller: Principal) -> int:
    if caller.user_id is None:
        raise HTTPException(403, "not allowed: API keys have no sessions; log in as a user")
    return caller.user_id


def _listed(rows: list[WebSession], current: int | None) -> SessionList:
    return SessionList(
        items=[
            SessionOut.model_validate(row).model_copy(update={"current": row.id == current})
            for row in rows
        ]
    )


# --------------------------------------------------------------------------- my sessions


@router.get(
    "/api/v1/sessions",
    operation_id="listMySessions",
    summary="List my sessions",
    description="The caller's sessions that are valid now, the most recently used first; "
    "`current` marks the one making this request.",
    response_model=SessionList,
    responses=problems(),
)
def list_my_sessions(caller: Caller, session: DbSession) -> SessionList:
    user_id = _own_user(caller)
    rows = web_sessions.list_active(session, caller.organisation_id, user_id)
    return _listed(rows, caller.session_id)


@router.post(
    "/api/v1/sessions/{session_id}/revoke",
    operation_id="revokeMySession",
    summary="End one of my sessions",
    description="Its cookie stops working at once; ending the current session also deletes "
    "its cookies (a logout). Ending an ended session changes nothing.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def revoke_my_session(
    session_id: SessionId, request: Request, caller: Caller, session: DbSession
) -> Response:
    user_id = _own_user(caller)
    web_sessions.revoke(session, caller.organisation_id, user_id, session_id)
    audit.record(session, caller, "revoke", "session", session_id, {"user_id": user_id})
    session.commit()
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    if session_id == caller.session_id:
        auth.clear_session_cookies(answer, app_state(request))
    return answer


@router.post(
    "/api/v1/sessions/revoke-all",
    operation_id="signOutEverywhere",
    summary="Sign out everywhere",
    description="Ends every session of the caller, this one included, and deletes its cookies.",
    response_model=SessionsEnded,
    responses=problems(),
)
def sign_out_everywhere(
    request: Request, response: Response, caller: Caller, session: DbSession
) -> SessionsEnded:
    user_id = _own_user(caller)
    ended = web_sessions.revoke_all(session, caller.organisation_id, user_id)
    audit.record(session, caller, "revoke_all", "session", None, {"user_id": user_id})
    session.commit()
    auth.clear_session_cookies(response, app_state(request))
    return SessionsEnded(ended=ended)


# --------------------------------------------------------------------------- a user's sessions


def _managed_user(session: Any, caller: Principal, user_id: int) -> None:
    """404 for a user of another organisation; 403 for an owner unless the caller is one."""
    target = accounts.get_user(session, caller.organisation_id, user_id)
    if target.role == "owner" and Permission.OWNERS_MANAGE not in caller.permissions:
        raise HTTPException(403, "only an owner may end the sessions of an owner")


@router.get(
    "/api/v1/users/{user_id}/sessions",
    operation_id="listUserSessions",
    summary="List a user's sessions",
    description="The user's sessions that are valid now. Owners and admins.",
    response_model=SessionList,
    responses=problems(404),
)
def list_user_sessions(user_id: UserId, caller: CanManageUsers, session: DbSession) -> SessionList:
    accounts.get_user(session, caller.organisation_id, user_id)
    rows = web_sessions.list_active(session, caller.organisation_id, user_id)
    return _listed(rows, caller.session_id)


@router.post(
    "/api/v1/users/{user_id}/sessions/revoke-all",
    operation_id="revokeUserSessions",
    summary="Sign a user out everywhere",
    description="Ends every session of the user at once (for a lost laptop or a departure; "
    "deactivating the user also ends them). Owners and admins; only owners for an owner.",
    response_model=SessionsEnded,
    responses=problems(404),
)
def revoke_user_sessions(
    user_id: UserId, caller: CanManageUsers, session: DbSession
) -> SessionsEnded:
    _managed_user(session, caller, user_id)
    ended = web_sessions.revoke_all(session, caller.organisation_id, user_id)
    audit.record(session, caller, "revoke_all", "session", None, {"user_id": user_id})
    session.commit()
    return SessionsEnded(ended=ended)


@router.post(
    "/api/v1/users/{user_id}/sessions/{session_id}/revoke",
    operation_id="revokeUserSession",
    summary="End one session of a user",
    description="Owners and admins; only owners for an owner.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def revoke_user_session(
    user_id: UserId, session_id: SessionId, caller: CanManageUsers, session: DbSession
) -> Response:
    _managed_user(session, caller, user_id)
    web_sessions.revoke(session, caller.organisation_id, user_id, session_id)
    audit.record(session, caller, "revoke", "session", session_id, {"user_id": user_id})
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- the page


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _page(
    request: Request, caller: Principal, rows: list[WebSession], extra: dict[str, Any], code: int
) -> HTMLResponse:
    sessions = [
        {
            "id": row.id,
            "browser": row.user_agent or "Unknown browser",
            "source": row.source or "unknown",
            "created": _shown(row.created_at),
            "last_seen": _shown(row.last_seen_at),
            "expires": _shown(row.expires_at),
            "current": row.id == caller.session_id,
        }
        for row in rows
    ]
    return render(request, "app/sessions.html", {"sessions": sessions, **extra}, code)


_NOTICES = {
    "ended": "The session has ended.",
    "password": "Your password is changed; your other sessions have ended.",
}


@router.get(SESSIONS_PAGE, response_class=HTMLResponse, include_in_schema=False)
def sessions_page(
    request: Request, caller: PageCaller, session: DbSession, done: str | None = None
) -> HTMLResponse:
    if caller.user_id is None:
        return problem_page(request, PageProblem(403, "Not allowed", "API keys have no sessions."))
    rows = web_sessions.list_active(session, caller.organisation_id, caller.user_id)
    return _page(request, caller, rows, {"notice": _NOTICES.get(done or "")}, 200)


def _read_form_caller(request: Request, state: AppState, token: str) -> Principal:
    with state.read_sessions() as session:
        return form_principal(request, session, token)


async def _form_caller(request: Request) -> tuple[Principal, dict[str, str]]:
    """The user posting a form of the page, and the form's text fields."""
    if not same_origin(request):
        raise PageProblem(403, "Not done", "The form came from another site.")
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    state = app_state(request)
    try:
        async with database_turn(state, writes=False):
            caller = await run_in_threadpool(
                _read_form_caller, request, state, fields.get("csrf_token", "")
            )
    except HTTPException as error:
        if error.status_code == 401:
            raise PageProblem(401, "Not done", "Your session has ended: log in again.") from None
        raise PageProblem(403, "Not done", str(error.detail)) from None
    if caller.user_id is None:
        raise PageProblem(403, "Not allowed", "API keys have no sessions.")
    return caller, fields


def _end(state: AppState, caller: Principal, session_id: int | None) -> None:
    """End one session of the caller (None: all of them), with its audit entry."""
    assert caller.user_id is not None
    with state.sessions() as session:
        if session_id is None:
            web_sessions.revoke_all(session, caller.organisation_id, caller.user_id)
            audit.record(
                session, caller, "revoke_all", "session", None, {"user_id": caller.user_id}
            )
        else:
            web_sessions.revoke(session, caller.organisation_id, caller.user_id, session_id)
            audit.record(
                session, caller, "revoke", "session", session_id, {"user_id": caller.user_id}
            )
        session.commit()


def _signed_out(request: Request) -> Response:
    answer = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookies(answer, app_state(request))
    return answer


def _problem(request: Request, problem: PageProblem) -> HTMLResponse:
    return problem_page(request, problem, signed_in=problem.status_code != 401, back=SESSIONS_PAGE)


@router.post(SESSIONS_PAGE + "/{session_id}/revoke", include_in_schema=False)
async def revoke_session_form(request: Request, session_id: SessionId) -> Response:
    state = app_state(request)
    try:
        caller, _ = await _form_caller(request)
        async with database_turn(state, writes=True):
            await run_in_threadpool(_end, state, caller, session_id)
    except PageProblem as problem:
        return _problem(request, problem)
    except NotFound:
        return _problem(request, PageProblem(404, "Not found", "You have no such session."))
    if session_id == caller.session_id:
        return _signed_out(request)
    return RedirectResponse(SESSIONS_PAGE + "?done=ended", status_code=303)


@router.post(SESSIONS_PAGE + "/revoke-all", include_in_schema=False)
async def sign_out_everywhere_form(request: Request) -> Response:
    state = app_state(request)
    try:
        caller, _ = await _form_caller(request)
        async with database_turn(state, writes=True):
            await run_in_threadpool(_end, state, caller, None)
    except PageProblem as problem:
        return _problem(request, problem)
    return _signed_out(request)


def _list(state: AppState, caller: Principal) -> list[WebSession]:
    assert caller.user_id is not None
    with state.read_sessions() as session:
        return web_sessions.list_active(session, caller.organisation_id, caller.user_id)


@router.post("/app/password", include_in_schema=False)
async def change_password_form(request: Request) -> Response:
    """The page's password form: the same check, lockout and endings as the API's."""
    state = app_state(request)
    try:
        caller, fields = await _form_caller(request)
    except PageProblem as problem:
        return _problem(request, problem)
    current = fields.get("current_password", "")
    new = fields.get("new_password", "")
    refused: tuple[int, str, dict[str, str]] | None = None
    if not current or not new:
        refused = (422, "Enter your current password and a new one.", {})
    elif new != fields.get("new_password_again", ""):
        refused = (422, "The new password and its repetition differ: type them again.", {})
    else:
        try:
            await auth.change_password(request, caller, current, new)
        except Invalid as error:
            field = error.field.replace("_", " ")
            refused = (422, f"Password not changed: the {field} {error.message}.", {})
        except HTTPException as error:
            headers = dict(error.headers or {})
            refused = (error.status_code, f"Password not changed: {error.detail}.", headers)
    if refused is None:
        return RedirectResponse(SESSIONS_PAGE + "?done=password", status_code=303)
    code, message, headers = refused
    async with database_turn(state, writes=False):
        rows = await run_in_threadpool(_list, state, caller)
    page = _page(request, caller, rows, {"notice": None, "password_error": message}, code)
    page.headers.update(headers)
    return page
