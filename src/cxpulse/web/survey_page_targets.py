"""What a respondent's survey page is about (``Target``): read through a public or personal
link, checked (open? withdrawn?), cached briefly for public answers under load, and the
database session each read or write runs in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from cxpulse.collect.links import LinkProblem
from cxpulse.store import survey_pages
from cxpulse.store.models import Invitation, Survey, SurveyQuestion
from cxpulse.store.organisation_settings import Brand
from cxpulse.store.survey_options import CollectOptions, OptionError, parse_options
from cxpulse.web import survey_page_problems as problems
from cxpulse.web.state import AppState, database_turn


@dataclass(frozen=True)
class Target:
    """What a page needs, read in one session and detached from it."""

    organisation_name: str
    survey: Survey
    options: CollectOptions
    invitation: Invitation | None = None
    contact_locale: str | None = None
    brand: Brand | None = None
    """The organisation's logo and accent colour, drawn by the page's layout."""

    @property
    def asks_consent(self) -> bool:
        """Whether a low score is followed by "may we contact you about this?": only on a
        personal link (a public link's respondent is anonymous, nobody could be contacted)
        of a survey whose ``contact_consent`` option is on."""
        return self.invitation is not None and self.options.contact_consent


def _options(survey: Survey) -> CollectOptions:
    try:
        return parse_options(survey.collect_options)
    except OptionError:
        # Stored options are checked when written; an old bad one must not break the page.
        return CollectOptions()


def _check_status(survey: Survey) -> None:
    if survey.status in ("closed", "archived"):
        raise problems.closed()
    if survey.status != "active":
        raise problems.not_open()


def public_target(
    session: Session, organisation_slug: str, survey_slug: str, *, detach: bool = True
) -> Target:
    """The page of a public link; raises ``PageProblem`` unless its survey is active."""
    found = survey_pages.public_survey(session, organisation_slug, survey_slug, detach=detach)
    if found is None:
        raise problems.not_found()
    _check_status(found.survey)
    return Target(found.organisation_name, found.survey, _options(found.survey), brand=found.brand)


def personal_target(
    state: AppState, session: Session, token: str, *, detach: bool = True
) -> Target:
    """The page of a personal link ``token``; raises ``PageProblem`` for a damaged or expired
    link, a withdrawn invitation or a survey that is not active."""
    try:
        claims = state.links.verify(token, "answer")
    except LinkProblem as problem:
        if problem.expired:
            raise problems.expired_link() from None
        raise problems.damaged_link() from None
    found = survey_pages.invited_survey(
        session, claims.invitation_id, claims.survey_id, detach=detach
    )
    if found is None:
        raise problems.damaged_link()
    if found.invitation.status == "cancelled":
        raise problems.withdrawn()
    if found.page is None:
        raise problems.damaged_link()
    survey = found.page.survey
    _check_status(survey)
    return Target(
        found.page.organisation_name,
        survey,
        _options(survey),
        found.invitation,
        found.contact_locale,
        brand=found.page.brand,
    )


TARGET_CACHE_SECONDS = 2.0
"""How long a public POST may use a survey read by an earlier one: saves a database read
per answer under load; a survey closed meanwhile accepts answers for at most this long."""
TARGET_CACHE_SIZE = 1000


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TimedCache(Generic[K, V]):
    """Values kept for ``TARGET_CACHE_SECONDS`` after they were read; at most
    ``TARGET_CACHE_SIZE`` of them (a full cache starts again)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None or found[0] < self._clock():
            return None
        return found[1]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= TARGET_CACHE_SIZE:
            self._entries.clear()
        self._entries[key] = (self._clock() + TARGET_CACHE_SECONDS, value)


class TargetCache(TimedCache[tuple[str, str], Target]):
    """Recently read public targets of one app, by (organisation slug, survey slug)."""


class FollowUpCache(TimedCache[int, tuple[SurveyQuestion, ...]]):
    """Recently read follow-up questions of one app's surveys, by survey id: the thank-you
    page of every answer shows them, and reading them cost a database session per answer
    (a question added in the builder shows on thank-you pages at most this long later)."""


C = TypeVar("C", bound=TimedCache)  # type: ignore[type-arg]


def _app_cache(request: Request, name: str, kind: type[C]) -> C:
    """The app's cache called ``name``, made on first use."""
    cache = getattr(request.app.state, name, None)
    if not isinstance(cache, kind):
        cache = kind()
        setattr(request.app.state, name, cache)
    return cache


def target_cache(request: Request) -> TargetCache:
    """The app's cache of public targets, made on first use."""
    return _app_cache(request, "survey_page_targets", TargetCache)


T = TypeVar("T")


async def with_session(state: AppState, *, writes: bool, work: Callable[[Session], T]) -> T:
    """``work`` run in a thread on a session of its own, committed when it ``writes``."""

    def run() -> T:
        factory = state.sessions if writes else state.read_sessions
        with factory() as session:
            result = work(session)
            if writes:
                session.commit()
            return result

    async with database_turn(state, writes=writes):
        return await run_in_threadpool(run)


def follow_up_cache(request: Request) -> FollowUpCache:
    """The app's cache of follow-up questions, made on first use."""
    return _app_cache(request, "survey_page_follow_ups", FollowUpCache)
