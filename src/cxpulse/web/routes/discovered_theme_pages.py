"""The themes discovered in a survey's comments of a period, at
``/app/surveys/{id}/themes/discovered``, each with "Add to themes": its top phrases as
checkboxes (all ticked) and one button that makes it a theme of the taxonomy in its language
(``act.theme_taxonomy.promote``, as ``POST /api/v1/surveys/{id}/themes/discovered/promote``).

The page shows comments, so it needs ``responses:read``; adding a theme also needs
``surveys:write`` and the form's CSRF token (``theme_pages.form_caller``). A refused addition
comes back as the page, status 422, with the message on the theme's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cxpulse.act import theme_taxonomy
from cxpulse.i18n import LANGUAGE_NAMES
from cxpulse.report import theme_discovery
from cxpulse.report.filters_url import Window, form_day
from cxpulse.store import _values as values
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import Survey
from cxpulse.store.text_themes import MAX_PHRASE_LENGTH
from cxpulse.store.types import utc_now
from cxpulse.text.comments import LANGUAGES
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import SurveyId
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, render
from cxpulse.web.routes.page_access import allowed_survey, permitted_survey_page
from cxpulse.web.routes.theme_pages import form_caller, form_problem, form_text

router = APIRouter(include_in_schema=False)

MAX_FORM_PHRASES = 50
"""Phrases a promote form may carry (discovery shows 8)."""
EXAMPLE_LENGTH = 400
"""Characters of an example comment shown before it is cut (the API gives it whole)."""


def _window(
    request: Request, session: Session, caller: Principal, survey_id: int
) -> tuple[Window, dict[str, str]]:
    """The period of the page's query (``from``, ``to``) and the messages of its fields; a
    refused field falls back to its default."""
    errors: dict[str, str] = {}
    query = request.query_params
    start = form_day("from", query.get("from", ""), errors)
    to = form_day("to", query.get("to", ""), errors)
    today = utc_now().date()
    try:
        window = theme_discovery.period_window(
            session, caller.organisation_id, survey_id, start, to, today
        )
    except Invalid as error:
        errors[error.field] = "is before the first day"
        window = theme_discovery.period_window(
            session, caller.organisation_id, survey_id, None, None, today
        )
    return window, errors


def _language(request: Request, errors: dict[str, str]) -> str | None:
    text = (request.query_params.get("language") or "").strip()
    if not text:
        return None
    if text not in LANGUAGES:
        errors["language"] = f"must be one of {', '.join(LANGUAGES)}"
        return None
    return text


def _discovered_page(
    request: Request,
    session: Session,
    caller: Principal,
    survey: Survey,
    *,
    refused: Refused | None = None,
) -> HTMLResponse:
    window, period_errors = _window(request, session, caller, survey.id)
    language = _language(request, period_errors)
    found = theme_discovery.discover(
        session, caller.organisation_id, survey.id, window, language=language
    )
    period = [("from", window.start.isoformat()), ("to", window.last_day.isoformat())]
    query = urlencode(period + ([("language", language)] if language else []))
    context = {
        "survey": survey,
        "found": found,
        "window": window,
        "query": query,
        "period_query": urlencode(period),
        "errors": period_errors,
        "refused": refused,
        "refused_on_page": refused is not None
        and any(card_id(theme.language, theme.key) == refused.card for theme in found.themes),
        "language_names": LANGUAGE_NAMES,
        "can_promote": Permission.SURVEYS_WRITE in caller.permissions,
        "example_length": EXAMPLE_LENGTH,
    }
    status = 422 if period_errors or refused else 200
    return render(request, "app/themes/discovered.html", context, status)


@router.get("/app/surveys/{survey_id}/themes/discovered", response_class=HTMLResponse)
def discovered_page(
    survey_id: SurveyId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return permitted_survey_page(
        request, session, caller, survey_id, Permission.RESPONSES_READ, _discovered_page
    )


@router.post("/app/surveys/{survey_id}/themes/discovered/promote")
async def promote_form(request: Request, survey_id: SurveyId, session: DbSession) -> Response:
    back = f"/app/surveys/{survey_id}/themes/discovered"
    try:
        caller, form = await form_caller(request, session)
        survey = allowed_survey(session, caller, survey_id, Permission.RESPONSES_READ)
    except PageProblem as problem:
        return form_problem(request, problem, back)
    card = card_id(form.get("language"), form.get("key"))
    label = form.get("label")
    try:
        phrases = [p for p in form.getlist("phrases") if isinstance(p, str)]
        if len(phrases) > MAX_FORM_PHRASES:
            raise Invalid("phrases", f"at most {MAX_FORM_PHRASES} phrases")
        theme = theme_taxonomy.promote(
            session,
            caller.organisation_id,
            language=form_text(form, "language", 8),
            label=form_text(form, "label"),
            phrases=[_checked_phrase(phrase) for phrase in phrases],
        )
        audit.record(
            session, caller, "create", "theme", theme.id, {"key": theme.key, "survey_id": survey_id}
        )
        session.commit()
    except (Invalid, Conflict) as error:
        session.rollback()
        message = error.message
        if isinstance(error, Conflict):
            message = "it is in your themes already (a theme of this name exists)"
        shown = label[:200] if isinstance(label, str) else ""
        return _discovered_page(
            request, session, caller, survey, refused=Refused(card, shown, message)
        )
    return RedirectResponse(f"/app/themes/{theme.id}?added=1", status_code=303)


@dataclass(frozen=True)
class Refused:
    """A theme not added: its card, its label and why."""

    card: str
    label: str
    message: str


def card_id(language: object, key: object) -> str:
    """The id of a discovered theme's card on its page: its language and key."""
    return f"{language}-{key}" if isinstance(language, str) and isinstance(key, str) else ""


def _checked_phrase(phrase: str) -> str:
    problem = values.text_problem(phrase)
    if problem is not None:
        raise Invalid("phrases", problem)
    if len(phrase) > MAX_PHRASE_LENGTH:
        raise Invalid("phrases", f"each phrase at most {MAX_PHRASE_LENGTH} characters")
    return phrase
