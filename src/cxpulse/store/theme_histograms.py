"""Histograms of the answers that mention each theme, counted by the database.

The text stage's drivers (``text.theme_impact``) take histograms: those of the answers
mentioning a theme, of the answers whose comment was analysed and of every answer. Where the
question is whole UTC days of one survey, they come from the daily counts of
``store.comment_rollups`` (a year of a theme is a few thousand rows, however many comments);
otherwise each theme's histogram is one range of the index (survey, theme, time, ...) of
``response_themes``, which holds copies of the answers' times and scores for that purpose,
and other filters (channel, segments ...) join the responses and cost more.

Only analysed comments count: a comment still in the worker's queue is in neither the
themes nor ``commented``, so a theme's share of ``commented`` is right even while a backlog
is analysed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, func, null, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cxpulse.metrics import Histogram
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.metrics_query import histograms_of, rollups_can_answer
from cxpulse.store.models import (
    AnalysedComment,
    CommentRollup,
    Response,
    ResponseTheme,
    TextTheme,
    ThemeRollup,
)
from cxpulse.store.sql import PERIODS, Period, period_label
from cxpulse.store.surveys import get_survey

Label = str | None
"""A period's label (``2026-03``), or None for the whole range."""


@dataclass(frozen=True)
class ThemeHistograms:
    """Counts of one survey's answers in one period (or the whole range)."""

    themes: dict[int, Histogram] = field(default_factory=dict)
    """Theme id to the scores of the answers mentioning it (themes with a mention only)."""
    sentiments: dict[int, dict[str, int]] = field(default_factory=dict)
    """Theme id to its mentions per sentiment (``negative``, ``neutral`` ...)."""
    commented: Histogram = field(default_factory=Histogram)
    """The answers whose comment has been analysed."""
    everyone: Histogram = field(default_factory=Histogram)
    """Every answer."""


def theme_histograms(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    *,
    theme_ids: Sequence[int] | None = None,
    use_rollups: bool | None = None,
) -> ThemeHistograms:
    """The counts of the answers ``filters`` keep (``filters.survey_id`` is required) for
    the themes ``theme_ids`` (default: the organisation's active themes). ``use_rollups``
    None reads the daily counts when they can answer; False always reads the mentions."""
    found = _counts(session, organisation_id, filters, theme_ids, None, use_rollups)
    return found.get(None, ThemeHistograms())


def theme_trend(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    period: Period,
    *,
    theme_ids: Sequence[int] | None = None,
    use_rollups: bool | None = None,
) -> dict[str, ThemeHistograms]:
    """``theme_histograms`` per calendar period (``day``, ``week``, ``month`` ...), by
    period label (``2026-03``); periods without any answer are absent."""
    if period not in PERIODS:
        raise Invalid("period", f"must be one of {', '.join(PERIODS)}")
    found = _counts(session, organisation_id, filters, theme_ids, period, use_rollups)
    return {str(label): counts for label, counts in found.items() if label is not None}


def _counts(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    theme_ids: Sequence[int] | None,
    period: Period | None,
    use_rollups: bool | None,
) -> dict[Label, ThemeHistograms]:
    survey_id = filters.survey_id
    if survey_id is None:
        raise Invalid("survey_id", "themes are counted for one survey")
    # The survey fixes the organisation, so the counts below need no organisation column
    # (which would cost a visit to each row instead of an index range).
    get_survey(session, organisation_id, survey_id)
    if theme_ids is None:
        theme_ids = list(
            session.scalars(
                select(TextTheme.id).where(
                    TextTheme.organisation_id == organisation_id, TextTheme.is_active.is_(True)
                )
            )
        )
    wanted = sorted(set(theme_ids))
    dialect = session.get_bind().dialect.name
    plain = replace(filters, survey_id=None, start=None, end=None) == ResponseFilters()
    possible = plain and rollups_can_answer(filters)
    if use_rollups and not possible:
        raise Invalid("use_rollups", "the daily counts keep whole UTC days of a survey only")
    rolled = possible if use_rollups is None else use_rollups

    themes: dict[Label, dict[int, dict[float, int]]] = {}
    sentiments: dict[Label, dict[int, dict[str, int]]] = {}
    commented: dict[Label, dict[float, int]] = {}
    if rolled:
        mentions = _rollup_select(
            filters,
            ThemeRollup,
            [ThemeRollup.theme_id, ThemeRollup.sentiment],
            wanted,
            period,
            dialect,
        )
        analyses = _rollup_select(filters, CommentRollup, [], [], period, dialect)
    else:
        mentions = _mention_select(organisation_id, filters, plain, wanted, period, dialect)
        analyses = _analysis_select(organisation_id, filters, plain, period, dialect)
    if wanted:
        for label, theme_id, sentiment, score, count in session.execute(mentions):
            _add(themes.setdefault(label, {}).setdefault(int(theme_id), {}), score, count)
            by_sentiment = sentiments.setdefault(label, {}).setdefault(int(theme_id), {})
            by_sentiment[sentiment] = by_sentiment.get(sentiment, 0) + int(count)
    for label, score, count in session.execute(analyses):
        _add(commented.setdefault(label, {}), score, count)

    everyone = {
        (key[0] if period else None): histogram
        for key, histogram in histograms_of(
            session, organisation_id, filters, period=period
        ).items()
    }
    labels = set(everyone) | set(commented) | set(themes)
    return {
        label: ThemeHistograms(
            themes={theme: Histogram(counts) for theme, counts in themes.get(label, {}).items()},
            sentiments=sentiments.get(label, {}),
            commented=Histogram(commented.get(label, {})),
            everyone=everyone.get(label, Histogram()),
        )
        for label in labels
    }


