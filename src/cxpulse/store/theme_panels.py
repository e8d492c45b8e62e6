"""Reads behind the themes and comments panels (dashboard, overview, monthly report) that
``store.theme_histograms`` and ``store.comment_listing`` do not give.

- ``theme_examples``: the newest few comments of each theme in a score band: per theme one
  range of the mentions' (survey, theme, time) index, read backwards and stopped after
  ``limit`` rows, with the redacted texts of those comments;
- ``languages_present``: which of the analysis's languages a survey's comments of a period
  are written in, one index probe per language, for the comments panel's chips;
- ``surveys_theme_histograms``: the histograms of every theme's mentioners for many surveys
  at once, over one period: the overview's cards in one statement rather than one per survey;
  ``analysed_by_survey``: their analysed comments, from the store's daily counts.

Comments are the redacted text of their current analysis: an analysis whose comment changed
since (``comment_analyses.STALE``) is left out until the worker has redone it, seconds later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram
from cxpulse.store import _values as values
from cxpulse.store.comment_analyses import STALE
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.models import (
    AnalysedComment,
    CommentRollup,
    Response,
    ResponseTheme,
    Survey,
)
from cxpulse.store.surveys import get_survey

_EXAMPLE_COLUMNS: tuple[Any, ...] = (
    ResponseTheme.response_id,
    ResponseTheme.submitted_at,
    ResponseTheme.score,
    ResponseTheme.sentiment,
    AnalysedComment.language,
    AnalysedComment.redacted_comment,
)
MAX_EXAMPLES = 20
"""Examples per theme at most: a panel shows a handful, never a page."""


@dataclass(frozen=True)
class Band:
    """Scores from ``low`` to ``high`` (both inclusive; None: unbounded)."""

    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Example:
    theme_id: int
    response_id: int
    submitted_at: datetime
    score: float
    language: str | None
    sentiment: str
    """The sentiment of the theme's mention (the clause that names it)."""
    text: str
    """The redacted comment."""


def _plain(filters: ResponseFilters) -> bool:
    """Whether ``filters`` name nothing but the survey and the period (so the copies of the
    answers' survey, time and score in the text tables answer alone)."""
    return replace(filters, survey_id=None, start=None, end=None) == ResponseFilters()


