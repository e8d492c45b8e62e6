"""Histograms (and so every score) from the store, counted by the database.

One query ``GROUP BY <groups>, score -> count`` per call: responses are never loaded into
Python to be counted. When the question only involves what the daily rollups keep (whole UTC
days, channel, touchpoint, periods), the rollups are read instead of the responses, so the
cost follows the number of days and segments, not the number of responses.

Group dimensions (``store.filters.parse_dimension``): ``channel``, ``touchpoint``,
``language``, ``source``, ``property:<name>`` (a response property) and ``contact:<name>``
(a contact attribute). ``histograms_of`` and ``score_rows`` take the one filter type,
``ResponseFilters``; ``histograms`` takes its fields as keywords. With a ``period``, the
period label comes first in every key and is named after the period (``"month"``), as in the
file engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, MetricSpec, score
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import (
    Dimension,
    ResponseFilters,
    filter_conditions,
    join_contacts,
    matches,
    parse_dimension,
)
from cxpulse.store.models import Contact, DailyRollup, Response
from cxpulse.store.sql import PERIODS, Period, json_text, period_label
from cxpulse.store.surveys import get_survey

GroupKey = tuple[str | None, ...]
ROLLUP_DIMENSIONS = frozenset({"channel", "touchpoint"})


def group_columns(group_by: Sequence[str], period: Period | None = None) -> list[str]:
    """Names of the parts of each key ``histograms`` returns, in order."""
    return ([period] if period else []) + list(group_by)


def _day_aligned(bound: date | datetime | None) -> bool:
    if bound is None or not isinstance(bound, datetime):
        return True
    return values.instant("bound", bound).timetz() == time(0, tzinfo=UTC)


def rollups_can_answer(
    filters: ResponseFilters | None = None, group_by: Sequence[str] = ()
) -> bool:
    """Whether the daily rollups hold everything this question (``filters``, none by
    default, grouped by ``group_by``) needs: whole UTC days, channel and touchpoint."""
    filters = filters or ResponseFilters()
    return (
        filters.contact_id is None
        and filters.language is None
        and filters.source is None
        and filters.min_score is None
        and filters.max_score is None
        and filters.has_comment is None
        and not filters.search
        and not filters.properties
        and not filters.contact_attributes
        and filters.theme is None  # the rollups know nothing of comments' themes
        and all(dimension in ROLLUP_DIMENSIONS for dimension in group_by)
        and _day_aligned(filters.start)
        and _day_aligned(filters.end)
    )


def histograms(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    channel: str | None = None,
    touchpoint: str | None = None,
    language: str | None = None,
    source: str | None = None,
    properties: Mapping[str, str] | None = None,
    contact_attributes: Mapping[str, str] | None = None,
    group_by: Sequence[str] = (),
    period: Period | None = None,
    use_rollups: bool | None = None,
) -> dict[GroupKey, Histogram]:
    """One Histogram per group of the survey's responses matching every filter.

    ``start`` is inclusive and ``end`` exclusive; a date means midnight UTC. Without grouping
    the answer is ``{(): histogram}`` even when nothing matches. ``use_rollups`` None picks the
    cheaper source; True insists on the rollups (Invalid when they cannot answer), False reads
    the responses.
    """
    filters = ResponseFilters(
        survey_id=survey_id,
        start=start,
        end=end,
        channel=channel,
        touchpoint=touchpoint,
        language=language,
        source=source,
        properties=dict(properties or {}),
        contact_attributes=dict(contact_attributes or {}),
    )
    return histograms_of(
        session, organisation_id, filters, group_by=group_by, period=period, use_rollups=use_rollups
    )


def histograms_of(
    session: Session,
    organisation_id: int,
    filters: ResponseFilters,
    *,
    group_by: Sequence[str] = (),
    period: Period | None = None,
    use_rollups: bool | None = None,
) -> dict[GroupKey, Histogram]:
    """``histograms`` for the responses of ``filters``, whose ``survey_id`` is required."""
    survey_id = filters.survey_id
    if survey_id is None:
        raise ValueError("histograms are counted for one survey: give filters.survey_id")
    get_survey(session, organisation_id, survey_id)
    if period is not None and period not in PERIODS:
        raise Invalid("period", f"must be one of {', '.join(PERIODS)}")
    dimensions = [parse_dimension(text) for text in group_by]
    for name, wanted in (("channel", filters.channel), ("touchpoint", filters.touchpoint)):
        if wanted is not None and not wanted.strip():
            raise Invalid(name, "must not be blank")
    possible = rollups_can_answer(filters, group_by)
    if use_rollups and not possible:
        raise Invalid(
            "use_rollups",
            "the daily rollups keep whole UTC days, channel and touchpoint only",
        )
    if use_rollups is None:
        use_rollups = possible
    dialect = session.get_bind().dialect.name
    if use_rollups:
        query = _rollup_query(organisation_id, filters, dimensions, period, dialect)
    else:
        query = _response_query(organisation_id, filters, dimensions, period, dialect)

    width = len(dimensions) + (1 if period else 0)
    counts: dict[GroupKey, dict[float, int]] = {}
    for row in session.execute(query):
        key: GroupKey = tuple(row[:width])
        bucket = counts.setdefault(key, {})
        value = float(row[width])
        bucket[value] = bucket.get(value, 0) + int(row[width + 1])
    if width == 0 and not counts:
        return {(): Histogram()}
    return {key: Histogram(bucket) for key, bucket in counts.items()}


def _grouped(labels: list[ColumnElement[Any]], inner: Select[Any], *, weight: bool) -> Select[Any]:
    """Group the inner query's labelled columns rather than their expressions: PostgreSQL
    does not see that two copies of an expression with bound parameters are the same."""
    sub = inner.subquery()
    groups = [sub.c[f"g{i}"] for i in range(len(labels))]
    counted = func.sum(sub.c.weight) if weight else func.count()
    return select(*groups, sub.c.score, counted).group_by(*groups, sub.c.score)


def _response_query(
    organisation_id: int,
    filters: ResponseFilters,
    dimensions: list[Dimension],
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    conditions, needs_contacts = filter_conditions(organisation_id, filters)
    labels: list[ColumnElement[Any]] = []
    if period:
        labels.append(period_label(Response.submitted_at, period, dialect, is_date=False))
    for dimension in dimensions:
        if dimension.kind == "column":
            labels.append(getattr(Response, dimension.key))
        elif dimension.kind == "property":
            labels.append(json_text(Response.properties, dimension.key))
        else:
            labels.append(json_text(Contact.attributes, dimension.key))
            needs_contacts = True
    inner = select(
        *(label.label(f"g{i}") for i, label in enumerate(labels)), Response.score.label("score")
    ).select_from(Response)
    if needs_contacts:
        inner = join_contacts(inner, organisation_id)
    return _grouped(labels, inner.where(*conditions), weight=False)


def _rollup_query(
    organisation_id: int,
    filters: ResponseFilters,
    dimensions: list[Dimension],
    period: Period | None,
    dialect: str,
) -> Select[Any]:
    labels: list[ColumnElement[Any]] = []
    if period:
        labels.append(period_label(DailyRollup.day, period, dialect, is_date=True))
    for dimension in dimensions:
        # '' is how the rollups spell "none"; the responses say NULL, and so must the result.
        labels.append(func.nullif(getattr(DailyRollup, dimension.key), ""))
    conditions: list[Any] = [
        # "+ 0" keeps the organisation scope while stopping SQLite from choosing the
        # organisation index: the primary key (survey, day, ...) is one covering range scan.
        DailyRollup.organisation_id + 0 == organisation_id,
        DailyRollup.survey_id == filters.survey_id,
    ]
    if filters.start is not None:
        conditions.append(DailyRollup.day >= values.instant("start", filters.start).date())
    if filters.end is not None:
        conditions.append(DailyRollup.day < values.instant("end", filters.end).date())
    # Through the filter's matched values, so "email" also counts a stored "Email" here.
    if filters.channel is not None:
        conditions.append(matches(DailyRollup.channel, filters, "channel", filters.channel))
    if filters.touchpoint is not None:
        conditions.append(
            matches(DailyRollup.touchpoint, filters, "touchpoint", filters.touchpoint)
        )
    inner = select(
        *(label.label(f"g{i}") for i, label in enumerate(labels)),
        DailyRollup.score.label("score"),
        DailyRollup.count.label("weight"),
    ).where(*conditions)
    return _grouped(labels, inner, weight=True)


def _sort_key(key: GroupKey) -> tuple[tuple[bool, str], ...]:
    return tuple((part is None, part or "") for part in key)


def score_rows(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    filters: ResponseFilters | None = None,
    spec: MetricSpec | None = None,
    level: float = DEFAULT_LEVEL,
    min_n: int = DEFAULT_MIN_N,
    group_by: Sequence[str] = (),
    period: Period | None = None,
    use_rollups: bool | None = None,
) -> list[dict[str, Any]]:
    """Scored rows in the CLI's JSON shape: the overall row (group ``{}``) first, then one row
    per group in key order (blank values last), of the survey's responses that ``filters``
    (none by default; its ``survey_id`` is replaced by ``survey_id``) keep.

    ``spec`` defaults to the survey's own metric, scale and thresholds at ``level``/``min_n``.
    """
    survey = get_survey(session, organisation_id, survey_id)
    if spec is None:
        spec = survey.metric_spec(level=level, min_n=min_n)
    groups = histograms_of(
        session,
        organisation_id,
        replace(filters or ResponseFilters(), survey_id=survey_id),
        group_by=group_by,
        period=period,
        use_rollups=use_rollups,
    )
    columns = group_columns(group_by, period)
    total = Histogram()
    for histogram in groups.values():
        total = total + histogram
    rows: list[dict[str, Any]] = [{"group": {}, **score(total, spec).to_dict()}]
    if columns:
        for key in sorted(groups, key=_sort_key):
            group = dict(zip(columns, key, strict=True))
            rows.append({"group": group, **score(groups[key], spec).to_dict()})
    return rows