def _add(counts: dict[float, int], score: Any, count: Any) -> None:
    value = float(score)
    counts[value] = counts.get(value, 0) + int(count)


def _rollup_select(
    filters: ResponseFilters,
    table: type[ThemeRollup] | type[CommentRollup],
    grouped: list[InstrumentedAttribute[Any]],
    theme_ids: list[int],
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    """``label, <grouped ...>, score, sum(count)`` of the daily counts of the survey's
    days in range."""
    where: list[Any] = [table.survey_id == filters.survey_id]
    if theme_ids:
        where.append(ThemeRollup.theme_id.in_(theme_ids))
    if filters.start is not None:
        where.append(table.day >= values.instant("start", filters.start).date())
    if filters.end is not None:
        where.append(table.day < values.instant("end", filters.end).date())
    labels: list[Any] = []
    if period:
        labels.append(period_label(table.day, period, dialect, is_date=True).label("period"))
    inner = select(
        *labels,
        *(column.label(column.key) for column in grouped),
        table.score.label("score"),
        table.count.label("weight"),
    ).where(*where)
    return _grouped(inner, [column.key for column in grouped], func.sum)


def _mention_select(
    organisation_id: int,
    filters: ResponseFilters,
    plain: bool,
    theme_ids: list[int],
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    """``label, theme_id, sentiment, score, count(*)`` of the mentions of the answers kept."""
    inner = _rows(
        organisation_id,
        filters,
        plain,
        ResponseTheme.survey_id,
        ResponseTheme.submitted_at,
        ResponseTheme.response_id,
        [ResponseTheme.theme_id.in_(theme_ids)],
        [ResponseTheme.theme_id, ResponseTheme.sentiment, ResponseTheme.score],
        period,
        dialect,
    )
    return _grouped(inner, ["theme_id", "sentiment", "score"], None)


def _analysis_select(
    organisation_id: int,
    filters: ResponseFilters,
    plain: bool,
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    inner = _rows(
        organisation_id,
        filters,
        plain,
        AnalysedComment.survey_id,
        AnalysedComment.submitted_at,
        AnalysedComment.response_id,
        [],
        [AnalysedComment.score],
        period,
        dialect,
    )
    return _grouped(inner, ["score"], None)


def _rows(
    organisation_id: int,
    filters: ResponseFilters,
    plain: bool,
    survey_column: InstrumentedAttribute[int],
    time_column: InstrumentedAttribute[Any],
    response_column: InstrumentedAttribute[int],
    conditions: list[ColumnElement[bool]],
    selected: list[InstrumentedAttribute[Any]],
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    """The rows of the survey and range (joined with the responses when other filters
    apply), with their period label and ``selected`` columns."""
    where: list[Any] = [survey_column == filters.survey_id, *conditions]
    if filters.start is not None:
        where.append(time_column >= values.instant("start", filters.start))
    if filters.end is not None:
        where.append(time_column < values.instant("end", filters.end))
    labels: list[Any] = []
    if period:
        labels.append(period_label(time_column, period, dialect, is_date=False).label("period"))
    inner: Select[Any] = select(*labels, *(column.label(column.key) for column in selected))
    if not plain:
        inner = inner.join(Response, Response.id == response_column)
        others, needs_contacts = filter_conditions(
            organisation_id, replace(filters, survey_id=None, start=None, end=None)
        )
        if needs_contacts:
            inner = join_contacts(inner, organisation_id)
        where += others
    return inner.where(*where)


def _grouped(inner: Select[Any], names: list[str], weighted: Any) -> Select[Any]:
    """``label, <names ...>, count``: grouped over the inner query's labelled columns rather
    than their expressions, since PostgreSQL does not see that two copies of a period
    expression with bound parameters are the same; without a period the label is NULL
    (added outside, so that grouping never sorts by it). ``weighted`` (``func.sum``) adds
    up a ``weight`` column instead of counting rows."""
    sub = inner.subquery()
    groups = [sub.c[name] for name in names]
    if weighted is not None:
        groups.append(sub.c.score)
    counted = weighted(sub.c.weight) if weighted is not None else func.count()
    if "period" in sub.c:
        return select(sub.c.period, *groups, counted).group_by(sub.c.period, *groups)
    return select(null(), *groups, counted).group_by(*groups)