def _period(column: Any, filters: ResponseFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.start is not None:
        where.append(column >= values.instant("start", filters.start))
    if filters.end is not None:
        where.append(column < values.instant("end", filters.end))
    return where


def _with_response_filters(
    query: Select[Any], organisation_id: int, filters: ResponseFilters, response_id: Any
) -> Select[Any]:
    """``query`` joined to the responses and restricted by every filter but the survey and
    the period (which the caller applies to the text table's own copies)."""
    rest = replace(filters, survey_id=None, start=None, end=None)
    others, needs_contacts = filter_conditions(organisation_id, rest)
    query = query.join(Response, Response.id == response_id)
    if needs_contacts:
        query = join_contacts(query, organisation_id)
    return query.where(*others)


def _survey_of(session: Session, organisation_id: int, filters: ResponseFilters) -> int:
    if filters.survey_id is None:
        raise Invalid("survey_id", "themes are read for one survey")
    # The survey fixes the organisation: the reads below name only the survey, so that each
    # is a range of a (survey, ...) index.
    get_survey(session, organisation_id, filters.survey_id)
    return filters.survey_id


def theme_examples(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    wanted: Mapping[int, Band],
    *,
    limit: int = 3,
) -> dict[int, list[Example]]:
    """For each theme id of ``wanted``, the newest ``limit`` comments of the answers
    ``filters`` keep (``survey_id`` required) that mention it with a score in its band,
    newest first. Themes without such a comment are absent.

    One small statement per theme (the same statement each time, so compiled once): a
    backwards range of the mentions' (survey, theme, time) index, each row's analysis found
    by its primary key, stopped after ``limit`` rows."""
    if not 1 <= limit <= MAX_EXAMPLES:
        raise Invalid("limit", f"must be 1 to {MAX_EXAMPLES}")
    survey_id = _survey_of(session, organisation_id, filters)
    plain = _plain(filters)
    found: dict[int, list[Example]] = {}
    for theme_id, band in sorted(wanted.items()):
        where = [
            ResponseTheme.survey_id == survey_id,
            ResponseTheme.theme_id == theme_id,
            *_period(ResponseTheme.submitted_at, filters),
        ]
        if band.low is not None:
            where.append(ResponseTheme.score >= band.low)
        if band.high is not None:
            where.append(ResponseTheme.score <= band.high)
        # An analysis whose comment changed is not shown (its text is the old comment's).
        query = (
            select(*_EXAMPLE_COLUMNS)
            .join(
                AnalysedComment,
                and_(
                    AnalysedComment.response_id == ResponseTheme.response_id,
                    AnalysedComment.taxonomy_version != STALE,
                ),
            )
            .where(*where)
        )
        if not plain:
            query = _with_response_filters(
                query, organisation_id, filters, ResponseTheme.response_id
            )
        rows = session.execute(
            query.order_by(
                ResponseTheme.submitted_at.desc(), ResponseTheme.response_id.desc()
            ).limit(limit)
        )
        examples = [
            Example(
                theme_id=theme_id,
                response_id=int(row.response_id),
                submitted_at=row.submitted_at,
                score=float(row.score),
                language=row.language,
                sentiment=str(row.sentiment),
                text=str(row.redacted_comment),
            )
            for row in rows
        ]
        if examples:
            found[theme_id] = examples
    return found


def languages_present(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    languages: Sequence[str],
) -> list[str]:
    """Which of ``languages`` (ISO 639-1 codes) the analysed comments of the answers
    ``filters`` keep are written in, in the order given.

    Each language is one probe of the (survey, language, time) index of the analyses for the
    survey's plain period; other filters join the responses and read until a match."""
    survey_id = _survey_of(session, organisation_id, filters)
    if not languages:
        return []
    plain = _plain(filters)
    parts = []
    for position, language in enumerate(languages):
        probe = select(AnalysedComment.response_id).where(
            AnalysedComment.survey_id == survey_id,
            AnalysedComment.language == language,
            *_period(AnalysedComment.submitted_at, filters),
        )
        if not plain:
            probe = _with_response_filters(
                probe, organisation_id, filters, AnalysedComment.response_id
            )
        parts.append(select(literal(position).label("position")).where(probe.limit(1).exists()))
    found = {int(row[0]) for row in session.execute(union_all(*parts))}
    return [language for position, language in enumerate(languages) if position in found]


def surveys_theme_histograms(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    theme_ids: Sequence[int],
    start: datetime,
    end: datetime,
) -> tuple[dict[int, dict[int, Histogram]], dict[int, Histogram]]:
    """For each of the organisation's surveys ``survey_ids`` over ``start`` (inclusive) to
    ``end`` (exclusive): theme id to the histogram of the answers mentioning it (themes
    with a mention only), and the histogram of the answers whose comment was analysed.

    Two statements for every survey together; each (survey, theme) pair is one range of the
    mentions' index and each survey one range of the analyses'. Surveys of another
    organisation are ignored."""
    ids = _own_surveys(session, organisation_id, survey_ids)
    themes: dict[int, dict[int, dict[float, int]]] = {survey: {} for survey in ids}
    commented: dict[int, dict[float, int]] = {survey: {} for survey in ids}
    if not ids:
        return {}, {}
    low, high = values.instant("start", start), values.instant("end", end)
    if theme_ids:
        sub = (
            select(ResponseTheme.survey_id, ResponseTheme.theme_id, ResponseTheme.score)
            .where(
                ResponseTheme.survey_id.in_(ids),
                ResponseTheme.theme_id.in_(sorted(set(theme_ids))),
                ResponseTheme.submitted_at >= low,
                ResponseTheme.submitted_at < high,
            )
            .subquery()
        )
        rows = session.execute(
            select(sub.c.survey_id, sub.c.theme_id, sub.c.score, func.count()).group_by(
                sub.c.survey_id, sub.c.theme_id, sub.c.score
            )
        )
        for survey_id, theme_id, score, count in rows:
            counts = themes[int(survey_id)].setdefault(int(theme_id), {})
            counts[float(score)] = counts.get(float(score), 0) + int(count)
    sub = (
        select(AnalysedComment.survey_id, AnalysedComment.score)
        .where(
            AnalysedComment.survey_id.in_(ids),
            AnalysedComment.submitted_at >= low,
            AnalysedComment.submitted_at < high,
        )
        .subquery()
    )
    for survey_id, score, count in session.execute(
        select(sub.c.survey_id, sub.c.score, func.count()).group_by(sub.c.survey_id, sub.c.score)
    ):
        by_score = commented[int(survey_id)]
        by_score[float(score)] = by_score.get(float(score), 0) + int(count)
    return (
        {s: {t: Histogram(c) for t, c in found.items()} for s, found in themes.items()},
        {s: Histogram(c) for s, c in commented.items()},
    )


def analysed_by_survey(
    session: Session,
    organisation_id: int,
    survey_ids: Sequence[int],
    start: date,
    end: date,
) -> dict[int, int]:
    """Analysed comments of each of the organisation's surveys ``survey_ids`` from ``start``
    to ``end`` (exclusive, whole UTC days), from the daily counts the store keeps with every
    analysis (``comment_rollups``): a few rows a day per survey."""
    ids = _own_surveys(session, organisation_id, survey_ids)
    found = {survey: 0 for survey in ids}
    if not ids:
        return found
    rows = session.execute(
        select(CommentRollup.survey_id, func.sum(CommentRollup.count))
        .where(
            CommentRollup.survey_id.in_(ids),
            CommentRollup.day >= start,
            CommentRollup.day < end,
        )
        .group_by(CommentRollup.survey_id)
    )
    for survey_id, count in rows:
        found[int(survey_id)] = int(count or 0)
    return found


def _own_surveys(session: Session, organisation_id: int, survey_ids: Sequence[int]) -> list[int]:
    if not survey_ids:
        return []
    return sorted(
        int(found)
        for found in session.scalars(
            select(Survey.id).where(
                Survey.organisation_id == organisation_id, Survey.id.in_(sorted(set(survey_ids)))
            )
        )
    )
