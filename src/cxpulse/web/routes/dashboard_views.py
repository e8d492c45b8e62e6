"""The dashboard view a request names, for the routes that serve it in another form than the
page: its chart images (``chart_images``) and its exports (``dashboard_exports``).

Each must answer for exactly the view the page shows, so each reads it the page's way: the
caller's permission, the caller's survey, the query's filters, and segment values matched
in any case, as the page that links there matched them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from cxpulse.report import filters_url as urls
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import check_allowed, matched_in_any_case, survey_and_filters


def permitted_view(
    request: Request, session: Session, caller: Principal, survey_id: int, permission: Permission
) -> tuple[Any, Any, urls.Parsed]:
    """The organisation, survey and parsed filters (the view's segment values matched in any
    case) of the request's view; a ``PageProblem`` when the caller lacks ``permission`` or
    the survey is not the caller's. Invalid filters are left to the caller: ``parsed.errors``
    names them."""
    check_allowed(caller, permission)
    organisation, survey, parsed = survey_and_filters(request, session, caller, survey_id)
    view = matched_in_any_case(session, organisation.id, survey.id, parsed.view)
    return organisation, survey, dataclasses.replace(parsed, view=view)
