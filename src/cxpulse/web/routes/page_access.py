"""What a signed-in page does before it shows anything: check the caller's permission and,
for a page of one survey, find that survey in the caller's organisation; a refusal (403, or
404 for a survey that is not there) is shown as the problem page instead.

The page itself is a function of the request, the session and the caller (and the survey),
so that each route states only which permission its page needs and which page it is.
Both page functions are ``page_flow.guarded_page`` with the page's arguments bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cxpulse.store.models import Survey
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import check_allowed, page_survey
from cxpulse.web.routes.page_flow import guarded_page

__all__ = ["allowed_survey", "permitted_page", "permitted_survey_page"]

AnswerT = TypeVar("AnswerT", bound=Response)


def allowed_survey(
    session: Session, caller: Principal, survey_id: int, permission: Permission
) -> Survey:
    """The caller's survey ``survey_id`` when the caller holds ``permission``;
    ``PageProblem`` (403 without the permission, 404 without the survey) otherwise."""
    check_allowed(caller, permission)
    return page_survey(session, caller, survey_id)


def permitted_page(
    request: Request,
    session: Session,
    caller: Principal,
    permission: Permission,
    page: Callable[[Request, Session, Principal], HTMLResponse],
    *,
    back: str | None = None,
) -> HTMLResponse:
    """``page`` when the caller holds ``permission``; the 403 problem page (with a link
    ``back`` when given) otherwise."""
    return guarded_page(
        request, caller, permission, lambda: page(request, session, caller), back=back
    )


def permitted_survey_page(
    request: Request,
    session: Session,
    caller: Principal,
    survey_id: int,
    permission: Permission,
    page: Callable[[Request, Session, Principal, Survey], AnswerT],
    *,
    back: str | None = None,
) -> AnswerT | HTMLResponse:
    """``page`` of the caller's survey ``survey_id`` when the caller holds ``permission``;
    the problem page (403 or 404, with a link ``back`` when given) otherwise."""
    return guarded_page(
        request,
        caller,
        permission,
        lambda: page(request, session, caller, page_survey(session, caller, survey_id)),
        back=back,
    )
