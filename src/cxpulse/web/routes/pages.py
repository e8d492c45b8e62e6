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

Every POST is rate limited per client address, must carry a signed, expiring form token
(``cxpulse.signing``, bound to the survey) and must not come from another site
(``Origin`` not ours, or ``Sec-Fetch-Site: cross-site``). Bodies are read up to
``MAX_FORM_BYTES``; a longer one is refused before it is read.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse import i18n
from cxpulse.collect import answers, questions
from cxpulse.collect.links import LinkProblem
from cxpulse.signing import Claim, Signer
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import MAX_COMMENT_LENGTH, Contact, Invitation, Organisation, Survey
from cxpulse.store.survey_options import CollectOptions, OptionError, parse_options
from cxpulse.web.same_origin import same_origin
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import retry_after_header

router = APIRouter(include_in_schema=False)

DOMAIN = "pages"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
FORM_TOKEN_SECONDS = 24 * 3600
"""How long a page may stay open before its form must be reloaded."""
MAX_FORM_BYTES = 160_000
"""A 10,000-character comment of four-byte characters, percent-encoded, with room to spare."""
ROUTE_BODY_LIMIT = 16_000_000
"""Far above ``MAX_FORM_BYTES`` so that a too-long comment gets the friendly page from
``_read_form`` (Starlette's own limit would answer a bare 413 instead)."""
FORM_TYPE = "application/x-www-form-urlencoded"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    # The personal link is a secret: never hand it to a review site in a Referer header.
    # (Not "no-referrer": with it browsers send "Origin: null" on the page's own form.)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


def _environment() -> jinja2.Environment:
    # The one environment of pages, emails and reports (its filters, escaping, strictness).
    from cxpulse import templating

    return templating.environment()


# Form tokens


class FormTokens:
    """Tokens of ``cxpulse.signing`` carrying the survey id and a nonce: the nonce names the
    form, so the same form sent twice stores one response."""

    def __init__(self, secret_key: str, *, previous_secret_keys: Sequence[str] = ()) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)

    def issue(self, survey_id: int, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + FORM_TOKEN_SECONDS)
        claims: list[Claim] = [survey_id, secrets.token_urlsafe(12)]
        return self._signer.dumps("page-form", claims, expires_at=expires)

    def verify(self, token: str | None, survey_id: int, *, now: float | None = None) -> str:
        """The form's nonce; raises ``ValueError`` for a forged, foreign or expired token."""
        if not token:
            raise ValueError("missing form token")
        # TokenProblem is a ValueError: forged, damaged and expired tokens pass through.
        signed = self._signer.loads("page-form", token, now=now)
        match signed.claims:
            case (int() as signed_survey, str() as nonce) if signed_survey == survey_id:
                return nonce
            case _:
                raise ValueError("form token of another survey")


@functools.cache
def form_tokens(secret_key: str, previous_secret_keys: tuple[str, ...] = ()) -> FormTokens:
    return FormTokens(secret_key, previous_secret_keys=previous_secret_keys)


def _form_tokens(request: Request) -> FormTokens:
    settings = app_state(request).settings
    return form_tokens(settings.secret_key, tuple(settings.previous_secret_keys))


# Problems shown as friendly pages


@dataclass
class PageProblem(Exception):
    status: int
    title: str
    message: str
    params: Mapping[str, int | str] | None = None
    retry_after: str | None = None


def _not_found() -> PageProblem:
    return PageProblem(
        404, "Survey not found", "This link does not lead to a survey. Please check the address."
    )


def _closed() -> PageProblem:
    return PageProblem(410, "This survey has closed", "Thank you for your interest.")


def _not_open() -> PageProblem:
    return PageProblem(404, "This survey is not open yet", "Please try again later.")


# Loading what a page shows


@dataclass(frozen=True)
class Target:
    """What a page needs, read in one session and detached from it."""

    organisation_name: str
    survey: Survey
    options: CollectOptions
    invitation: Invitation | None = None
    contact_locale: str | None = None


def _options(survey: Survey) -> CollectOptions:
    try:
        return parse_options(survey.collect_options)
    except OptionError:
        # Stored options are checked when written; an old bad one must not break the page.
        return CollectOptions()


def _public_target(
    session: Session, organisation_slug: str, survey_slug: str, *, detach: bool = True
) -> Target:
    row = session.execute(
        select(Survey, Organisation.name)
        .join(Organisation, Organisation.id == Survey.organisation_id)
        .where(Organisation.slug == organisation_slug, Survey.slug == survey_slug)
    ).one_or_none()
    if row is None:
        raise _not_found()
    survey, name = row
    _check_status(survey)
    if detach:
        session.expunge(survey)
    return Target(name, survey, _options(survey))


def _check_status(survey: Survey) -> None:
    if survey.status == "closed":
        raise _closed()
    if survey.status != "active":
        raise _not_open()


