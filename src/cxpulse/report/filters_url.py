"""The filters of a dashboard view, read from and written back to a URL query string.

A view is bookmarkable and shareable because everything that shapes it lives in the query:

| parameter | meaning |
|---|---|
| ``from``, ``to`` | first and last day shown (``YYYY-MM-DD``, UTC, both inclusive) |
| ``months`` | instead of dates: the last N months up to the latest response (default 12) |
| ``grain`` | ``day``, ``week`` or ``month``: the points of the trend |
| ``channel``, ``touchpoint``, ``language``, ``source`` | only these responses |
| ``property.<name>`` | only responses whose property ``<name>`` has this value |
| ``contact.<attr>`` | only responses whose contact's attribute ``<attr>`` has this value |
| ``by`` | breakdown: a column (``channel`` ...), ``property:<name>`` or ``contact:<attr>`` |
| ``pick`` | a filter picked in the form's list: a pair above, URL-encoded |

(``pick=property.team%3DBilling`` is ``property.team=Billing``; the page redirects to that.)

Segment values match in any case (``team=billing`` finds "Billing"): the store resolves them
(``store.segment_values.resolve``).

Drill-down pages add ``min_score``, ``max_score``, ``has_comment``, ``q`` (words searched in
comments), ``theme`` (the key of a theme the comment mentions) and ``after`` (the page token
of keyset pagination).

What they select is the store's one filter type, ``store.filters.ResponseFilters``: a view
keeps its segment filters as one (``ViewFilters.where``), a drill-down is one plus its page
token (``DrillFilters``), and ``ViewFilters.responses`` gives the filters of the responses
behind a view and a drill-down of it.

Parsing never raises on user input: it collects one message per bad field, so that a page can
show the form again with each message beside its field.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal, get_args
from urllib.parse import parse_qsl, urlencode

from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import SOURCES

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = get_args(Grain)
DEFAULT_MONTHS = 12
MAX_MONTHS = 120
MAX_DAYS_FOR_DAY_GRAIN = 400
"""A trend by day over more days than this is unreadable and slow to draw."""
MAX_YEARS = 10
"""Longest period a view may cover: more points would make neither a readable trend nor a
fast page."""
FIRST_DAY = values.FIRST_DAY
LAST_DAY = values.LAST_DAY
ANSWER_ALLOWANCE = timedelta(days=values.FUTURE_ALLOWANCE.days)
MAX_TEXT = 200
MAX_SEGMENT_FILTERS = 20
PROPERTY_PREFIX = "property."
CONTACT_PREFIX = "contact."
BREAKDOWN_COLUMNS = ("channel", "touchpoint", "language", "source")
DEFAULT_BREAKDOWN = "channel"
# The periods a headline compares (report/comparison_windows.py says what each one is).
Comparison = Literal["week", "30d", "mtd", "quarter", "year"]
COMPARISONS: tuple[Comparison, ...] = get_args(Comparison)
DEFAULT_COMPARISON: Comparison = "30d"


@dataclass(frozen=True)
class Window:
    """Whole UTC days from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Window:
        """The period of equal length just before this one."""
        return Window(self.start - timedelta(days=self.days), self.start)

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.last_day.isoformat()}"


