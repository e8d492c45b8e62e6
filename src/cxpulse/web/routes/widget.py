"""The embeddable web widget: widget.js and its public, rate-limited submission endpoint.

    GET     /widget.js                         the script a website embeds
    GET     /w/{org}/{survey}                  the prompt to show (JSON), per language
    OPTIONS /w/{org}/{survey}/responses        CORS preflight
    POST    /w/{org}/{survey}/responses        store one answer (source widget, channel web)

These routes are public (no key, no cookie) and answer browsers on other sites, so each
survey names the sites allowed to show it (``allowed_origins`` of its collection options):
only those get ``Access-Control-Allow-Origin`` (their own origin, never ``*``, never
credentials), and an answer sent from any other origin is refused with 403 before anything
is stored. They stay out of the OpenAPI document of API v1; docs/widget.md describes them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from cxpulse.collect.widget_submit import (
    WIDGET_CHANNEL,
    WIDGET_SOURCE,
    parse_answer,
    shown_language,
    thanks_message,
    widget_config,
)
from cxpulse.store import accounts, response_writes, responses, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Survey
from cxpulse.store.organisation_checks import darker
from cxpulse.store.responses import NewResponse
from cxpulse.store.survey_options import (
    CollectOptions,
    OptionError,
    normalise_origin,
    parse_options,
)
from cxpulse.web.errors import field_error, invalid_loc
from cxpulse.web.json_bodies import BodyProblem, read_json
from cxpulse.web.state import AppState, app_state, database_turn

logger = logging.getLogger("cxpulse.web")

router = APIRouter(include_in_schema=False)

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "widget.js"
SCRIPT_CACHE = "public, max-age=3600"
"""An hour: a fixed script URL cannot carry a version, so changes reach sites within it."""
CONFIG_CACHE = "public, max-age=60"
"""A minute: closing a survey or changing its question shows soon on every site."""
PREFLIGHT_MAX_AGE = "600"


@dataclass(frozen=True)
class _Target:
    organisation_id: int
    organisation_slug: str
    organisation_name: str
    survey: Survey
    """Detached from its session: read only."""
    options: CollectOptions
    accent_colour: str | None = None
    """The organisation's branding (its settings), for the prompt's buttons."""


def _find(state: AppState, org_slug: str, survey_slug: str) -> _Target | None:
    with state.read_sessions() as session:
        try:
            organisation = accounts.get_organisation_by_slug(session, org_slug)
            survey = surveys.get_survey_by_slug(session, organisation.id, survey_slug)
        except NotFound:
            return None
        try:
            options = parse_options(survey.collect_options)
        except OptionError as error:
            # Checked when written; a bad stored document allows no site rather than failing.
            logger.warning("survey %s has unusable collection options: %s", survey.id, error)
            options = CollectOptions()
        return _Target(
            organisation.id,
            organisation.slug,
            organisation.name,
            survey,
            options,
            organisation.accent_colour,
        )


async def _target(request: Request, org_slug: str, survey_slug: str) -> _Target | None:
    state = app_state(request)
    async with database_turn(state, writes=False):
        return await run_in_threadpool(_find, state, org_slug, survey_slug)


def _allowed_origin(request: Request, target: _Target | None) -> str | None:
    """The request's Origin, normalised, when the survey allows it, else None."""
    origin = request.headers.get("origin")
    if origin is None or target is None:
        return None
    try:
        normalised = normalise_origin(origin)
    except ValueError:  # "null" (sandboxed frames, file://) or garbage
        return None
    return normalised if normalised in target.options.allowed_origins else None


def _headers(origin: str | None, **extra: str) -> dict[str, str]:
    headers = {"Vary": "Origin", **extra}
    if origin is not None:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def _answer(
    content: Any, status_code: int, origin: str | None = None, **headers: str
) -> JSONResponse:
    return JSONResponse(content, status_code=status_code, headers=_headers(origin, **headers))


def _unavailable(target: _Target | None, origin: str | None) -> JSONResponse | None:
    """404 for an unknown or draft survey, 410 for a closed one, else None."""
    if target is None or target.survey.status == "draft":
        return _answer({"detail": "survey not found"}, 404, origin)
    if target.survey.status != "active":
        return _answer({"detail": "this survey is closed and takes no more answers"}, 410, origin)
    return None


