"""The unsigned door of a helpdesk's "ticket solved" email: ``/t/{organisation}/{survey}``.

- ``GET /t/{organisation}/{survey}?score=N&ticket=...&agent=...&customer=...`` shows the
  survey's own page (``web.survey_page_rendering.survey_page``) with N chosen. **GET never
  writes**: mail scanners follow every link of an email. A score off the survey's scale
  shows the page with nothing chosen, a message and a 400, so that whoever wrote the
  template sees the mistake.
- ``POST`` (the page's form, whose action keeps the placeholders in its query) stores the
  answer with ``Response.unverified`` set and the placeholders as properties
  (``collect.unsigned_answers``).

The links are not signed, so each POST is limited per client address twice: by the survey
pages' limiter (``guard``) and by a stricter one of its own (``UNSIGNED_BURST`` at once,
``UNSIGNED_PER_MINUTE`` regained a minute); beyond it a 429 with ``Retry-After``. Like every
survey page, a POST needs the page's signed form token and must come from our own pages.
docs/sharing.md tells the helpdesk side.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect import answers, unsigned_answers
from cxpulse.store.errors import Invalid
from cxpulse.web import survey_page_problems as problems
from cxpulse.web.routes.survey_pages import answer_or_retry, read_public_target
from cxpulse.web.state import app_state
from cxpulse.web.survey_page_forms import check_form_token, guard, read_form, too_many_answers
from cxpulse.web.survey_page_problems import PageProblem
from cxpulse.web.survey_page_rendering import (
    DOMAIN,
    language,
    problem_page,
    shown_language,
    survey_page,
    thanks,
)
from cxpulse.web.survey_page_targets import Target, public_target, with_session
from cxpulse.web.tokens import TokenBucket

router = APIRouter(include_in_schema=False)

UNSIGNED_BURST = 10
UNSIGNED_PER_MINUTE = 10.0
"""Answers one address may send through unsigned links: a helpdesk's customers answer from
their own addresses, so a few a minute is plenty, and a flood of forged answers is not."""
ROUTE_BODY_LIMIT = 16_000_000
"""As the survey pages': ``read_form`` refuses a long body with a friendly page."""


def limiter(request: Request) -> TokenBucket:
    """The app's limiter of unsigned answers, made on first use."""
    found = getattr(request.app.state, "unsigned_answers_limiter", None)
    if not isinstance(found, TokenBucket):
        found = TokenBucket(UNSIGNED_BURST, UNSIGNED_PER_MINUTE)
        request.app.state.unsigned_answers_limiter = found
    return found


async def _limit(request: Request) -> None:
    client = request.client.host if request.client else "unknown"
    wait = await limiter(request).take_async(client)
    if wait:
        raise too_many_answers(wait)


def _placeholders(request: Request) -> dict[str, str]:
    try:
        return unsigned_answers.placeholders(request.query_params)
    except Invalid as error:
        raise PageProblem(
            400, "This link does not work", f"{error.field} {error.message}."
        ) from None


def _action(organisation_slug: str, survey_slug: str, found: dict[str, str]) -> str:
    """Where the form posts: this address, with the placeholders kept in its query."""
    query = urlencode(found)
    return f"/t/{organisation_slug}/{survey_slug}" + (f"?{query}" if query else "")


def _chosen_score(request: Request, target: Target, chosen: str) -> tuple[int | None, str | None]:
    """The score the link chooses and, for one off the scale, the message saying so (in the
    page's language)."""
    text = request.query_params.get("score")
    if text is None:
        return None, None
    try:
        return answers.parse_score(text, target.survey.metric_spec()), None
    except answers.AnswerProblem as problem:
        gettext, _ = i18n.gettext_for(DOMAIN, chosen)
        return None, gettext(problem.message) % dict(problem.params)


@router.get("/t/{organisation_slug}/{survey_slug}", response_class=HTMLResponse)
async def unsigned_page(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    try:
        target = await read_public_target(app_state(request), organisation_slug, survey_slug)
        found = _placeholders(request)
    except PageProblem as problem:
        return problem_page(request, problem)
    chosen = language(request, target)
    selected, error = _chosen_score(request, target, chosen)
    return survey_page(
        request,
        target,
        chosen,
        action=_action(organisation_slug, survey_slug, found),
        selected=selected,
        # Never posted by itself: scanners that run scripts must not answer either.
        one_click=False,
        # Switching language would drop the placeholders; a link may carry ``lang=``.
        switch_languages=False,
        status=400 if error else 200,
        error=error,
    )


@router.post("/t/{organisation_slug}/{survey_slug}", max_body_size=ROUTE_BODY_LIMIT)
async def submit_unsigned(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    state = app_state(request)
    try:
        await _limit(request)
        await guard(request)
        found = _placeholders(request)
        form = await read_form(request)
        target = await read_public_target(state, organisation_slug, survey_slug)
        nonce = check_form_token(request, form, target.survey.id)
    except PageProblem as problem:
        return problem_page(request, problem)
    chosen = shown_language(request, target, form)
    action = _action(organisation_slug, survey_slug, found)
    answer = answer_or_retry(request, target, form, chosen, action, switchable=False)
    if isinstance(answer, Response):
        return answer

    def store(session: Session) -> answers.Recorded:
        # Read again in the writing transaction: the survey may have closed meanwhile.
        fresh = public_target(session, organisation_slug, survey_slug, detach=False)
        return unsigned_answers.record_unsigned(
            session, fresh.survey, answer, language=chosen, form_nonce=nonce, found=found
        )

    try:
        recorded = await with_session(state, writes=True, work=store)
    except PageProblem as problem:
        return problem_page(request, problem, chosen)
    except Invalid as error:
        failure = PageProblem(400, problems.NOT_STORED, error.message)
        return problem_page(request, failure, chosen)
    return thanks(request, target, chosen, recorded, change_url=None)
