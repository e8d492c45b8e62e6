"""Choosing a password without being signed in: "forgot your password?" and the links of
emails (a colleague's invitation, a password reset).

- ``/password/forgot``: asks for an address and answers the same whatever it is (so that it
  tells nobody which addresses have accounts), rate-limited per client like the login. Each
  active account of the address gets an email (``act.user_emails``) with a one-hour link.
- ``/password/reset/{token}`` and ``/invite/{token}``: the link's form; setting the password
  ends every session of the user, signs them in anew and opens the workspace. A link dies once
  a password is set (``store.user_invitations``), so it works once.

The forms are posted without a session: like the login form, they are refused from another
site. The login page's router (``login_pages``) carries this one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxpulse.act import user_emails
from cxpulse.act.account_links import AccountLinkProblem, AccountLinks, LinkKind
from cxpulse.store import audit, email_addresses, user_invitations
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation, User
from cxpulse.web.routes import auth
from cxpulse.web.routes.dashboard import PageProblem, problem_page, render
from cxpulse.web.same_origin import same_origin
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import SessionData, client_key, retry_after_header

router = APIRouter(include_in_schema=False)

# The worker of this process (CXPULSE_INLINE_WORKER) sends the emails these pages queue.
user_emails.register()

FORGOT_PAGE = "/password/forgot"
Token = Annotated[str, Path(max_length=400)]
LOGIN_NOTICES = {
    "reset": "If an account has that address, an email with a link to choose a new password "
    "is on its way. The link works for one hour.",
}
_TITLES: dict[LinkKind, str] = {
    "invitation": "Join your team on cxpulse",
    "reset": "Choose a new password",
}
_ACTIONS: dict[LinkKind, str] = {"invitation": "accept_invitation", "reset": "reset_password"}


def _links(state: AppState) -> AccountLinks:
    return AccountLinks.from_settings(state.settings)


# --------------------------------------------------------------------------- forgot


def _forgot_page(request: Request, typed: str, errors: dict[str, str], code: int) -> HTMLResponse:
    context: dict[str, Any] = {"email": typed, "errors": errors, "signed_in": False}
    return render(request, "app/password_forgot.html", context, code)


@router.get(FORGOT_PAGE, response_class=HTMLResponse)
def forgot_page(request: Request) -> HTMLResponse:
    return _forgot_page(request, "", {}, 200)


def _queue_resets(state: AppState, email: str, source: str) -> None:
    links = _links(state)
    with state.sessions() as session:
        for user in user_invitations.reset_candidates(session, email):
            if user_emails.enqueue_reset(session, links, user):
                audit.record(
                    session,
                    user.organisation_id,
                    actor=audit.SYSTEM,
                    action="request_password_reset",
                    entity="user",
                    entity_id=user.id,
                    details={"source": source},
                )
        session.commit()


@router.post(FORGOT_PAGE)
async def forgot_form(request: Request) -> Response:
    if not same_origin(request):
        problem = PageProblem(403, "Not sent", "The form came from another site.")
        return problem_page(request, problem, signed_in=False, back=FORGOT_PAGE)
    state = app_state(request)
    address = auth.client_address(request)
    form = await request.form()
    email = str(form.get("email") or "").strip()
    try:
        email_addresses.required_email("email", email)
    except Invalid as error:
        return _forgot_page(request, email, {"email": error.message}, 422)
    # The login's limit, per client: guessing addresses here costs what guessing them there
    # does (and each address gets at most one email every few minutes, see act.user_emails).
    wait = await state.login_limiter.take_async(address)
    if wait > 0:
        errors = {"email": "too many requests from your address: try again in a minute"}
        page = _forgot_page(request, email, errors, 429)
        page.headers["Retry-After"] = retry_after_header(wait)
        return page
    async with database_turn(state, writes=True):
        await run_in_threadpool(_queue_resets, state, email, client_key(address))
    # The same answer whether or not the address has an account.
    return RedirectResponse("/login?done=reset", status_code=303)


# --------------------------------------------------------------------------- the links' forms


def _dead(request: Request, kind: LinkKind, error: Exception) -> HTMLResponse:
    """The page of a link that does not work (expired, damaged, used or replaced)."""
    if isinstance(error, AccountLinkProblem):
        why = "The link has expired." if error.expired else "The link is damaged."
    else:
        why = "The link has been used already, or a newer one replaced it."
    if kind == "reset":
        message = f"{why} Ask for a new link: password links work once, for one hour."
        back = FORGOT_PAGE
    else:
        message = (
            f"{why} An invitation works once, for seven days: ask the colleague who invited "
            "you to send it again, or log in if you have chosen your password already."
        )
        back = "/login"
    problem = PageProblem(410, "This link no longer works", message)
    return problem_page(request, problem, signed_in=False, back=back)


def _holder(state: AppState, kind: LinkKind, token: str) -> tuple[User, Organisation]:
    """The user the link is for and their organisation; raises when the link is dead."""
    found = _links(state).read(kind, token)
    with state.read_sessions() as session:
        user = user_invitations.open_link(
            session, found.user_id, found.mark, invitation=kind == "invitation"
        )
        organisation = session.get(Organisation, user.organisation_id)
        assert organisation is not None
        session.expunge_all()
    return user, organisation


async def _link_page(request: Request, kind: LinkKind, token: str) -> HTMLResponse:
    state = app_state(request)
    try:
        async with database_turn(state, writes=False):
            user, organisation = await run_in_threadpool(_holder, state, kind, token)
    except (AccountLinkProblem, user_invitations.DeadLink) as error:
        return _dead(request, kind, error)
    return _choose_page(request, kind, token, user, organisation, {}, 200)


def _choose_page(
    request: Request,
    kind: LinkKind,
    token: str,
    user: User,
    organisation: Organisation,
    errors: dict[str, str],
    code: int,
) -> HTMLResponse:
    action = f"/invite/{token}" if kind == "invitation" else f"/password/reset/{token}"
    context: dict[str, Any] = {
        "kind": kind,
        "title": _TITLES[kind],
        "action": action,
        "user_email": user.email,
        "user_name": user.name or "",
        "organisation": organisation.name,
        "errors": errors,
        "signed_in": False,
    }
    return render(request, "app/password_choose.html", context, code)


def _choose(
    state: AppState, kind: LinkKind, token: str, password: str, request: Request
) -> SessionData:
    """Set the password through the link, end the user's sessions and start a new one."""
    found = _links(state).read(kind, token)
    with state.sessions() as session:
        user = user_invitations.open_link(
            session, found.user_id, found.mark, invitation=kind == "invitation", lock=True
        )
        ended = user_invitations.choose_password(session, user, password)
        data, session_id = auth.start_session(
            state,
            session,
            user,
            user_agent=request.headers.get("user-agent"),
            source=auth.client_address(request),
        )
        audit.record(
            session,
            user.organisation_id,
            actor=audit.user_actor(user.id),
            action=_ACTIONS[kind],
            entity="user",
            entity_id=user.id,
            details={"sessions_ended": ended, "session_id": session_id},
        )
        session.commit()
    return data