def _refused_origin() -> JSONResponse:
    return _answer(
        {"detail": "this site is not among the survey's allowed origins"},
        403,
        **{"Cache-Control": "no-store"},
    )


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_script() -> FileResponse:
    return FileResponse(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": SCRIPT_CACHE,
            "X-Content-Type-Options": "nosniff",
            # Sites that isolate themselves (Cross-Origin-Embedder-Policy) may still load it.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/w/{org_slug}/{survey_slug}")
async def widget_prompt(
    request: Request, org_slug: str, survey_slug: str, lang: str | None = None
) -> JSONResponse:
    """The prompt in the language of ``?lang=`` (data-lang), Accept-Language or the survey.

    A request without Origin (same site, curl) gets the prompt too: it is public text. A
    browser on a site that is not allowed is refused, so the widget shows nothing there.
    """
    target = await _target(request, org_slug, survey_slug)
    origin = _allowed_origin(request, target)
    unavailable = _unavailable(target, origin)
    if unavailable is not None:
        return unavailable
    assert target is not None
    if "origin" in request.headers and origin is None:
        return _refused_origin()
    language = shown_language(
        target.survey, query=lang, accept_language=request.headers.get("accept-language")
    )
    config = widget_config(
        target.survey, target.organisation_slug, target.organisation_name, target.options, language
    )
    if target.accent_colour:
        config["accent"] = target.accent_colour
        config["accent_dark"] = darker(target.accent_colour)
    return _answer(
        config,
        200,
        origin,
        **{"Cache-Control": CONFIG_CACHE, "Vary": "Origin, Accept-Language"},
    )


@router.options("/w/{org_slug}/{survey_slug}/responses")
async def widget_preflight(request: Request, org_slug: str, survey_slug: str) -> Response:
    target = await _target(request, org_slug, survey_slug)
    origin = _allowed_origin(request, target)
    unavailable = _unavailable(target, origin)
    if unavailable is not None:
        return unavailable
    if origin is None:
        return _refused_origin()
    return Response(
        status_code=204,
        headers=_headers(
            origin,
            **{
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            },
        ),
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _store_with_consent(
    state: AppState, organisation_id: int, item: NewResponse, consent: bool
) -> bool:
    """Store an answer with the respondent's contact consent in one transaction (the group
    writer's items carry no consent; such answers are few: low scores on identified visits).
    Whether it was created; a repeat of its key updates the consent of the stored one."""

    def write() -> bool:
        with state.sessions() as session:
            ((stored, created),) = responses.add_responses(session, organisation_id, [item])
            # Part of storing the answer, not a change of it: no response.updated event.
            response_writes.update_response(
                session, organisation_id, stored.id, contact_consent=consent
            )
            session.commit()
            return created

    async with database_turn(state, writes=True):
        return await run_in_threadpool(write)


@router.post("/w/{org_slug}/{survey_slug}/responses")
async def widget_answer(request: Request, org_slug: str, survey_slug: str) -> JSONResponse:
    """Store one answer; 201 when stored, 200 when its ``key`` was stored already."""
    state = app_state(request)
    # Before any database work: a flood costs a dictionary lookup per request.
    wait = await state.public_limiter.take_async(_client(request))
    if wait > 0:
        return _answer(
            {"detail": "too many answers from this address; retry later"},
            429,
            **{"Retry-After": str(max(1, math.ceil(wait)))},
        )
    target = await _target(request, org_slug, survey_slug)
    origin = _allowed_origin(request, target)
    unavailable = _unavailable(target, origin)
    if unavailable is not None:
        return unavailable
    assert target is not None
    if origin is None:
        return _refused_origin()
    no_store = {"Cache-Control": "no-store"}
    try:
        # The API's limits and words: size by the route's max_body_size, depth here.
        document = read_json(await request.body())
    except BodyProblem as problem:
        detail = [field_error(["body"], problem.message, problem.kind)]
        return _answer({"detail": detail}, 422, origin, **no_store)
    parsed = parse_answer(target.survey, target.options, document)
    if isinstance(parsed, list):
        detail = [field_error(["body", *loc], message) for loc, message in parsed]
        return _answer({"detail": detail}, 422, origin, **no_store)
    item = NewResponse(
        survey_id=target.survey.id,
        score=parsed.score,
        comment=parsed.comment,
        language=parsed.language,
        channel=WIDGET_CHANNEL,
        properties=parsed.properties,
        source=WIDGET_SOURCE,
        idempotency_key=None if parsed.key is None else f"widget:{parsed.key}",
    )
    try:
        if parsed.consent is None:
            _, created = await state.submissions.submit(target.organisation_id, None, item)
        else:
            created = await _store_with_consent(state, target.organisation_id, item, parsed.consent)
    except NotFound:  # deleted meanwhile
        return _answer({"detail": "survey not found"}, 404, origin, **no_store)
    except Invalid as error:  # the scale changed meanwhile, say
        detail = [field_error(invalid_loc(error), error.message)]
        return _answer({"detail": detail}, 422, origin, **no_store)
    message = thanks_message(
        target.survey,
        target.options,
        target.organisation_name,
        parsed.language,
        parsed.score,
        parsed.consent,
    )
    return _answer(
        {"stored": True, "message": message},
        201 if created else 200,
        origin,
        **no_store,
    )
