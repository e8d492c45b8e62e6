"""The theme counts behind the themes panels, read so that a dashboard stays fast.

The store counts a survey's themes per day (``store.comment_rollups``, read by
``store.theme_histograms``), so a year of a theme is a few thousand rows rather than every
mention; a dashboard still pays for grouping tens of thousands of them by month and score
(about 100 ms at 1 million answers with 400,000 comments on the 2-core machine). Counts of
days that are over change only when comments of those days are analysed (a backlog, a bulk
import with old dates, a changed taxonomy) or answers are edited, so they are remembered
(``CountCache``) and only today's answers are read on every request:

- the **past** part of a period (its days before today) is counted once and kept for
  ``CACHE_SECONDS``, keyed by the survey, the filters, the days, the organisation's taxonomy
  version and the number of analysed comments of those days (a sum over a few rows a day of
  the store's daily counts, made on every request): a backlog being analysed, an import or a
  deletion changes that number and so is seen at once; a re-analysis after a taxonomy edit
  or an edited score shows within ``CACHE_SECONDS``;
- **today** (when the period reaches it) is counted on every request.

The first view of a period in a process pays the whole count.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram
from cxpulse.store import _values as values
from cxpulse.store import text_themes, theme_histograms, theme_panels
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import CommentRollup
from cxpulse.store.theme_histograms import ThemeHistograms

CACHE_SECONDS = 120.0


class CountCache:
    """Values by key for ``ttl`` seconds, at most ``size`` of them (then it starts again,
    never grows). Shared by the requests of a process, so guarded by a lock."""

    def __init__(self, ttl: float = CACHE_SECONDS, size: int = 2_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


COUNTS = CountCache()
"""The cache of the pages of this process (dashboard, overview, monthly report, API)."""


def _database(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=True)


def _analysed(session: Session, survey_id: int, start: date, end: date) -> int:
    """Analysed comments of the survey from ``start`` to ``end`` (exclusive, whole days):
    the sum of a range of the daily counts the store keeps with every analysis
    (``comment_rollups``), a few rows a day."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(CommentRollup.count), 0)).where(
                CommentRollup.survey_id == survey_id,
                CommentRollup.day >= start,
                CommentRollup.day < end,
            )
        )
        or 0
    )


def _filters_key(filters: ResponseFilters) -> tuple[object, ...]:
    """``filters`` as a hashable key (its mappings as sorted pairs)."""
    parts: list[object] = []
    for item in dataclasses.fields(filters):
        value = getattr(filters, item.name)
        if isinstance(value, Mapping):
            value = tuple(sorted(value.items()))
        parts.append((item.name, value))
    return tuple(parts)


def _merge(parts: Sequence[dict[str, ThemeHistograms]]) -> dict[str, ThemeHistograms]:
    """Monthly counts of adjacent periods added month by month (the month that holds today
    is in both the past and today's part)."""
    merged: dict[str, ThemeHistograms] = {}
    for part in parts:
        for label, counts in part.items():
            known = merged.get(label)
            merged[label] = counts if known is None else _add(known, counts)
    return merged


def _add(a: ThemeHistograms, b: ThemeHistograms) -> ThemeHistograms:
    themes = dict(a.themes)
    for theme, histogram in b.themes.items():
        themes[theme] = themes[theme] + histogram if theme in themes else histogram
    sentiments = {theme: dict(found) for theme, found in a.sentiments.items()}
    for theme, found in b.sentiments.items():
        into = sentiments.setdefault(theme, {})
        for mood, count in found.items():
            into[mood] = into.get(mood, 0) + count
    return ThemeHistograms(themes, sentiments, a.commented + b.commented, a.everyone + b.everyone)


