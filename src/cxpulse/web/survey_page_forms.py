"""The answer form of a respondent's survey page: its signed form tokens, the checks made
before its body is read (rate limit, same origin), reading the body within
``MAX_FORM_BYTES`` and parsing the answer it carries.
"""

from __future__ import annotations

import functools
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

from fastapi import Request

from cxpulse.collect import answers
from cxpulse.signing import Claim, Signer
from cxpulse.web import survey_page_problems as problems
from cxpulse.web.same_origin import same_origin
from cxpulse.web.state import app_state
from cxpulse.web.survey_page_problems import PageProblem
from cxpulse.web.survey_page_targets import Target
from cxpulse.web.tokens import retry_after_header

FORM_TOKEN_SECONDS = 24 * 3600
"""How long a page may stay open before its form must be reloaded."""
MAX_FORM_BYTES = 160_000
"""A 10,000-character comment of four-byte characters, percent-encoded, with room to spare."""
FORM_TYPE = "application/x-www-form-urlencoded"

Form = Mapping[str, list[str]]
"""A form body as ``parse_qs`` reads it: every value of each field, in order."""


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


def request_form_tokens(request: Request) -> FormTokens:
    """The form tokens of the app serving ``request``, signed with its secret keys."""
    settings = app_state(request).settings
    return form_tokens(settings.secret_key, tuple(settings.previous_secret_keys))


FOLLOW_UP_SECONDS = 24 * 3600
"""How long the thank-you page's follow-up form may stay open."""
FOLLOW_UP_PURPOSE = "follow-up-answers"


@dataclass(frozen=True)
class FollowUpClaim:
    """What a follow-up token names: the response just given, its survey, and when the
    token was issued (a response stored after that is another one that took a deleted
    response's id, which SQLite reuses)."""

    response_id: int
    survey_id: int
    issued_at: datetime


class FollowUpTokens:
    """Tokens of ``cxpulse.signing`` (a salt of their own) naming the response just given and
    its survey: only whoever gave the response holds one, so nobody can add answers to
    another's response by changing an id."""

    def __init__(self, secret_key: str, *, previous_secret_keys: Sequence[str] = ()) -> None:
        self._signer = Signer(secret_key, previous_secret_keys)

    def issue(self, response_id: int, survey_id: int, *, now: float | None = None) -> str:
        issued = math.ceil(time.time() if now is None else now)
        claims = [response_id, survey_id, issued]
        return self._signer.dumps(FOLLOW_UP_PURPOSE, claims, expires_at=issued + FOLLOW_UP_SECONDS)

    def verify(self, token: str | None, *, now: float | None = None) -> FollowUpClaim:
        """What the token names; raises ``ValueError`` for a forged or expired token."""
        if not token:
            raise ValueError("missing follow-up token")
        signed = self._signer.loads(FOLLOW_UP_PURPOSE, token, now=now)
        match signed.claims:
            case (int() as response_id, int() as survey_id, int() as issued):
                return FollowUpClaim(response_id, survey_id, datetime.fromtimestamp(issued, UTC))
            case _:
                raise ValueError("damaged follow-up token")


@functools.cache
def follow_up_tokens(secret_key: str, previous_secret_keys: tuple[str, ...] = ()) -> FollowUpTokens:
    return FollowUpTokens(secret_key, previous_secret_keys=previous_secret_keys)


def request_follow_up_tokens(request: Request) -> FollowUpTokens:
    settings = app_state(request).settings
    return follow_up_tokens(settings.secret_key, tuple(settings.previous_secret_keys))


def too_many_answers(wait: float) -> PageProblem:
    """The 429 of an address over a limit of answers (the survey pages', and the stricter
    one of unsigned links), to try again after ``wait`` seconds."""
    return PageProblem(
        429,
        "Too many answers",
        "Too many answers came from your address. Please wait a minute and try again.",
        retry_after=retry_after_header(wait),
    )


async def guard(request: Request) -> None:
    """Rate limit and cross-site checks, before the body is read."""
    state = app_state(request)
    client = request.client.host if request.client else "unknown"
    wait = await state.public_limiter.take_async(client)
    if wait:
        raise too_many_answers(wait)
    if not same_origin(request):
        raise PageProblem(
            403,
            problems.NOT_SENT,
            "Please open the survey page itself and answer there.",
        )


async def read_form(request: Request) -> dict[str, list[str]]:
    """The form body; raises ``PageProblem`` for another content type, a body over
    ``MAX_FORM_BYTES`` (refused before it is read when its length is announced) or one
    that does not parse."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise problems.not_a_form()
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise problems.too_long()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise problems.too_long()
    try:
        return parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=40
        )
    except (UnicodeDecodeError, ValueError):
        raise problems.not_a_form() from None


def field(form: Form, name: str) -> str | None:
    """The last value of the field ``name``, if sent."""
    found = form.get(name)
    return found[-1] if found else None


def check_form_token(request: Request, form: Form, survey_id: int) -> str:
    """The nonce of the form's token; raises ``PageProblem`` unless it is ours, for this
    survey and not expired."""
    tokens = request_form_tokens(request)
    try:
        return tokens.verify(field(form, "form_token"), survey_id)
    except ValueError:
        raise PageProblem(
            403,
            problems.NOT_SENT,
            "The page was open for too long or was changed. Please reload it and answer again.",
        ) from None


def check_follow_up_token(request: Request, form: Form) -> FollowUpClaim:
    """What the follow-up form's token names; ``PageProblem`` unless ours and not
    expired."""
    try:
        return request_follow_up_tokens(request).verify(field(form, "follow_up_token"))
    except ValueError:
        raise PageProblem(
            403,
            problems.NOT_SENT,
            "The page was open for too long or was changed. Please reload it and answer again.",
        ) from None


def parse(
    target: Target, form: Form, language: str
) -> tuple[answers.Answer | None, PageProblem | None]:
    """The answer the form carries, or the problem to show with the form again."""
    try:
        answer = answers.parse_answer(
            form,
            target.survey.metric_spec(),
            target.options.reasons_in(language),
            consent_offered=target.asks_consent,
        )
    except answers.AnswerProblem as problem:
        return None, PageProblem(400, problems.NOT_STORED, problem.message, problem.params)
    return answer, None
