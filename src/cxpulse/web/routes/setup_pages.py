"""The first run's set-up page, ``/setup``: on a database without any user, it creates the
organisation and its owner, signs the owner in and opens the workspace.

The rule (only while no user exists; the check and the insert in one transaction that no
other set-up interleaves with) is ``store.first_run``'s; this module parses the form, runs it
and renders the answer. Once a user exists the page is a 404, for a replayed form too. The
form is posted without a session, so like the login form it is refused from another site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxpulse.store import audit, first_run
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.web.routes import auth
from cxpulse.web.routes.dashboard import PageProblem, problem_page, render
from cxpulse.web.same_origin import same_origin
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import SessionData

router = APIRouter(include_in_schema=False)

SETUP_PAGE = "/setup"
_FIELDS = ("organisation_name", "name", "email")
_GONE = PageProblem(404, "Not found", "cxpulse is set up already: log in instead.")


@dataclass(frozen=True)
class _Done:
    session: SessionData


def _needs_set_up(state: AppState) -> bool:
    with state.read_sessions() as session:
        return first_run.needs_set_up(session)


async def needs_set_up(request: Request) -> bool:
    """Whether the database has no user yet (for the front door and the login page)."""
    state = app_state(request)
    async with database_turn(state, writes=False):
        return await run_in_threadpool(_needs_set_up, state)


def _page(
    request: Request, typed: dict[str, str], errors: dict[str, str], code: int = 200
) -> HTMLResponse:
    context: dict[str, Any] = {"typed": typed, "errors": errors, "signed_in": False}
    return render(request, "app/setup.html", context, code)


def _gone(request: Request) -> HTMLResponse:
    return problem_page(request, _GONE, signed_in=False, back="/login")


@router.get(SETUP_PAGE, response_class=HTMLResponse)
async def setup_page(request: Request) -> HTMLResponse:
    if not await needs_set_up(request):
        return _gone(request)
    return _page(request, {}, {})


def _set_up(state: AppState, fields: dict[str, str], request: Request) -> _Done:
    with state.sessions() as session:
        made = first_run.set_up(
            session,
            organisation_name=fields.get("organisation_name", ""),
            owner_name=fields.get("name", ""),
            email=fields.get("email", ""),
            password=fields.get("password", ""),
        )
        data, session_id = auth.start_session(
            state,
            session,
            made.owner,
            user_agent=request.headers.get("user-agent"),
            source=auth.client_address(request),
        )
        audit.record(
            session,
            made.organisation.id,
            actor=audit.user_actor(made.owner.id),
            action="set_up",
            entity="organisation",
            entity_id=made.organisation.id,
            details={"owner_id": made.owner.id, "session_id": session_id},
        )
        session.commit()
    return _Done(data)


@router.post(SETUP_PAGE)
async def setup_form(request: Request) -> Response:
    if not same_origin(request):
        problem = PageProblem(403, "Not set up", "The form came from another site.")
        return problem_page(request, problem, signed_in=False)
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    typed = {name: fields.get(name, "") for name in _FIELDS}
    state = app_state(request)
    if fields.get("password", "") != fields.get("password_again", ""):
        errors = {"password_again": "differs from the password: type both again"}
        return _page(request, typed, errors, 422)
    try:
        async with database_turn(state, writes=True):
            done = await run_in_threadpool(_set_up, state, fields, request)
    except first_run.AlreadySetUp:
        return _gone(request)
    except (Invalid, Conflict) as error:
        return _page(request, typed, {error.field: error.message}, 422)
    answer = RedirectResponse("/app", status_code=303)
    auth.set_session_cookies(answer, state, done.session)
    return answer