async def _choose_form(request: Request, kind: LinkKind, token: str) -> Response:
    if not same_origin(request):
        problem = PageProblem(403, "Not saved", "The form came from another site.")
        return problem_page(request, problem, signed_in=False)
    state = app_state(request)
    form = await request.form()
    password = str(form.get("password") or "")
    again = str(form.get("password_again") or "")
    try:
        if password != again:
            async with database_turn(state, writes=False):
                user, organisation = await run_in_threadpool(_holder, state, kind, token)
            errors = {"password_again": "differs from the password: type both again"}
            return _choose_page(request, kind, token, user, organisation, errors, 422)
        try:
            async with database_turn(state, writes=True):
                data = await run_in_threadpool(_choose, state, kind, token, password, request)
        except Invalid as error:
            async with database_turn(state, writes=False):
                user, organisation = await run_in_threadpool(_holder, state, kind, token)
            errors = {"password": error.message}
            return _choose_page(request, kind, token, user, organisation, errors, 422)
    except (AccountLinkProblem, user_invitations.DeadLink) as error:
        return _dead(request, kind, error)
    answer = RedirectResponse("/app", status_code=303)
    auth.set_session_cookies(answer, state, data)
    return answer


@router.get("/password/reset/{token}", response_class=HTMLResponse)
async def reset_page(request: Request, token: Token) -> HTMLResponse:
    return await _link_page(request, "reset", token)


@router.post("/password/reset/{token}")
async def reset_form(request: Request, token: Token) -> Response:
    return await _choose_form(request, "reset", token)


@router.get("/invite/{token}", response_class=HTMLResponse)
async def invitation_page(request: Request, token: Token) -> HTMLResponse:
    return await _link_page(request, "invitation", token)


@router.post("/invite/{token}")
async def invitation_form(request: Request, token: Token) -> Response:
    return await _choose_form(request, "invitation", token)
