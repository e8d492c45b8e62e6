"""Which responses a question is about: the one definition of a filter, and what it means in SQL.

``ResponseFilters`` is what the API's query parameters (``web/filters.py``), the dashboard's
URL (``report/filters_url.py``), exports, drill-downs, goals and scores all produce and
pass down; ``filter_conditions`` turns it into WHERE conditions on responses.

Segments are named by *dimensions*: a column (``channel``, ``touchpoint``, ``language``,
``source``), ``property:<name>`` (a response property) or ``contact:<name>`` (an attribute
of the response's contact). A breakdown groups by a dimension, a goal's segment and a filter
fix one to a value.

A segment filter matches its value in any case (``team=billing`` matches a stored "Billing"),
by one rule at every door: ``segment_values.resolve`` looks up the stored values whose
Unicode case fold equals the wanted one and records them in ``ResponseFilters.matched``;
``filter_conditions`` then compares with those exact values as bound parameters, so the
databases' own case rules (SQLite's ``lower`` folds ASCII only) never decide. Filters that
were not resolved match exactly, as before.

A theme filter (``theme``, a theme's key) keeps the answers whose analysed comment mentions
that theme of the organisation's taxonomy: a probe of the mentions' primary key (response,
theme) per answer read, so a drill-down page of 50 costs a few hundred probes at most for a
theme that one comment in ten mentions. The daily rollups know nothing of themes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, false, select
from sqlalchemy.orm import InstrumentedAttribute

from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact, Response, ResponseTheme, TextTheme
from cxpulse.store.sql import json_text

COLUMN_DIMENSIONS = ("channel", "touchpoint", "language", "source")
PROPERTY_PREFIX = "property:"
CONTACT_PREFIX = "contact:"


@dataclass(frozen=True)
class ResponseFilters:
    """Which responses to read; every given field must match. ``end`` is exclusive; a date
    means midnight UTC."""

    survey_id: int | None = None
    contact_id: int | None = None
    start: date | datetime | None = None
    end: date | datetime | None = None
    channel: str | None = None
    touchpoint: str | None = None
    language: str | None = None
    source: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    has_comment: bool | None = None
    search: str | None = None
    """Words the comment contains, in any case (wildcards are matched literally)."""
    theme: str | None = None
    """The key of a theme (``delivery`` ...) the answer's analysed comment mentions."""
    properties: Mapping[str, str] = field(default_factory=dict)
    contact_attributes: Mapping[str, str] = field(default_factory=dict)
    matched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per dimension (``channel``, ``property:team`` ...): the stored values its filter stands
    for, found by ``segment_values.resolve`` (none when no stored value matches). A filtered
    dimension missing here matches its value exactly."""

    def segments(self) -> list[tuple[str, str]]:
        """The segment filters as (dimension, wanted value), columns first."""
        found = [(name, getattr(self, name)) for name in COLUMN_DIMENSIONS]
        pairs = [(name, value) for name, value in found if value is not None]
        pairs += [(PROPERTY_PREFIX + k, v) for k, v in self.properties.items()]
        pairs += [(CONTACT_PREFIX + k, v) for k, v in self.contact_attributes.items()]
        return pairs

    def unmatched(self) -> list[tuple[str, str]]:
        """The segment filters that resolution found no stored value for."""
        return [(d, v) for d, v in self.segments() if self.matched.get(d) == ()]

    def without(self, dimension: str) -> ResponseFilters:
        """These filters with no filter on ``dimension``."""
        found = parse_dimension(dimension)
        matched = {k: v for k, v in self.matched.items() if k != dimension}
        if found.kind == "property":
            rest = {k: v for k, v in self.properties.items() if k != found.key}
            return replace(self, properties=rest, matched=matched)
        if found.kind == "contact":
            rest = {k: v for k, v in self.contact_attributes.items() if k != found.key}
            return replace(self, contact_attributes=rest, matched=matched)
        cleared: dict[str, Any] = {found.key: None}
        return replace(self, matched=matched, **cleared)

    @classmethod
    def of_segment(cls, segment: Mapping[str, str], **fields: Any) -> ResponseFilters:
        """The filters ``fields`` with each dimension of ``segment`` (such as
        ``{"channel": "email", "property:agent": "Ann"}``) fixed to its value."""
        filters = cls(**fields)
        for name, value in segment.items():
            filters = filters.narrowed(name, value)
        return filters

    def narrowed(self, dimension: str, value: str) -> ResponseFilters:
        """These filters with ``dimension`` (``channel``, ``property:agent`` ...) fixed to
        ``value``; Invalid when it names no dimension."""
        found = parse_dimension(dimension)
        if dimension in self.matched:
            # The new value is exact (a breakdown's segment is a stored value).
            rest = {k: v for k, v in self.matched.items() if k != dimension}
            return replace(self, matched=rest).narrowed(dimension, value)
        if found.kind == "property":
            return replace(self, properties={**self.properties, found.key: value})
        if found.kind == "contact":
            return replace(self, contact_attributes={**self.contact_attributes, found.key: value})
        if found.key == "channel":
            return replace(self, channel=value)
        if found.key == "touchpoint":
            return replace(self, touchpoint=value)
        if found.key == "language":
            return replace(self, language=value)
        return replace(self, source=value)


@dataclass(frozen=True)
class Dimension:
    name: str
    """As given, such as ``channel`` or ``property:agent``; also its name in result rows."""
    kind: Literal["column", "property", "contact"]
    key: str


def parse_dimension(text: str) -> Dimension:
    """The dimension named ``text``; Invalid (on ``group_by``) when it names none."""
    if text in COLUMN_DIMENSIONS:
        return Dimension(text, "column", text)
    kind: Literal["property", "contact"]
    if text.startswith(PROPERTY_PREFIX):
        kind, key = "property", text.removeprefix(PROPERTY_PREFIX)
    elif text.startswith(CONTACT_PREFIX):
        kind, key = "contact", text.removeprefix(CONTACT_PREFIX)
    else:
        raise Invalid(
            "group_by",
            f"cannot group by {text!r}; use {', '.join(COLUMN_DIMENSIONS)}, "
            "property:<name> or contact:<name>",
        )
    if not key or len(key) > values.MAX_KEY_LENGTH:
        raise Invalid("group_by", f"{text!r} needs a name after the colon")
    return Dimension(text, kind, key)


def filter_conditions(organisation_id: int, filters: ResponseFilters) -> tuple[list[Any], bool]:
    """WHERE conditions on responses for ``filters``, and whether they need contacts joined."""
    conditions: list[Any] = [Response.organisation_id == organisation_id]
    if filters.survey_id is not None:
        conditions.append(Response.survey_id == filters.survey_id)
    if filters.contact_id is not None:
        conditions.append(Response.contact_id == filters.contact_id)
    if filters.start is not None:
        conditions.append(Response.submitted_at >= values.instant("start", filters.start))
    if filters.end is not None:
        conditions.append(Response.submitted_at < values.instant("end", filters.end))
    for name in COLUMN_DIMENSIONS:
        wanted = getattr(filters, name)
        if wanted is not None:
            conditions.append(matches(getattr(Response, name), filters, name, wanted))
    if filters.min_score is not None:
        conditions.append(Response.score >= filters.min_score)
    if filters.max_score is not None:
        conditions.append(Response.score <= filters.max_score)
    if filters.has_comment is not None:
        has = Response.comment.is_not(None)
        conditions.append(has if filters.has_comment else ~has)
    if filters.search:
        conditions.append(Response.comment.icontains(filters.search, autoescape=True))
    if filters.theme is not None:
        conditions.append(mentions_theme(organisation_id, filters.theme))
    for name, wanted in filters.properties.items():
        column = json_text(Response.properties, name)
        conditions.append(matches(column, filters, PROPERTY_PREFIX + name, wanted))
    for name, wanted in filters.contact_attributes.items():
        column = json_text(Contact.attributes, name)
        conditions.append(matches(column, filters, CONTACT_PREFIX + name, wanted))
    return conditions, bool(filters.contact_attributes)


def matches(
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    filters: ResponseFilters,
    dimension: str,
    wanted: str,
) -> ColumnElement[bool]:
    """``column`` holds one of the values the filter on ``dimension`` stands for."""
    stored = filters.matched.get(dimension)
    if stored is None:
        return column == wanted
    if not stored:
        return false()
    if len(stored) == 1:
        return column == stored[0]
    return column.in_(stored)


def mentions_theme(organisation_id: int, key: str) -> ColumnElement[bool]:
    """The response's comment mentions the organisation's theme ``key`` (never another
    organisation's theme of the same key: the theme is looked up in the organisation)."""
    theme_id = (
        select(TextTheme.id)
        .where(TextTheme.organisation_id == organisation_id, TextTheme.key == key)
        .scalar_subquery()
    )
    return exists().where(
        ResponseTheme.response_id == Response.id, ResponseTheme.theme_id == theme_id
    )


def join_contacts(query: Select[Any], organisation_id: int) -> Select[Any]:
    """Responses with their contact's row (or NULLs), never another organisation's contact."""
    return query.outerjoin(
        Contact,
        and_(Contact.id == Response.contact_id, Contact.organisation_id == organisation_id),
    )