def monthly_counts(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    start: date,
    end: date,
    *,
    today: date,
    cache: CountCache | None = COUNTS,
) -> dict[str, ThemeHistograms]:
    """The counts of the answers ``filters`` keep (``survey_id`` required; its own period is
    replaced) from ``start`` to ``end`` (exclusive, whole UTC days) by calendar month
    (``2026-03``): each active theme's mentioners, the analysed comments and every answer."""
    survey_id = filters.survey_id
    if survey_id is None:
        raise ValueError("theme counts are read for one survey: give filters.survey_id")
    split = min(max(start, today), end)
    parts: list[dict[str, ThemeHistograms]] = []
    if start < split:
        parts.append(_past(session, organisation_id, filters, survey_id, start, split, cache=cache))
    if split < end:
        fresh = dataclasses.replace(filters, start=split, end=end)
        parts.append(theme_histograms.theme_trend(session, organisation_id, fresh, "month"))
    return _merge(parts)


def _past(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    survey_id: int,
    start: date,
    end: date,
    *,
    cache: CountCache | None,
) -> dict[str, ThemeHistograms]:
    ranged = dataclasses.replace(filters, start=start, end=end)
    if cache is None:
        return theme_histograms.theme_trend(session, organisation_id, ranged, "month")
    key = (
        "months",
        _database(session),
        organisation_id,
        _filters_key(ranged),
        text_themes.taxonomy_version(session, organisation_id),
        _analysed(session, survey_id, start, end),
    )
    found = cache.get(key)
    if isinstance(found, dict):
        return found
    counted = theme_histograms.theme_trend(session, organisation_id, ranged, "month")
    cache.put(key, counted)
    return counted


@dataclass(frozen=True)
class SurveyThemeCounts:
    """One survey's counts over a period, for the overview's cards."""

    themes: dict[int, Histogram]
    commented: Histogram


def surveys_counts(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    start: date,
    end: date,
    *,
    today: date,
    cache: CountCache | None = COUNTS,
) -> dict[int, SurveyThemeCounts]:
    """Each survey's theme histograms (active themes) and analysed comments from ``start``
    to ``end`` (exclusive), its days before today remembered as ``monthly_counts`` does
    (keyed by the analysed comments of every survey together)."""
    theme_ids = [theme.id for theme in text_themes.list_themes(session, organisation_id)]
    split = min(max(start, today), end)
    parts: list[tuple[dict[int, dict[int, Histogram]], dict[int, Histogram]]] = []
    if start < split:
        parts.append(
            _past_surveys(session, organisation_id, survey_ids, theme_ids, start, split, cache)
        )
    if split < end:
        parts.append(
            theme_panels.surveys_theme_histograms(
                session,
                organisation_id,
                survey_ids,
                theme_ids,
                values.instant("start", split),
                values.instant("end", end),
            )
        )
    result: dict[int, SurveyThemeCounts] = {}
    for survey_id in survey_ids:
        themes: dict[int, Histogram] = {}
        commented = Histogram()
        for found_themes, found_commented in parts:
            for theme, histogram in found_themes.get(survey_id, {}).items():
                themes[theme] = themes[theme] + histogram if theme in themes else histogram
            commented = commented + found_commented.get(survey_id, Histogram())
        result[survey_id] = SurveyThemeCounts(themes, commented)
    return result


def _past_surveys(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    theme_ids: Sequence[int],
    start: date,
    end: date,
    cache: CountCache | None,
) -> tuple[dict[int, dict[int, Histogram]], dict[int, Histogram]]:
    def read() -> tuple[dict[int, dict[int, Histogram]], dict[int, Histogram]]:
        return theme_panels.surveys_theme_histograms(
            session,
            organisation_id,
            survey_ids,
            theme_ids,
            values.instant("start", start),
            values.instant("end", end),
        )

    if cache is None:
        return read()
    analysed = theme_panels.analysed_by_survey(session, organisation_id, survey_ids, start, end)
    key = (
        "surveys",
        _database(session),
        organisation_id,
        tuple(sorted(survey_ids)),
        tuple(sorted(theme_ids)),
        text_themes.taxonomy_version(session, organisation_id),
        start,
        end,
        tuple(sorted(analysed.items())),
    )
    found = cache.get(key)
    if isinstance(found, tuple):
        return found
    counted = read()
    cache.put(key, counted)
    return counted
