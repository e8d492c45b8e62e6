"""What every signed-in page's form does first: refuse a post from another site, check the
CSRF token and the caller's permission, and show a refusal as a page that links back.

The pages' forms (goals, themes, rules, cases, webhooks, alerts) post plain HTML, so that
they work without JavaScript; their checks are the same everywhere and live here.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.web.access import Principal, form_principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import PageProblem, check_allowed, problem_page
from cxpulse.web.same_origin import same_origin

__all__ = ["form_caller", "form_problem"]


async def form_caller(
    request: Request, session: Session, permission: Permission
) -> tuple[Principal, FormData]:
    """The caller of a page's form and the form; ``PageProblem`` (403 from another site, a
    bad token or a missing permission; 401 once the session has ended) otherwise."""
    if not same_origin(request):
        raise PageProblem(403, "Not saved", "The form came from another site.")
    form = await request.form()
    token = form.get("csrf_token")
    try:
        caller = form_principal(request, session, token if isinstance(token, str) else "")
    except HTTPException as error:
        if error.status_code == 401:
            raise PageProblem(401, "Not saved", "Your session has ended: log in again.") from None
        raise PageProblem(403, "Not saved", str(error.detail)) from None
    check_allowed(caller, permission)
    return caller, form


def form_problem(request: Request, problem: PageProblem, back: str) -> HTMLResponse:
    """A refused form as a page, with a link ``back``; signed out after a 401."""
    return problem_page(request, problem, signed_in=problem.status_code != 401, back=back)