def _damaged_link() -> PageProblem:
    return PageProblem(
        400,
        "This link does not work",
        "The link is incomplete or was changed. Please use the link from your email as it is.",
    )


def _personal_target(
    state: AppState, session: Session, token: str, *, detach: bool = True
) -> Target:
    try:
        claims = state.links.verify(token, "answer")
    except LinkProblem as problem:
        if problem.expired:
            raise PageProblem(
                410, "This link has expired", "The time to answer this survey is over."
            ) from None
        raise _damaged_link() from None
    invitation = session.get(Invitation, claims.invitation_id)
    if invitation is None or invitation.survey_id != claims.survey_id:
        raise _damaged_link()
    if invitation.status == "cancelled":
        raise PageProblem(410, "This survey was withdrawn", "There is nothing to answer here.")
    row = session.execute(
        select(Survey, Organisation.name)
        .join(Organisation, Organisation.id == Survey.organisation_id)
        .where(
            Survey.id == invitation.survey_id,
            Survey.organisation_id == invitation.organisation_id,
        )
    ).one_or_none()
    if row is None:
        raise _damaged_link()
    survey, name = row
    _check_status(survey)
    locale = session.scalar(
        select(Contact.locale).where(
            Contact.id == invitation.contact_id,
            Contact.organisation_id == invitation.organisation_id,
        )
    )
    if detach:
        session.expunge(survey)
        session.expunge(invitation)
    return Target(name, survey, _options(survey), invitation, locale)


T = TypeVar("T")

TARGET_CACHE_SECONDS = 2.0
"""How long a public POST may use a survey read by an earlier one: saves a database read
per answer under load; a survey closed meanwhile accepts answers for at most this long."""
TARGET_CACHE_SIZE = 1000


