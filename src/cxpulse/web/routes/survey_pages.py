"""Hosted survey pages for respondents: the public link, personal links, one-click answers.

- ``GET /s/{organisation}/{survey}``: the public page of an active survey. Survey slugs are
  unique per organisation only, so the organisation's slug is part of the link.
- ``GET /r/{token}``: the personal page of an invitation (``token`` from
  ``state.links.issue("answer", ...)``); ``?score=N`` pre-selects N. **GET never writes**:
  mail scanners and link prefetchers fetch every link in an email, so a GET that recorded
  the score would record answers nobody gave. With JavaScript on, survey.js posts the
  pre-selected score at once (one click records it); without, the respondent presses Send.
- ``POST`` to either address stores the answer (or updates the one stored before through
  the same form or invitation) and shows the thank-you page; asked for JSON
  (``Accept: application/json``, as survey.js does) it answers ``{"status": "recorded"}``.
- The thank-you page shows the survey's follow-up questions (if any) as a small form, all
  optional, posting to ``POST /s/follow-up`` with a signed, expiring token naming the
  response just given (``survey_page_forms.FollowUpTokens``): the answers can only be added
  to that response. Sent again, they replace the earlier ones.

Every POST is rate limited per client address, must carry a signed, expiring form token
(``cxpulse.signing``, bound to the survey) and must not come from another site
(``Origin`` not ours, or ``Sec-Fetch-Site: cross-site``). Bodies are read up to
``MAX_FORM_BYTES``; a longer one is refused before it is read.

The routes parse and call; the pieces live beside them: ``web.survey_page_targets`` (what a
link leads to), ``web.survey_page_forms`` (form tokens, checks, the answer),
``web.survey_page_rendering`` (pages and JSON), ``web.survey_page_problems``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from cxpulse.collect import answers, follow_up_changes
from cxpulse.collect.follow_ups import InvalidQuestion
from cxpulse.store import survey_questions
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import SurveyQuestion
from cxpulse.web import survey_page_problems as problems
from cxpulse.web.state import AppState, app_state
from cxpulse.web.survey_page_forms import (
    Form,
    check_follow_up_token,
    check_form_token,
    field,
    guard,
    parse,
    read_form,
)
from cxpulse.web.survey_page_problems import PageProblem
from cxpulse.web.survey_page_rendering import (
    follow_up_done,
    follow_up_retry,
    form_language,
    language,
    problem_page,
    retry_page,
    score_param,
    shown_language,
    survey_page,
    thanks,
    wants_json,
)
from cxpulse.web.survey_page_targets import (
    Target,
    follow_up_cache,
    personal_target,
    public_target,
    target_cache,
    with_session,
)

router = APIRouter(include_in_schema=False)

ROUTE_BODY_LIMIT = 16_000_000
"""Far above ``MAX_FORM_BYTES`` so that a too-long comment gets the friendly page from
``read_form`` (Starlette's own limit would answer a bare 413 instead)."""


def answer_or_retry(
    request: Request, target: Target, form: Form, chosen: str, action: str, switchable: bool
) -> answers.Answer | Response:
    """The answer the form carries, or the form again (posting to ``action``) saying what is
    wrong with it; for every door of the survey pages, ``unsigned_answers``' too."""
    answer, rejected = parse(target, form, chosen)
    if answer is not None:
        return answer
    assert rejected is not None
    return retry_page(
        request, target, chosen, form, rejected, action=action, switch_languages=switchable
    )


async def read_public_target(state: AppState, organisation_slug: str, survey_slug: str) -> Target:
    """The page of a public link (also the door of ``unsigned_answers``), read in a session
    of its own; raises ``PageProblem`` as ``public_target`` does."""
    return await with_session(
        state, writes=False, work=lambda s: public_target(s, organisation_slug, survey_slug)
    )


async def _follow_ups(request: Request, state: AppState, target: Target) -> list[SurveyQuestion]:
    """The survey's follow-up questions for the thank-you page (none for JSON: survey.js
    keeps the form open and the page shows them after its Send)."""
    if wants_json(request):
        return []
    survey = target.survey
    cache = follow_up_cache(request)
    found = cache.get(survey.id)
    if found is None:
        found = tuple(
            await with_session(
                state,
                writes=False,
                work=lambda s: survey_questions.page_questions(
                    s, survey.organisation_id, survey.id
                ),
            )
        )
        cache.put(survey.id, found)
    return list(found)


@router.get("/s/{organisation_slug}/{survey_slug}", response_class=HTMLResponse)
async def public_page(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    try:
        target = await read_public_target(app_state(request), organisation_slug, survey_slug)
    except PageProblem as problem:
        return problem_page(request, problem)
    return survey_page(
        request,
        target,
        language(request, target),
        action=f"/s/{organisation_slug}/{survey_slug}",
        selected=score_param(request, target),
        one_click=False,
        switch_languages=True,
    )


@router.get("/r/{token}", response_class=HTMLResponse)
async def personal_page(token: str, request: Request) -> Response:
    state = app_state(request)
    try:
        target = await with_session(
            state, writes=False, work=lambda s: personal_target(state, s, token)
        )
    except PageProblem as problem:
        return problem_page(request, problem)
    chosen = language(request, target)
    assert target.invitation is not None
    selected = score_param(request, target)
    return survey_page(
        request,
        target,
        chosen,
        action=f"/r/{token}",
        selected=selected,
        one_click=selected is not None,
        switch_languages=target.invitation.language is None and target.contact_locale is None,
    )


@router.post("/s/{organisation_slug}/{survey_slug}", max_body_size=ROUTE_BODY_LIMIT)
async def submit_public(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    state = app_state(request)
    try:
        await guard(request)
        form = await read_form(request)
        cache = target_cache(request)
        target = cache.get((organisation_slug, survey_slug))
        if target is None:
            target = await read_public_target(state, organisation_slug, survey_slug)
            cache.put((organisation_slug, survey_slug), target)
        nonce = check_form_token(request, form, target.survey.id)
    except PageProblem as problem:
        return problem_page(request, problem)
    chosen = shown_language(request, target, form)
    answer = answer_or_retry(
        request, target, form, chosen, f"/s/{organisation_slug}/{survey_slug}", switchable=True
    )
    if isinstance(answer, Response):
        return answer

    # A first answer goes to the group writer of submissions (one commit for many
    # answers, as for the API); the same form sent again updates what it stored.
    survey = target.survey
    item = answers.public_item(survey, answer, language=chosen, form_nonce=nonce)
    try:
        stored, created = await state.submissions.submit(survey.organisation_id, None, item)
    except NotFound:
        return problem_page(request, problems.not_found(), chosen)
    except Invalid as error:
        # Checked before already; kept as a 400, never a 500, should the store disagree.
        failure = PageProblem(400, problems.NOT_STORED, error.message)
        return problem_page(request, failure, chosen)
    recorded = answers.Recorded(stored.id, stored.score, created=True)
    if not created:

        def update(session: Session) -> answers.Recorded:
            return answers.update_public(session, survey, stored.id, answer, language=chosen)

        recorded = await with_session(state, writes=True, work=update)
    follow_ups = await _follow_ups(request, state, target)
    return thanks(request, target, chosen, recorded, change_url=None, follow_ups=follow_ups)


@router.post("/r/{token}", max_body_size=ROUTE_BODY_LIMIT)
async def submit_personal(token: str, request: Request) -> Response:
    state = app_state(request)
    try:
        await guard(request)
        form = await read_form(request)
        target = await with_session(
            state, writes=False, work=lambda s: personal_target(state, s, token)
        )
        check_form_token(request, form, target.survey.id)
    except PageProblem as problem:
        return problem_page(request, problem)
    invitation = target.invitation
    assert invitation is not None
    chosen = shown_language(request, target, form)
    switchable = invitation.language is None and target.contact_locale is None
    answer = answer_or_retry(request, target, form, chosen, f"/r/{token}", switchable)
    if isinstance(answer, Response):
        return answer

    def store(session: Session) -> answers.Recorded:
        # Read again in the writing transaction: it may have been withdrawn meanwhile.
        fresh = personal_target(state, session, token, detach=False)
        assert fresh.invitation is not None
        return answers.record_personal(
            session, fresh.survey, fresh.invitation, answer, language=chosen
        )

    try:
        recorded = await with_session(state, writes=True, work=store)
    except PageProblem as problem:
        return problem_page(request, problem, chosen)
    follow_ups = await _follow_ups(request, state, target)
    return thanks(
        request, target, chosen, recorded, change_url=f"/r/{token}", follow_ups=follow_ups
    )


@router.post("/s/follow-up", max_body_size=ROUTE_BODY_LIMIT)
async def submit_follow_up(request: Request) -> Response:
    """The thank-you page's follow-up answers, stored to the response its token names."""
    state = app_state(request)
    try:
        await guard(request)
        form = await read_form(request)
        claim = check_follow_up_token(request, form)
        response_id, survey_id = claim.response_id, claim.survey_id
    except PageProblem as problem:
        return problem_page(request, problem)
    chosen = form_language(request, form)
    page = await with_session(
        state,
        writes=False,
        work=lambda s: survey_questions.follow_up_page(
            s, response_id, survey_id, received_by=claim.issued_at
        ),
    )
    if page is None:
        return problem_page(request, problems.not_found(), chosen)
    sent = {q.key: field(form, f"q_{q.key}") for q in page.questions}
    try:
        await with_session(
            state,
            writes=True,
            work=lambda s: follow_up_changes.record_answers(
                s, page.organisation_id, response_id, sent
            ),
        )
    except InvalidQuestion as error:
        return follow_up_retry(request, page, chosen, response_id, survey_id, form, error.problems)
    except NotFound:
        return problem_page(request, problems.not_found(), chosen)
    return follow_up_done(chosen)
