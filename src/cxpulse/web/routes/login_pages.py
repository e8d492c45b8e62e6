"""Signing in and out of the web UI with plain HTML forms, and the service's front door.

The login form runs the JSON login of ``routes/auth.py`` itself (same rate limit, lockouts,
password check, new session, audit entry and cookies) and turns its answer into a page or a
redirect. Logging out ends the session on the server, not only in the browser. On a
database without any user, the front door and the login page lead to the set-up page
(``setup_pages``). Forgotten passwords and accepted invitations are ``password_pages``'s.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from cxpulse.store import web_sessions
from cxpulse.web.access import csrf_matches
from cxpulse.web.deps import DbSession
from cxpulse.web.routes import auth, password_pages, setup_pages
from cxpulse.web.routes.dashboard import PageProblem, problem_page, render
from cxpulse.web.same_origin import same_origin
from cxpulse.web.schemas import LoginIn
from cxpulse.web.state import app_state
from cxpulse.web.tokens import SESSION_COOKIE

router = APIRouter(include_in_schema=False)
# The pages that choose a password through an emailed link live in a module of their own;
# this router carries them, as the app registers this module.
router.include_router(password_pages.router)


def _safe_next(target: str | None) -> str:
    """Only our own pages: an absolute or protocol-relative URL would be an open redirect."""
    if target and target.startswith("/app") and not target.startswith("//"):
        return target
    return "/app"


@router.get("/", include_in_schema=False)
async def home(request: Request) -> RedirectResponse:
    """The service's front door: the dashboard (which asks for a login first), or the
    set-up page while nobody has an account."""
    if await setup_pages.needs_set_up(request):
        return RedirectResponse(setup_pages.SETUP_PAGE, status_code=303)
    return RedirectResponse("/app", status_code=303)


@router.get("/login", response_class=HTMLResponse, response_model=None)
async def login_page(request: Request, next: str | None = None) -> Response:
    if await setup_pages.needs_set_up(request):
        return RedirectResponse(setup_pages.SETUP_PAGE, status_code=303)
    notice = password_pages.LOGIN_NOTICES.get(request.query_params.get("done", ""))
    context = {"next": _safe_next(next), "email": "", "notice": notice}
    return render(request, "app/login.html", context)


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The HTML form's login: it runs the JSON login itself (same rate limit, password check,
    audit entry and cookies) and turns its answer into a page or a redirect."""
    if not same_origin(request):
        # Login CSRF: another site must not sign a visitor in to an account of its choosing.
        return render(
            request,
            "app/login.html",
            {"next": "/app", "email": "", "error": "Please log in from this site's login page."},
            403,
        )
    form = await request.form()
    email = str(form.get("email") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    context = {"next": target, "email": email}
    try:
        body = LoginIn(email=email, password=password)
    except ValidationError:
        body = None
    if body is None or not email or not password:
        return render(
            request,
            "app/login.html",
            {**context, "error": "Enter your email address and your password."},
            422,
        )
    cookies = Response()
    try:
        await auth.login(body, request, cookies)
    except HTTPException as error:
        if error.status_code != 429:
            message = "Wrong email or password."
        else:
            # Which limit, and for how long: the API's words, as a sentence.
            detail = str(error.detail)
            message = f"{detail[:1].upper()}{detail[1:]}."
        page = render(request, "app/login.html", {**context, "error": message}, error.status_code)
        if error.headers and "Retry-After" in error.headers:
            page.headers["Retry-After"] = error.headers["Retry-After"]
        return page
    answer = RedirectResponse(target, status_code=303)
    for cookie in cookies.headers.getlist("set-cookie"):
        answer.headers.append("set-cookie", cookie)
    return answer


def _end_session(session: Session, secret: str) -> None:
    web_sessions.revoke_secret(session, secret)
    session.commit()


@router.post("/logout")
async def logout_form(request: Request, session: DbSession) -> Response:
    """Ends the session on the server and in the browser; the form carries the CSRF token,
    as a header would."""
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    if data is not None:
        form = await request.form()
        if not csrf_matches(request, data, str(form.get("csrf_token") or "")):
            return problem_page(
                request,
                PageProblem(403, "Not logged out", "The form was stale; reload and try again."),
            )
        await run_in_threadpool(_end_session, session, data.secret)
    answer = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookies(answer, state)
    return answer
