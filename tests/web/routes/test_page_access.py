"""What a signed-in page checks first, on SQLite and PostgreSQL: the permission before the
survey, a survey of the caller's organisation only, and the page built only when allowed.
(The refusals' pages themselves are checked through each page's own tests.)"""

from __future__ import annotations

import pytest
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from cxpulse.store.models import Survey
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import PageProblem
from cxpulse.web.routes.page_access import (
    allowed_survey,
    permitted_page,
    permitted_survey_page,
)

from ..helpers import World

READER = frozenset({Permission.SURVEYS_READ})


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": []})


def test_the_callers_survey_is_found_only_with_the_permission(
    world: World, db: sessionmaker[Session]
) -> None:
    reader = Principal(world.a.id, READER)
    with db() as session:
        found = allowed_survey(session, reader, world.a.survey_id, Permission.SURVEYS_READ)
        assert found.id == world.a.survey_id
        with pytest.raises(PageProblem) as missing:
            allowed_survey(session, reader, world.b.survey_id, Permission.SURVEYS_READ)
        assert missing.value.status_code == 404
        # The permission is checked first: no hint whether the survey exists.
        with pytest.raises(PageProblem) as refused:
            allowed_survey(session, reader, world.a.survey_id, Permission.SURVEYS_WRITE)
        assert refused.value.status_code == 403


def test_an_allowed_caller_gets_the_page_built_for_it(
    world: World, db: sessionmaker[Session]
) -> None:
    reader = Principal(world.a.id, READER)
    request = _request()
    built: list[object] = []

    def page(got: Request, session: Session, caller: Principal) -> HTMLResponse:
        built.append((got, caller))
        return HTMLResponse("the page")

    def survey_page(
        got: Request, session: Session, caller: Principal, survey: Survey
    ) -> HTMLResponse:
        built.append(survey.id)
        return HTMLResponse("the survey's page")

    with db() as session:
        answer = permitted_page(request, session, reader, Permission.SURVEYS_READ, page)
        assert answer.body == b"the page"
        answer = permitted_survey_page(
            request, session, reader, world.a.survey_id, Permission.SURVEYS_READ, survey_page
        )
        assert answer.body == b"the survey's page"
    assert built == [(request, reader), world.a.survey_id]