@dataclass(frozen=True)
class ViewFilters:
    start: date | None = None
    """First day shown, inclusive."""
    to: date | None = None
    """Last day shown, inclusive (as people say "to 31 March")."""
    months: int | None = None
    grain: Grain = "month"
    where: ResponseFilters = field(default_factory=ResponseFilters)
    """Which responses the view counts: its segment filters (channel, touchpoint, language,
    source, properties, contact attributes); the period is the window's."""
    by: str = DEFAULT_BREAKDOWN
    compare: Comparison = DEFAULT_COMPARISON
    """Which periods the headline compares (the trend and breakdown follow the window)."""

    # The segment filters by name, as the dashboard's templates read them.
    @property
    def channel(self) -> str | None:
        return self.where.channel

    @property
    def touchpoint(self) -> str | None:
        return self.where.touchpoint

    @property
    def language(self) -> str | None:
        return self.where.language

    @property
    def source(self) -> str | None:
        return self.where.source

    @property
    def properties(self) -> Mapping[str, str]:
        return self.where.properties

    @property
    def contact_attributes(self) -> Mapping[str, str]:
        return self.where.contact_attributes

    def window(self, latest_day: date | None, today: date) -> Window:
        """The days the view covers. Without dates: the last ``months`` months (12 by
        default) up to the latest response, so that a survey whose answers stopped a while
        ago still shows them; ``today`` stands in when there are none.

        The latest response counts between 1900 and tomorrow only (answers may lie a day
        ahead): one stored before the rule on answer times with a date years ahead, even
        9999-12-31, neither moves the view to an empty future nor takes it past the
        calendar's end, and one in year 1 does not take it before the calendar's start."""
        latest_allowed = today + ANSWER_ALLOWANCE
        anchor = today if latest_day is None else max(FIRST_DAY, min(latest_day, latest_allowed))
        if self.start is not None or self.to is not None:
            end = (self.to or anchor) + timedelta(days=1)
            start = self.start or add_months(end, -(self.months or DEFAULT_MONTHS))
            return Window(start, max(end, start + timedelta(days=1)))
        end = anchor + timedelta(days=1)
        return Window(add_months(end, -(self.months or DEFAULT_MONTHS)), end)

    def query_pairs(self) -> list[tuple[str, str]]:
        """This view as query parameters, leaving out defaults: the shortest shareable URL."""
        pairs: list[tuple[str, str]] = []
        if self.start is not None:
            pairs.append(("from", self.start.isoformat()))
        if self.to is not None:
            pairs.append(("to", self.to.isoformat()))
        if self.months is not None:
            pairs.append(("months", str(self.months)))
        if self.grain != "month":
            pairs.append(("grain", self.grain))
        if self.channel is not None:
            pairs.append(("channel", self.channel))
        for name in ("touchpoint", "language", "source"):
            value = getattr(self, name)
            if value is not None:
                pairs.append((name, value))
        pairs += [(PROPERTY_PREFIX + k, v) for k, v in sorted(self.properties.items())]
        pairs += [(CONTACT_PREFIX + k, v) for k, v in sorted(self.contact_attributes.items())]
        if self.by != DEFAULT_BREAKDOWN:
            pairs.append(("by", self.by))
        if self.compare != DEFAULT_COMPARISON:
            pairs.append(("compare", self.compare))
        return pairs

    def query(self, **extra: str | float | int | bool | None) -> str:
        """The query string of this view plus ``extra`` (None values left out)."""
        pairs = self.query_pairs() + [
            (key, _text(value)) for key, value in extra.items() if value is not None
        ]
        return urlencode(pairs)

    def drill_query(self, drill: DrillFilters) -> str:
        """The query string of the responses behind a number of this view."""
        return urlencode(self.query_pairs() + drill.query_pairs())

    def responses(
        self, survey_id: int, window: Window, drill: DrillFilters | None = None
    ) -> ResponseFilters:
        """The filters of the responses behind this view over ``window``, and behind a
        number of it when ``drill`` says which (scores, comment, search)."""
        drill = DrillFilters() if drill is None else drill
        return replace(
            self.where,
            survey_id=survey_id,
            start=window.start,
            end=window.end,
            min_score=drill.min_score,
            max_score=drill.max_score,
            has_comment=drill.has_comment,
            search=drill.search,
            theme=drill.theme,
        )

    def between(self, first: date, last: date) -> ViewFilters:
        """The same view over the days ``first`` to ``last`` (a point of the trend)."""
        return replace(self, start=first, to=last, months=None)

    def without(self, dimension: str) -> ViewFilters:
        """The same view without its filter on ``dimension`` (``channel``, ``property:team``)."""
        return replace(self, where=self.where.without(dimension))

    def summary(self) -> list[str]:
        """The view in a few words, as the folded filter panel shows it: the period, the
        trend's grain, every segment filter and a breakdown other than the default."""
        if self.start is not None or self.to is not None:
            first = self.start.isoformat() if self.start else "…"
            last = self.to.isoformat() if self.to else "the latest answer"
            period = f"{first} to {last}"
        else:
            months = self.months or DEFAULT_MONTHS
            period = "last month" if months == 1 else f"last {months} months"
        parts = [period, f"by {self.grain}"]
        parts += [f"{name} = {value}" for name, value in self.where.segments()]
        parts = parts[:2] + [_readable(part) for part in parts[2:]]
        if self.by != DEFAULT_BREAKDOWN:
            parts.append(f"breakdown by {_readable(self.by)}")
        return parts

    def narrowed(self, dimension: str, value: str) -> ViewFilters:
        """The same view restricted to one segment of a breakdown dimension."""
        try:
            return replace(self, where=self.where.narrowed(dimension, value))
        except Invalid:
            raise ValueError(f"no filter narrows {dimension!r}") from None


