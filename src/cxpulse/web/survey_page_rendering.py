"""How a respondent's survey page answers: the survey form, the thank-you page and problem
pages (or JSON, for survey.js), in the respondent's language, with the security headers
every page carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from cxpulse import i18n, templating
from cxpulse.collect import answers, questions
from cxpulse.collect.follow_ups import DEFAULT_SCALE, MAX_TEXT_ANSWER, Problem
from cxpulse.store.models import MAX_COMMENT_LENGTH, SurveyQuestion
from cxpulse.store.survey_questions import FollowUpPage
from cxpulse.web.security_headers import PUBLIC_PAGE_HEADERS
from cxpulse.web.survey_page_forms import (
    Form,
    field,
    request_follow_up_tokens,
    request_form_tokens,
)
from cxpulse.web.survey_page_problems import PageProblem
from cxpulse.web.survey_page_targets import Target

DOMAIN = "pages"
"""The translation domain of the survey pages."""

SECURITY_HEADERS = PUBLIC_PAGE_HEADERS
"""Set on every answer of the survey pages (``web/security_headers.py`` says why)."""


def language(request: Request, target: Target, chosen: str | None = None) -> str:
    """The page's language: the invitation's, the contact's, the one asked for, the
    browser's, else the survey's default."""
    invitation = target.invitation
    return i18n.negotiate(
        invitation=invitation.language if invitation is not None else None,
        contact=target.contact_locale,
        query=chosen or request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        survey_default=target.survey.default_language,
    )


def shown_language(request: Request, target: Target, form: Form) -> str:
    """The language the form was shown in (sent back by it), else negotiated again."""
    sent = i18n.normalise(field(form, "lang"))
    return sent or language(request, target)


def form_language(request: Request, form: Form) -> str:
    """The language a form without a survey behind it was shown in, else negotiated."""
    return i18n.normalise(field(form, "lang")) or i18n.negotiate(
        accept_language=request.headers.get("accept-language")
    )


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _render(template: str, status: int, language: str, **context: Any) -> HTMLResponse:
    gettext, ngettext = i18n.gettext_for(DOMAIN, language)
    # The one environment of pages, emails and reports (its filters, escaping, strictness).
    html = (
        templating.environment()
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


def problem_page(request: Request, problem: PageProblem, language: str | None = None) -> Response:
    """The problem as a page (JSON when asked for), in ``language`` or the one negotiated."""
    chosen = language or i18n.negotiate(
        query=request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
    )
    gettext, _ = i18n.gettext_for(DOMAIN, chosen)
    message = gettext(problem.message)
    if problem.params:
        message = message % dict(problem.params)
    headers = {"Retry-After": problem.retry_after} if problem.retry_after else {}
    if wants_json(request):
        return JSONResponse(
            {"detail": message}, status_code=problem.status, headers=SECURITY_HEADERS | headers
        )
    page = _render(
        "message.html", problem.status, chosen, title=gettext(problem.title), message=message
    )
    page.headers.update(headers)
    return page


def survey_page(
    request: Request,
    target: Target,
    language: str,
    *,
    action: str,
    selected: int | None,
    one_click: bool,
    comment: str | None = None,
    chosen_reasons: Sequence[str] = (),
    consent: bool | None = None,
    switch_languages: bool,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The survey form, posting to ``action``, with a fresh form token."""
    gettext, ngettext = i18n.gettext_for(DOMAIN, language)
    survey = target.survey
    spec = survey.metric_spec()
    presentation = questions.effective_presentation(survey.presentation, spec.scale)
    low_end, high_end = questions.end_labels(spec, gettext)
    path = urlsplit(str(request.url)).path
    source = survey.default_language
    return _render(
        "page.html",
        status,
        language,
        title=target.organisation_name,
        organisation=target.organisation_name,
        brand=target.brand,
        question=questions.question_in(
            survey.questions,
            survey.metric,
            language,
            target.organisation_name,
            source_language=source,
        ),
        comment_prompt=questions.comment_prompt_in(
            survey.questions, language, source_language=source
        ),
        consent_question=gettext(questions.CONSENT_QUESTION)
        % {"organisation": target.organisation_name}
        if target.asks_consent
        else None,
        consent_checked=consent is True,
        choices=questions.choices(spec, survey.presentation, gettext, ngettext),
        presentation=presentation,
        word_labels=questions.has_word_labels(spec, survey.presentation),
        low_end=low_end,
        high_end=high_end,
        show_ends=presentation == "numbers"
        and not questions.has_word_labels(spec, survey.presentation),
        action=action,
        form_token=request_form_tokens(request).issue(survey.id),
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


def retry_page(
    request: Request,
    target: Target,
    language: str,
    form: Form,
    problem: PageProblem,
    *,
    action: str,
    switch_languages: bool,
) -> Response:
    """The form again with the message at the top and what was typed kept."""
    if wants_json(request):
        return problem_page(request, problem, language)
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    message = gettext(problem.message) % dict(problem.params or {})
    comment = (form.get("comment") or [""])[-1][:MAX_COMMENT_LENGTH]
    return survey_page(
        request,
        target,
        language,
        action=action,
        selected=None,
        one_click=False,
        comment=comment,
        chosen_reasons=form.get("reasons", []),
        consent=field(form, answers.CONSENT_FIELD) == "yes",
        switch_languages=switch_languages,
        status=problem.status,
        error=message,
    )


FOLLOW_UP_ACTION = "/s/follow-up"
"""Where the thank-you page's follow-up form posts (``routes.survey_pages``)."""


@dataclass(frozen=True)
class FollowUpField:
    """One follow-up question as the thank-you page's form shows it."""

    name: str
    """The form field: ``q_<key>``."""
    kind: str
    label: str
    label_language: str
    points: list[int]
    choices: list[tuple[str, str, str]]
    """(key, label, label's language) of each choice."""
    value: str
    error: str | None


def _worded(labels: Mapping[str, Any], language: str, default_language: str) -> tuple[str, str]:
    """The label in ``language``, else the default language's, else any; and its language."""
    for candidate in (language, default_language, *labels):
        text = labels.get(candidate)
        if isinstance(text, str) and text.strip():
            return text, candidate
    return "", language


def follow_up_fields(
    follow_ups: Sequence[SurveyQuestion],
    language: str,
    default_language: str,
    *,
    form: Form | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[FollowUpField]:
    """The questions in the respondent's language, with what was sent kept."""
    found: list[FollowUpField] = []
    for question in follow_ups:
        name = f"q_{question.key}"
        label, label_language = _worded(question.labels or {}, language, default_language)
        low = DEFAULT_SCALE[0] if question.scale_low is None else question.scale_low
        high = DEFAULT_SCALE[1] if question.scale_high is None else question.scale_high
        choices = [
            (str(c.get("key")), *_worded(c.get("labels") or {}, language, default_language))
            for c in question.choices or []
            if isinstance(c, Mapping)
        ]
        sent = (field(form, name) or "") if form is not None else ""
        found.append(
            FollowUpField(
                name=name,
                kind=question.kind,
                label=label,
                label_language=label_language,
                points=list(range(low, high + 1)) if question.kind == "rating" else [],
                choices=choices,
                value=sent[:MAX_TEXT_ANSWER] if question.kind == "text" else sent,
                error=(errors or {}).get(question.key),
            )
        )
    return found


def _follow_up_context(
    request: Request,
    fields: list[FollowUpField],
    response_id: int,
    survey_id: int,
) -> dict[str, Any]:
    if not fields:
        return {"follow_ups": []}
    return {
        "follow_ups": fields,
        "follow_up_action": FOLLOW_UP_ACTION,
        "follow_up_token": request_follow_up_tokens(request).issue(response_id, survey_id),
        "max_text": MAX_TEXT_ANSWER,
    }


def follow_up_retry(
    request: Request,
    page: FollowUpPage,
    language: str,
    response_id: int,
    survey_id: int,
    form: Form,
    problems: Sequence[Problem],
) -> HTMLResponse:
    """The follow-up form again (422), each message by its question, what was sent kept."""
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field, gettext(problem.message) % dict(problem.params))
    fields = follow_up_fields(
        page.questions, language, page.default_language, form=form, errors=errors
    )
    return _render(
        "thanks.html",
        422,
        language,
        title=gettext("A few more questions (optional)"),
        organisation=page.organisation_name,
        only_follow_ups=True,
        error=gettext("Please check the answers marked below."),
        **_follow_up_context(request, fields, response_id, survey_id),
    )


def follow_up_done(language: str) -> Response:
    """After the follow-up answers: thanks, and nothing more to fill in."""
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    return _render(
        "message.html",
        200,
        language,
        title=gettext("Thank you"),
        message=gettext("Your answers have been recorded."),
    )


def thanks(
    request: Request,
    target: Target,
    language: str,
    recorded: answers.Recorded,
    change_url: str | None,
    follow_ups: Sequence[SurveyQuestion] = (),
) -> Response:
    """The thank-you page, or JSON: a text for the band of the score (after a low score it
    says the answer was heard and what happens with it, and whether the respondent allowed
    a contact); review and referral links for a top score; the survey's follow-up questions
    as a small form bound to the response just given."""
    spec = target.survey.metric_spec()
    score_band = questions.band(recorded.score, spec)
    message = questions.thanks_in(
        target.options.thanks,
        score_band,
        language,
        target.organisation_name,
        source_language=target.survey.default_language,
    )
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    consent_note = (
        gettext(questions.CONSENT_GIVEN) % {"organisation": target.organisation_name}
        if score_band == "low" and recorded.consent
        else None
    )
    if wants_json(request):
        return JSONResponse(
            {
                "status": "recorded",
                "score": recorded.score,
                "band": score_band,
                "message": message.text,
            },
            headers=SECURITY_HEADERS,
        )
    top = score_band == "high"
    return _render(
        "thanks.html",
        200,
        language,
        title=gettext("Thank you"),
        brand=target.brand,
        band=score_band,
        message=message,
        consent_note=consent_note,
        organisation=target.organisation_name,
        review_url=target.options.review_url if top else None,
        referral_url=target.options.referral_url if top else None,
        change_url=change_url,
        only_follow_ups=False,
        error=None,
        **_follow_up_context(
            request,
            follow_up_fields(follow_ups, language, target.survey.default_language),
            recorded.response_id,
            target.survey.id,
        ),
    )


def score_param(request: Request, target: Target) -> int | None:
    """The score a link pre-selects (``?score=N``), if it is on the survey's scale."""
    text = request.query_params.get("score")
    if text is None:
        return None
    try:
        return answers.parse_score(text, target.survey.metric_spec())
    except answers.AnswerProblem:
        return None  # a damaged link still shows the page, with nothing pre-selected
