"""The values the segments of a survey take, with their counts: what filter pickers offer, and
how a typed filter value finds the stored values it stands for.

- ``rollup_counts``: answers per channel or touchpoint over whole days, exact, from the daily
  rollups (one index range, whatever the number of answers).
- ``sample_rows``: the channel, touchpoint, language, source, properties and contact
  attributes of the first
  answers of each time slice of a period (``report/filter_choices.py`` chooses the slices
  and counts).
- ``resolve``: a filter's wanted values replaced by the stored values equal to them but for
  case (``store.filters`` says why); it reads every distinct value in the filter's own scope
  (organisation, survey, contact, period), so it is exact, and costs one grouped scan of that
  scope per resolved dimension that the rollups cannot answer.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store.filters import (
    ResponseFilters,
    filter_conditions,
    join_contacts,
    parse_dimension,
)
from cxpulse.store.models import Contact, DailyRollup, Response
from cxpulse.store.sql import json_text

ROLLUP_COLUMNS = ("channel", "touchpoint")


def fold(text: str) -> str:
    """The form two values share when they are equal but for case: Unicode's case fold
    (so "STRASSE" and "straße" agree) after composing accents (an "Ö" typed as O and a
    combining diaeresis equals the composed one)."""
    return unicodedata.normalize("NFC", text).casefold()


def rollup_counts(
    session: Session, organisation_id: int, survey_id: int, column: str, start: date, end: date
) -> dict[str | None, int]:
    """Answers per value of ``column`` (``channel`` or ``touchpoint``; None: no value) from
    ``start`` to ``end`` (exclusive)."""
    if column not in ROLLUP_COLUMNS:
        raise ValueError(f"the rollups keep channel and touchpoint, not {column!r}")
    key = getattr(DailyRollup, column)
    rows = session.execute(
        select(key, func.sum(DailyRollup.count))
        .where(
            DailyRollup.survey_id == survey_id,
            DailyRollup.organisation_id + 0 == organisation_id,
            DailyRollup.day >= start,
            DailyRollup.day < end,
        )
        .group_by(key)
    )
    counts: dict[str | None, int] = {}
    for value, count in rows:
        # '' is how the rollups spell "none".
        name = value or None
        counts[name] = counts.get(name, 0) + int(count)
    return {name: count for name, count in counts.items() if count > 0}


@dataclass(frozen=True)
class SegmentRow:
    """The segments of one answer, as a picker counts them."""

    channel: str | None
    touchpoint: str | None
    language: str | None
    source: str | None
    properties: Mapping[str, Any] | None
    contact_attributes: Mapping[str, Any] | None
    """As stored: a JSON object, or None (no contact)."""


def sample_rows(
    session: Session,
    organisation_id: int,
    survey_id: int,
    slices: Sequence[tuple[datetime, datetime]],
    cap: int,
) -> list[list[SegmentRow]]:
    """Per slice ``[since, until)``: the segments of at most ``cap`` of its answers, the
    first ones in the order of the survey's time index (one short index range per slice)."""
    statement = (
        join_contacts(
            select(
                Response.channel,
                Response.touchpoint,
                Response.language,
                Response.source,
                Response.properties,
                Contact.attributes,
            ).select_from(Response),
            organisation_id,
        )
        .where(
            Response.organisation_id == organisation_id,
            Response.survey_id == survey_id,
            Response.submitted_at >= bindparam("since"),
            Response.submitted_at < bindparam("until"),
        )
        .order_by(Response.submitted_at, Response.id)
        .limit(cap)
    )
    found = []
    for since, until in slices:
        rows = session.execute(statement, {"since": since, "until": until})
        found.append([SegmentRow(*row) for row in rows])
    return found


def _scope(filters: ResponseFilters) -> ResponseFilters:
    """The rows a filter applies to, before any segment: organisation, survey, contact and
    period."""
    return ResponseFilters(
        survey_id=filters.survey_id,
        contact_id=filters.contact_id,
        start=filters.start,
        end=filters.end,
    )


def _whole_days(scope: ResponseFilters) -> tuple[date, date] | None:
    """The scope's days, when the rollups can answer it (one survey, whole days, any
    contact); else None."""
    if scope.survey_id is None or scope.contact_id is not None:
        return None
    bounds = []
    for name, bound in (("start", scope.start), ("end", scope.end)):
        if bound is None:
            bounds.append(date.min if name == "start" else date.max)
            continue
        moment = values.instant(name, bound)
        if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
            return None
        bounds.append(moment.date())
    return bounds[0], bounds[1]


def distinct_values(
    session: Session, organisation_id: int, filters: ResponseFilters, dimension: str
) -> dict[str | None, int]:
    """Every value ``dimension`` takes among the responses of the filters' scope
    (organisation, survey, contact, period; segment filters aside), with its count."""
    found = parse_dimension(dimension)
    scope = _scope(filters)
    days = _whole_days(scope)
    if found.kind == "column" and found.key in ROLLUP_COLUMNS and days is not None:
        assert scope.survey_id is not None
        return rollup_counts(session, organisation_id, scope.survey_id, found.key, *days)
    conditions, _ = filter_conditions(organisation_id, scope)
    if found.kind == "column":
        key = getattr(Response, found.key)
    elif found.kind == "property":
        key = json_text(Response.properties, found.key)
    else:
        key = json_text(Contact.attributes, found.key)
    inner = select(key.label("value")).select_from(Response)
    if found.kind == "contact":
        inner = join_contacts(inner, organisation_id)
    sub = inner.where(*conditions).subquery()
    rows = session.execute(select(sub.c.value, func.count()).group_by(sub.c.value))
    return {value: int(count) for value, count in rows}


def resolve(session: Session, organisation_id: int, filters: ResponseFilters) -> ResponseFilters:
    """``filters`` with each segment filter matched in any case: ``matched`` holds the stored
    values equal to the wanted one but for case (none when nothing matches), and a value that
    stands for exactly one stored value is replaced by it (so the daily rollups, which compare
    exactly, answer it as well)."""
    matched: dict[str, tuple[str, ...]] = {}
    resolved = filters
    for dimension, wanted in filters.segments():
        target = fold(wanted)
        stored = sorted(
            value
            for value in distinct_values(session, organisation_id, filters, dimension)
            if value is not None and fold(value) == target
        )
        matched[dimension] = tuple(stored)
        if len(stored) == 1:
            resolved = resolved.narrowed(dimension, stored[0])
    return replace(resolved, matched={**filters.matched, **matched})


def resolve_for_survey(
    session: Session, organisation_id: int, survey_id: int, filters: ResponseFilters
) -> ResponseFilters:
    """``resolve`` over one survey's answers, for doors whose filters name no survey (the
    API, exports): the returned filters name none either, as they came."""
    found = resolve(session, organisation_id, replace(filters, survey_id=survey_id))
    return replace(found, survey_id=filters.survey_id)