class TargetCache:
    """Recently read public targets of one app, by (organisation slug, survey slug)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Target]] = {}

    def get(self, key: tuple[str, str]) -> Target | None:
        found = self._entries.get(key)
        if found is None or found[0] < self._clock():
            return None
        return found[1]

    def put(self, key: tuple[str, str], target: Target) -> None:
        if len(self._entries) >= TARGET_CACHE_SIZE:
            self._entries.clear()
        self._entries[key] = (self._clock() + TARGET_CACHE_SECONDS, target)


def _target_cache(request: Request) -> TargetCache:
    cache = getattr(request.app.state, "survey_page_targets", None)
    if not isinstance(cache, TargetCache):
        cache = TargetCache()
        request.app.state.survey_page_targets = cache
    return cache


async def _with_session(state: AppState, *, writes: bool, work: Callable[[Session], T]) -> T:
    def run() -> T:
        factory = state.sessions if writes else state.read_sessions
        with factory() as session:
            result = work(session)
            if writes:
                session.commit()
            return result

    async with database_turn(state, writes=writes):
        return await run_in_threadpool(run)


# Rendering


def _language(request: Request, target: Target, chosen: str | None = None) -> str:
    invitation = target.invitation
    return i18n.negotiate(
        invitation=invitation.language if invitation is not None else None,
        contact=target.contact_locale,
        query=chosen or request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        survey_default=target.survey.default_language,
    )


def _render(template: str, status: int, language: str, **context: Any) -> HTMLResponse:
    gettext, ngettext = i18n.gettext_for(DOMAIN, language)
    html = (
        _environment()
        .get_template(f"survey/{template}")
        .render(
            lang=language,
            _=gettext,
            ngettext=ngettext,
            language_names=i18n.LANGUAGE_NAMES,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def _problem_page(request: Request, problem: PageProblem, language: str | None = None) -> Response:
    chosen = language or i18n.negotiate(
        query=request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
    )
    gettext, _ = i18n.gettext_for(DOMAIN, chosen)
    message = gettext(problem.message)
    if problem.params:
        message = message % dict(problem.params)
    headers = {"Retry-After": problem.retry_after} if problem.retry_after else {}
    if _wants_json(request):
        return JSONResponse(
            {"detail": message}, status_code=problem.status, headers=SECURITY_HEADERS | headers
        )
    page = _render(
        "message.html", problem.status, chosen, title=gettext(problem.title), message=message
    )
    page.headers.update(headers)
    return page


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _page(
    request: Request,
    target: Target,
    language: str,
    *,
    action: str,
    selected: int | None,
    one_click: bool,
    comment: str | None = None,
    chosen_reasons: Sequence[str] = (),
    switch_languages: bool,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    gettext, ngettext = i18n.gettext_for(DOMAIN, language)
    survey = target.survey
    spec = survey.metric_spec()
    presentation = questions.effective_presentation(survey.presentation, spec.scale)
    low_end, high_end = questions.end_labels(spec, gettext)
    path = urlsplit(str(request.url)).path
    return _render(
        "page.html",
        status,
        language,
        title=target.organisation_name,
        organisation=target.organisation_name,
        question=questions.question_for(
            survey.questions, survey.metric, language, target.organisation_name
        ),
        comment_prompt=questions.comment_prompt_for(survey.questions, language, gettext),
        choices=questions.choices(spec, survey.presentation, gettext, ngettext),
        presentation=presentation,
        word_labels=questions.has_word_labels(spec, survey.presentation),
        low_end=low_end,
        high_end=high_end,
        show_ends=presentation == "numbers"
        and not questions.has_word_labels(spec, survey.presentation),
        action=action,
        form_token=_form_tokens(request).issue(survey.id),
        selected=selected,
        one_click=one_click,
        comment_enabled=target.options.comment,
        comment=comment or "",
        max_comment=MAX_COMMENT_LENGTH,
        reasons=target.options.reasons_in(language),
        chosen_reasons=list(chosen_reasons),
        languages=[
            (code, f"{path}?{urlencode({'lang': code})}")
            for code in i18n.available(DOMAIN)
            if code != language
        ]
        if switch_languages
        else [],
        error=error,
    )


def _thanks(
    request: Request,
    target: Target,
    language: str,
    recorded: answers.Recorded,
    change_url: str | None,
) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"status": "recorded", "score": recorded.score}, headers=SECURITY_HEADERS
        )
    spec = target.survey.metric_spec()
    top = answers.is_top(recorded.score, spec)
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    return _render(
        "thanks.html",
        200,
        language,
        title=gettext("Thank you"),
        organisation=target.organisation_name,
        review_url=target.options.review_url if top else None,
        referral_url=target.options.referral_url if top else None,
        change_url=change_url,
    )


def _score_param(request: Request, target: Target) -> int | None:
    text = request.query_params.get("score")
    if text is None:
        return None
    try:
        return answers.parse_score(text, target.survey.metric_spec())
    except answers.AnswerProblem:
        return None  # a damaged link still shows the page, with nothing pre-selected


# Routes


@router.get("/s/{organisation_slug}/{survey_slug}", response_class=HTMLResponse)
async def public_page(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    state = app_state(request)
    try:
        target = await _with_session(
            state,
            writes=False,
            work=lambda s: _public_target(s, organisation_slug, survey_slug),
        )
    except PageProblem as problem:
        return _problem_page(request, problem)
    language = _language(request, target)
    return _page(
        request,
        target,
        language,
        action=f"/s/{organisation_slug}/{survey_slug}",
        selected=_score_param(request, target),
        one_click=False,
        switch_languages=True,
    )


@router.get("/r/{token}", response_class=HTMLResponse)
async def personal_page(token: str, request: Request) -> Response:
    state = app_state(request)
    try:
        target = await _with_session(
            state, writes=False, work=lambda s: _personal_target(state, s, token)
        )
    except PageProblem as problem:
        return _problem_page(request, problem)
    language = _language(request, target)
    assert target.invitation is not None
    selected = _score_param(request, target)
    return _page(
        request,
        target,
        language,
        action=f"/r/{token}",
        selected=selected,
        one_click=selected is not None,
        switch_languages=target.invitation.language is None and target.contact_locale is None,
    )


def _guard(request: Request) -> None:
    """Rate limit and cross-site checks, before the body is read."""
    state = app_state(request)
    client = request.client.host if request.client else "unknown"
    wait = state.public_limiter.take(client)
    if wait:
        raise PageProblem(
            429,
            "Too many answers",
            "Too many answers came from your address. Please wait a minute and try again.",
            retry_after=retry_after_header(wait),
        )
    if not same_origin(request):
        raise PageProblem(
            403,
            "This form could not be sent",
            "Please open the survey page itself and answer there.",
        )


def _too_long() -> PageProblem:
    return PageProblem(
        400,
        "Your answer could not be stored",
        "Your comment is too long; at most %(limit)d characters fit.",
        {"limit": MAX_COMMENT_LENGTH},
    )


async def _read_form(request: Request) -> dict[str, list[str]]:
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise PageProblem(
            400, "Your answer could not be stored", "Please send the form from the survey page."
        )
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise _too_long()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise _too_long()
    try:
        return parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=40
        )
    except (UnicodeDecodeError, ValueError):
        raise PageProblem(
            400, "Your answer could not be stored", "Please send the form from the survey page."
        ) from None


def _field(form: Mapping[str, list[str]], name: str) -> str | None:
    found = form.get(name)
    return found[-1] if found else None


def _check_form_token(request: Request, form: Mapping[str, list[str]], survey_id: int) -> str:
    tokens = _form_tokens(request)
    try:
        return tokens.verify(_field(form, "form_token"), survey_id)
    except ValueError:
        raise PageProblem(
            403,
            "This form could not be sent",
            "The page was open for too long or was changed. Please reload it and answer again.",
        ) from None


def _shown_language(request: Request, target: Target, form: Mapping[str, list[str]]) -> str:
    """The language the form was shown in (sent back by it), else negotiated again."""
    sent = i18n.normalise(_field(form, "lang"))
    return sent or _language(request, target)


def _parse(
    target: Target, form: Mapping[str, list[str]], language: str
) -> tuple[answers.Answer | None, PageProblem | None]:
    try:
        answer = answers.parse_answer(
            form, target.survey.metric_spec(), target.options.reasons_in(language)
        )
    except answers.AnswerProblem as problem:
        return None, PageProblem(
            400, "Your answer could not be stored", problem.message, problem.params
        )
    return answer, None


def _retry_page(
    request: Request,
    target: Target,
    language: str,
    form: Mapping[str, list[str]],
    problem: PageProblem,
    *,
    action: str,
    switch_languages: bool,
) -> Response:
    """The form again with the message at the top and what was typed kept."""
    if _wants_json(request):
        return _problem_page(request, problem, language)
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    message = gettext(problem.message) % dict(problem.params or {})
    comment = (form.get("comment") or [""])[-1][:MAX_COMMENT_LENGTH]
    return _page(
        request,
        target,
        language,
        action=action,
        selected=None,
        one_click=False,
        comment=comment,
        chosen_reasons=form.get("reasons", []),
        switch_languages=switch_languages,
        status=problem.status,
        error=message,
    )


@router.post("/s/{organisation_slug}/{survey_slug}", max_body_size=ROUTE_BODY_LIMIT)
async def submit_public(organisation_slug: str, survey_slug: str, request: Request) -> Response:
    state = app_state(request)
    try:
        _guard(request)
        form = await _read_form(request)
        cache = _target_cache(request)
        target = cache.get((organisation_slug, survey_slug))
        if target is None:
            target = await _with_session(
                state,
                writes=False,
                work=lambda s: _public_target(s, organisation_slug, survey_slug),
            )
            cache.put((organisation_slug, survey_slug), target)
        nonce = _check_form_token(request, form, target.survey.id)
    except PageProblem as problem:
        return _problem_page(request, problem)
    language = _shown_language(request, target, form)
    answer, rejected = _parse(target, form, language)
    if answer is None:
        assert rejected is not None
        return _retry_page(
            request,
            target,
            language,
            form,
            rejected,
            action=f"/s/{organisation_slug}/{survey_slug}",
            switch_languages=True,
        )

    # A first answer goes to the group writer of submissions (one commit for many
    # answers, as for the API); the same form sent again updates what it stored.
    survey = target.survey
    item = answers.public_item(survey, answer, language=language, form_nonce=nonce)
    try:
        stored, created = await state.submissions.submit(survey.organisation_id, None, item)
    except NotFound:
        return _problem_page(request, _not_found(), language)
    except Invalid as error:
        # Checked before already; kept as a 400, never a 500, should the store disagree.
        failure = PageProblem(400, "Your answer could not be stored", error.message)
        return _problem_page(request, failure, language)
    recorded = answers.Recorded(stored.id, stored.score, created=True)
    if not created:

        def update(session: Session) -> answers.Recorded:
            return answers.update_public(session, survey, stored.id, answer, language=language)

        recorded = await _with_session(state, writes=True, work=update)
    return _thanks(request, target, language, recorded, change_url=None)


@router.post("/r/{token}", max_body_size=ROUTE_BODY_LIMIT)
async def submit_personal(token: str, request: Request) -> Response:
    state = app_state(request)
    try:
        _guard(request)
        form = await _read_form(request)
        target = await _with_session(
            state, writes=False, work=lambda s: _personal_target(state, s, token)
        )
        _check_form_token(request, form, target.survey.id)
    except PageProblem as problem:
        return _problem_page(request, problem)
    invitation = target.invitation
    assert invitation is not None
    language = _shown_language(request, target, form)
    answer, rejected = _parse(target, form, language)
    switchable = invitation.language is None and target.contact_locale is None
    if answer is None:
        assert rejected is not None
        return _retry_page(
            request,
            target,
            language,
            form,
            rejected,
            action=f"/r/{token}",
            switch_languages=switchable,
        )

    def store(session: Session) -> answers.Recorded:
        # Read again in the writing transaction: it may have been withdrawn meanwhile.
        fresh = _personal_target(state, session, token, detach=False)
        assert fresh.invitation is not None
        return answers.record_personal(
            session, fresh.survey, fresh.invitation, answer, language=language
        )

    try:
        recorded = await _with_session(state, writes=True, work=store)
    except PageProblem as problem:
        return _problem_page(request, problem, language)
    return _thanks(request, target, language, recorded, change_url=f"/r/{token}")
