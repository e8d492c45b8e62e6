"""Analysed comments for pages and the API: the latest first, in keyset pages, with their
themes; and one response's analysis.

Every comment shown is the redacted text of its analysis, never the stored original. A page
of a survey's comments is one range of the (survey, time) index of ``comment_analyses``, or
of the (survey, theme, time) index of ``response_themes`` when filtered by a theme; filters
on the response's own fields (channel, segments, search ...) join the responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store.cursors import Cursor
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.keyset import after_key
from cxpulse.store.models import (
    COMMENT_SENTIMENTS,
    AnalysedComment,
    Response,
    ResponseTheme,
    TextTheme,
)
from cxpulse.store.response_reads import get_response

MAX_PAGE_SIZE = 200
_CHUNK = 500


@dataclass(frozen=True)
class CommentFilters:
    """What the analysis found, to filter on (with ``ResponseFilters`` for the answer)."""

    theme_id: int | None = None
    language: str | None = None
    """The language the comment was found to be in (not the answer's page language)."""
    sentiment: str | None = None


@dataclass(frozen=True)
class Mention:
    theme_id: int
    key: str
    name: str
    origin: str
    sentiment: str


@dataclass(frozen=True)
class Comment:
    response_id: int
    survey_id: int
    submitted_at: datetime
    score: float
    language: str | None
    sentiment: str
    sentiment_source: str | None
    text: str
    """The redacted comment."""
    themes: tuple[Mention, ...]


@dataclass(frozen=True)
class CommentPage:
    items: list[Comment]
    next_before: Cursor | None
    """Pass as ``before`` for the next (older) page; None on the last page."""


def list_comments(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    found: CommentFilters | None = None,
    *,
    before: Cursor | None = None,
    limit: int = 20,
) -> CommentPage:
    """Analysed comments of the answers ``filters`` keep that match ``found``, newest first
    ((time, response id) descending), ``limit`` at a time."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise Invalid("limit", f"must be 1 to {MAX_PAGE_SIZE}")
    found = found or CommentFilters()
    if found.sentiment is not None and found.sentiment not in COMMENT_SENTIMENTS:
        raise Invalid("sentiment", f"must be one of {', '.join(COMMENT_SENTIMENTS)}")
    analysis = AnalysedComment
    # Filtered by a theme, the page is a range of the mentions' index; else of the analyses'.
    keyed: Any = ResponseTheme if found.theme_id is not None else AnalysedComment
    query = select(analysis)
    conditions: list[Any] = [analysis.organisation_id == organisation_id]
    if found.theme_id is not None:
        query = query.join(
            ResponseTheme,
            and_(
                ResponseTheme.response_id == analysis.response_id,
                ResponseTheme.theme_id == found.theme_id,
            ),
        )
    if filters.survey_id is not None:
        conditions.append(keyed.survey_id == filters.survey_id)
    if filters.start is not None:
        conditions.append(keyed.submitted_at >= values.instant("start", filters.start))
    if filters.end is not None:
        conditions.append(keyed.submitted_at < values.instant("end", filters.end))
    if filters.min_score is not None:
        conditions.append(keyed.score >= filters.min_score)
    if filters.max_score is not None:
        conditions.append(keyed.score <= filters.max_score)
    if found.language is not None:
        conditions.append(analysis.language == found.language)
    if found.sentiment is not None:
        conditions.append(analysis.sentiment == found.sentiment)
    rest = replace(filters, survey_id=None, start=None, end=None, min_score=None, max_score=None)
    if rest != ResponseFilters():
        query = query.join(Response, Response.id == analysis.response_id)
        others, needs_contacts = filter_conditions(organisation_id, rest)
        if needs_contacts:
            query = join_contacts(query, organisation_id)
        conditions += others
    if before is not None:
        moment, last_id = before
        key = (values.aware("before", moment), last_id)
        conditions += after_key(keyed.submitted_at, keyed.response_id, key, descending=True)
    rows = list(
        session.scalars(
            query.where(*conditions)
            .order_by(keyed.submitted_at.desc(), keyed.response_id.desc())
            .limit(limit + 1)
        )
    )
    items = rows[:limit]
    mentions = _mentions(session, organisation_id, [row.response_id for row in items])
    comments = [_comment(row, mentions.get(row.response_id, ())) for row in items]
    last = items[-1] if items and len(rows) > limit else None
    return CommentPage(comments, (last.submitted_at, last.response_id) if last else None)


def get_comment(session: Session, organisation_id: int, response_id: int) -> Comment | None:
    """The analysis of one response's comment with its themes; None when it has none (yet);
    NotFound when the organisation has no such response."""
    get_response(session, organisation_id, response_id)
    row = session.scalar(
        select(AnalysedComment).where(
            AnalysedComment.organisation_id == organisation_id,
            AnalysedComment.response_id == response_id,
        )
    )
    if row is None:
        return None
    return _comment(row, _mentions(session, organisation_id, [response_id]).get(response_id, ()))


def themes_of_response(session: Session, organisation_id: int, response_id: int) -> list[Mention]:
    """The themes one response's comment mentions, by name; NotFound when the organisation
    has no such response."""
    get_response(session, organisation_id, response_id)
    return list(_mentions(session, organisation_id, [response_id]).get(response_id, ()))


def _mentions(
    session: Session, organisation_id: int, response_ids: Sequence[int]
) -> dict[int, tuple[Mention, ...]]:
    found: dict[int, list[Mention]] = {}
    ids = list(response_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                ResponseTheme.response_id,
                TextTheme.id,
                TextTheme.key,
                TextTheme.name,
                TextTheme.origin,
                ResponseTheme.sentiment,
            )
            .join(TextTheme, TextTheme.id == ResponseTheme.theme_id)
            .where(
                TextTheme.organisation_id == organisation_id,
                ResponseTheme.response_id.in_(ids[start : start + _CHUNK]),
            )
            .order_by(TextTheme.name, TextTheme.id)
        )
        for response_id, theme_id, key, name, origin, sentiment in rows:
            found.setdefault(int(response_id), []).append(
                Mention(int(theme_id), key, name, origin, sentiment)
            )
    return {response_id: tuple(mentions) for response_id, mentions in found.items()}


def _comment(row: AnalysedComment, mentions: tuple[Mention, ...]) -> Comment:
    return Comment(
        response_id=row.response_id,
        survey_id=row.survey_id,
        submitted_at=row.submitted_at,
        score=row.score,
        language=row.language,
        sentiment=row.sentiment,
        sentiment_source=row.sentiment_source,
        text=row.redacted_comment,
        themes=mentions,
    )