@dataclass(frozen=True)
class DrillFilters(ResponseFilters):
    """What a drill-down adds to its view: which scores, comments, words and theme
    (``min_score``, ``max_score``, ``has_comment``, ``search``, ``theme``; the view gives the
    other filters), and the page token ``after``."""

    after: str | None = None

    def query_pairs(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.min_score is not None:
            pairs.append(("min_score", _text(self.min_score)))
        if self.max_score is not None:
            pairs.append(("max_score", _text(self.max_score)))
        if self.has_comment is not None:
            pairs.append(("has_comment", _text(self.has_comment)))
        if self.search:
            pairs.append(("q", self.search))
        if self.theme:
            pairs.append(("theme", self.theme))
        return pairs


@dataclass(frozen=True)
class Parsed:
    view: ViewFilters
    drill: DrillFilters
    errors: dict[str, str]
    """Field name as in the URL -> what is wrong with it."""


def _readable(text: str) -> str:
    """A dimension as people read it: ``team`` for ``property:team``, ``contact plan`` for
    ``contact:plan``."""
    if text.startswith("property:"):
        return text.removeprefix("property:")
    if text.startswith("contact:"):
        return "contact " + text.removeprefix("contact:")
    return text


def _text(value: str | float | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later (or earlier), clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ValueError("out of the calendar's range")
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _clean(name: str, raw: str, errors: dict[str, str], *, exact: bool = False) -> str | None:
    """A filter value, trimmed; ``exact`` keeps the spaces around a value that is not blank:
    property and attribute values are stored exactly as sent, so a filter matches them as is."""
    problem = values.text_problem(raw)
    if problem is not None:
        errors[name] = problem
        return None
    value = raw.strip()
    if not value:
        return None
    if exact:
        value = raw
    if len(value) > MAX_TEXT:
        errors[name] = f"is longer than {MAX_TEXT} characters"
        return None
    return value


def form_day(name: str, raw: str, errors: dict[str, str]) -> date | None:
    """The day a ``from`` or ``to`` field names, None when it is blank; a field that names no
    day a question may ask about gets its message in ``errors`` and gives None. Pages with a
    period of their own (discovered themes) read their fields with it too."""
    value = raw.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        errors[name] = "is not a date: write it as YYYY-MM-DD, such as 2024-03-31"
        return None
    problem = values.day_problem(day)
    if problem is not None:
        errors[name] = problem
        return None
    return day


def _source(raw: str, errors: dict[str, str]) -> str | None:
    value = raw.strip()
    if value and value not in SOURCES:
        errors["source"] = f"must be one of {', '.join(SOURCES)}"
        return None
    return value or None


def _theme(raw: str, errors: dict[str, str]) -> str | None:
    """A theme's key: lower-case letters, digits and inner hyphens, as the taxonomy keeps
    them (a key no theme has matches no answer, like any other filter)."""
    value = raw.strip().lower()
    if not value:
        return None
    try:
        return values.slug("theme", value)
    except Invalid:
        errors["theme"] = "is not a theme's key: lower-case letters, digits and hyphens"
        return None


def _number(name: str, raw: str, errors: dict[str, str]) -> float | None:
    value = raw.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        errors[name] = "is not a number"
        return None
    if not math.isfinite(number):
        errors[name] = "must be a finite number"
        return None
    return number


def check_dimension(text: str) -> str | None:
    """Why ``text`` is no breakdown dimension, or None when it is one."""
    if text in BREAKDOWN_COLUMNS:
        return None
    for prefix in ("property:", "contact:"):
        if text.startswith(prefix):
            name = text.removeprefix(prefix)
            if not name:
                return f"needs a name after {prefix!r}"
            problem = values.name_problem(name)
            return None if problem is None else f"the name {problem}"
    problem = values.text_problem(text)
    if problem is not None:
        return problem
    return (
        f"use {', '.join(BREAKDOWN_COLUMNS)}, property:<name> (such as property:agent) "
        "or contact:<attribute>"
    )


PICKABLE = ("channel", "touchpoint", "language", "source")


def _picked(params: Iterable[tuple[str, str]], errors: dict[str, str]) -> list[tuple[str, str]]:
    """The parameters with each ``pick`` (a filter chosen in the form's list, whose option
    value is the filter's own pair, URL-encoded) replaced by its pair, put last so that what
    was picked wins over the field it repeats."""
    plain: list[tuple[str, str]] = []
    picked: list[tuple[str, str]] = []
    for key, raw in params:
        if key != "pick":
            plain.append((key, raw))
            continue
        if not raw.strip():
            continue
        pairs = parse_qsl(raw, keep_blank_values=True)
        if len(pairs) != 1 or not (
            pairs[0][0] in PICKABLE or pairs[0][0].startswith((PROPERTY_PREFIX, CONTACT_PREFIX))
        ):
            errors["pick"] = "is not one of the filters offered; choose one from the list"
            continue
        picked.append(pairs[0])
    return plain + picked


def parse(params: Iterable[tuple[str, str]]) -> Parsed:
    """Read a view and a drill-down from query parameters (repeated names: the last wins)."""
    errors: dict[str, str] = {}
    given: dict[str, str] = {}
    properties: dict[str, str] = {}
    contact: dict[str, str] = {}
    for key, raw in _picked(params, errors):
        for prefix, target in ((PROPERTY_PREFIX, properties), (CONTACT_PREFIX, contact)):
            if key.startswith(prefix):
                name = key.removeprefix(prefix)
                problem = values.name_problem(name)
                if problem is not None:
                    # The rule of names every door applies (store._values.name_problem).
                    errors[key] = f"the name {problem}"
                    break
                value = _clean(key, raw, errors, exact=True)
                if value is not None:
                    target[name] = value
                else:
                    target.pop(name, None)
                break
        else:
            given[key] = raw
    # The form adds a filter as segment=property:agent & segment_value=Ann, since a plain
    # HTML form cannot name a field after what the user types.
    segment = given.get("segment", "").strip()
    segment_value = _clean("segment_value", given.get("segment_value", ""), errors, exact=True)
    if segment and segment_value is not None:
        kind, _, name = segment.partition(":")
        problem = values.name_problem(name) if name else "is missing"
        if kind not in ("property", "contact"):
            errors["segment"] = "write property:<name> or contact:<attribute>"
        elif problem is not None:
            errors["segment"] = f"the name {problem}"
        else:
            (properties if kind == "property" else contact)[name] = segment_value
    if len(properties) + len(contact) > MAX_SEGMENT_FILTERS:
        errors["property"] = f"at most {MAX_SEGMENT_FILTERS} segment filters"

    start = form_day("from", given.get("from", ""), errors)
    to = form_day("to", given.get("to", ""), errors)
    if start is not None and to is not None and to < start:
        errors["to"] = "must not be before the first day"
    elif start is not None and to is not None and to > add_months(start, 12 * MAX_YEARS):
        errors["from"] = f"a view covers at most {MAX_YEARS} years"
    months: int | None = None
    months_text = given.get("months", "").strip()
    if months_text:
        if months_text.isdigit() and 1 <= int(months_text) <= MAX_MONTHS:
            months = int(months_text)
        else:
            errors["months"] = f"must be a whole number of months from 1 to {MAX_MONTHS}"
    grain_text = given.get("grain", "").strip() or "month"
    grain: Grain = "month"
    if grain_text in GRAINS:
        grain = grain_text
    else:
        errors["grain"] = f"must be one of {', '.join(GRAINS)}"
    by = given.get("by", "").strip() or DEFAULT_BREAKDOWN
    problem = check_dimension(by)
    if problem is not None:
        errors["by"] = problem
        by = DEFAULT_BREAKDOWN
    where = ResponseFilters(
        channel=_clean("channel", given.get("channel", ""), errors),
        touchpoint=_clean("touchpoint", given.get("touchpoint", ""), errors),
        language=_clean("language", given.get("language", ""), errors),
        source=_source(given.get("source", ""), errors),
        properties=properties,
        contact_attributes=contact,
    )
    compare: Comparison = DEFAULT_COMPARISON
    compare_text = given.get("compare", "").strip().lower() or DEFAULT_COMPARISON
    for choice in COMPARISONS:
        if compare_text == choice:
            compare = choice
            break
    else:
        errors["compare"] = f"must be one of {', '.join(COMPARISONS)}"
    view = ViewFilters(
        start=start, to=to, months=months, grain=grain, where=where, by=by, compare=compare
    )

    min_score = _number("min_score", given.get("min_score", ""), errors)
    max_score = _number("max_score", given.get("max_score", ""), errors)
    if min_score is not None and max_score is not None and max_score < min_score:
        errors["max_score"] = "must not be below min_score"
    has_comment: bool | None = None
    comment_text = given.get("has_comment", "").strip().lower()
    if comment_text in ("true", "1", "yes"):
        has_comment = True
    elif comment_text in ("false", "0", "no"):
        has_comment = False
    elif comment_text:
        errors["has_comment"] = "must be true or false"
    drill = DrillFilters(
        min_score=min_score,
        max_score=max_score,
        has_comment=has_comment,
        search=_clean("q", given.get("q", ""), errors),
        theme=_theme(given.get("theme", ""), errors),
        after=_clean("after", given.get("after", ""), errors),
    )
    return Parsed(view, drill, errors)
