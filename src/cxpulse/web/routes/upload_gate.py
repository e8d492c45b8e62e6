"""Who is posting a file, found before its body is read.

A page's form proves its caller with the CSRF token inside the form (``page_forms``), so
that check can only follow the reading of the body. For the forms that take a file (up to
``CXPULSE_IMPORT_MAX_MB`` of answers, a 10 MB contacts or invitations CSV) reading first
would let anyone without a session make the server receive, parse and spool megabytes. So
these posts are checked twice: here, before a byte of the body, everything that needs no
body (same origin, a live session, the CSRF cookie matching it, the permission); then,
after reading, ``page_forms.form_caller`` checks the form's token as every form does.
"""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from cxpulse.web.access import Principal, form_principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import PageProblem, check_allowed
from cxpulse.web.same_origin import same_origin
from cxpulse.web.state import app_state, database_turn
from cxpulse.web.tokens import CSRF_COOKIE

__all__ = ["caller_before_body", "caller_before_body_in_turn"]


def caller_before_body(
    request: Request, session: Session, permissions: tuple[Permission, ...]
) -> Principal:
    """The caller of a file's post, from its headers alone; ``PageProblem`` (403 from
    another site, a CSRF cookie not of the session or a missing permission; 401 without a
    live session) otherwise. The form's own token is checked after the body is read."""
    if not same_origin(request):
        raise PageProblem(403, "Not saved", "The form came from another site.")
    # The cookie stands in for the form's field: this checks the session and that the
    # cookie is the session's; the field itself is compared once the form is read.
    cookie = request.cookies.get(CSRF_COOKIE, "")
    try:
        caller = form_principal(request, session, cookie)
    except HTTPException as error:
        if error.status_code == 401:
            raise PageProblem(401, "Not saved", "Your session has ended: log in again.") from None
        raise PageProblem(403, "Not saved", str(error.detail)) from None
    for permission in permissions:
        check_allowed(caller, permission)
    return caller


async def caller_before_body_in_turn(
    request: Request, permissions: tuple[Permission, ...]
) -> Principal:
    """``caller_before_body`` for a route that holds no database session of its own: one
    short reading turn, given back before the (slow) body arrives."""
    state = app_state(request)

    def look_up() -> Principal:
        with state.read_sessions() as session:
            return caller_before_body(request, session, permissions)

    async with database_turn(state, writes=False):
        return await run_in_threadpool(look_up)
