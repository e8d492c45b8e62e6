"""What the dashboard's filter pickers offer: the values each segment takes in a survey over a
view's period, with their counts, and which dimensions make a readable breakdown.

Counts are over the survey's answers of the period, the view's own segment filters aside (so
a picker still lists the other values of a filtered dimension).

Every answer is read up to ``EXACT_UP_TO`` answers in the period; above that, the counts are
estimated from a
  systematic sample: the period cut into ``SAMPLE_SLICES`` consecutive slices that hold
  equal numbers of answers (by the rollups), and the first ``SLICE_ANSWERS`` answers of each
(``store.segment_values.sample_rows``). A value's count is then its share of the sample times
the period's answers, rounded; values too rare to be sampled are not listed (a filter typed in
the URL still finds them: ``segment_values.resolve`` is exact). The cost is one range of the
rollups and at most ``SAMPLE_SLICES`` short index ranges of the answers, whatever the
survey's size. (Counting channel and touchpoint exactly from the rollups cost more than the
whole sample: a grouping that does not follow the rollups' key.)

A dimension makes a readable breakdown when it takes ``BREAKDOWN_MIN_VALUES`` to
``BREAKDOWN_MAX_VALUES`` values in the period: one value splits nothing and hundreds (order
ids) make a table nobody reads. The others stay reachable under "other dimensions".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.report.comment_rate import slice_bounds
from cxpulse.report.filters_url import BREAKDOWN_COLUMNS, Window
from cxpulse.store import rollups, segment_values
from cxpulse.store.filters import CONTACT_PREFIX, PROPERTY_PREFIX

EXACT_UP_TO = 2_000
"""Up to this many answers in a period, every one is read to count the values."""
SAMPLE_SLICES = 40
SLICE_ANSWERS = 50
"""Above it: the first this many answers of each of ``SAMPLE_SLICES`` slices."""
BREAKDOWN_MIN_VALUES = 2
BREAKDOWN_MAX_VALUES = 30
MAX_CHOICES = 50
"""A picker lists at most this many values, the most frequent first."""
MAX_DIMENSIONS = 60
"""At most this many property and attribute names are offered (the most used)."""

SampleCounts = dict[str, Counter[str]]


@dataclass(frozen=True)
class Choice:
    value: str
    count: int


@dataclass(frozen=True)
class DimensionChoices:
    dimension: str
    """As the store names it: ``channel``, ``property:team``, ``contact:plan``."""
    choices: list[Choice]
    """The most frequent values, at most ``MAX_CHOICES``; then by value."""
    distinct: int
    """Values seen (in the sample, when estimated)."""
    estimated: bool = False
    """Whether the counts are estimated from a sample (see the module's docstring)."""

    @property
    def label(self) -> str:
        if self.dimension.startswith(PROPERTY_PREFIX):
            return self.dimension.removeprefix(PROPERTY_PREFIX)
        if self.dimension.startswith(CONTACT_PREFIX):
            return "contact " + self.dimension.removeprefix(CONTACT_PREFIX)
        return self.dimension

    @property
    def param(self) -> str:
        """Its name in a dashboard URL (``property.team``)."""
        for prefix in (PROPERTY_PREFIX, CONTACT_PREFIX):
            if self.dimension.startswith(prefix):
                return prefix[:-1] + "." + self.dimension.removeprefix(prefix)
        return self.dimension

    @property
    def truncated(self) -> bool:
        return self.distinct > len(self.choices)

    @property
    def readable(self) -> bool:
        """Whether a breakdown by it is worth offering first."""
        return BREAKDOWN_MIN_VALUES <= self.distinct <= BREAKDOWN_MAX_VALUES

    def count_of(self, value: str) -> int | None:
        return next((c.count for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class FilterChoices:
    answers: int
    """Answers of the survey in the period."""
    sampled: int
    """Answers read to count the values other than channel and touchpoint."""
    dimensions: list[DimensionChoices] = field(default_factory=list)
    slices: int = 1
    """Stretches of the period the sample was read from."""

    @property
    def estimated(self) -> bool:
        """Whether the counts are estimates."""
        return self.sampled < self.answers

    def of(self, dimension: str) -> DimensionChoices | None:
        return next((d for d in self.dimensions if d.dimension == dimension), None)

    @property
    def segments(self) -> list[DimensionChoices]:
        """Properties and contact attributes: the filters added with "Add a filter"."""
        return [d for d in self.dimensions if d.dimension not in BREAKDOWN_COLUMNS]

    def breakdowns(self) -> tuple[list[str], list[str]]:
        """Dimensions to break down by: (readable ones, the others)."""
        readable = [d.dimension for d in self.dimensions if d.readable]
        others = [d.dimension for d in self.dimensions if d.distinct and not d.readable]
        return readable, others


def _ranked(dimension: str, counts: Counter[str], scale: float) -> DimensionChoices:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_CHOICES]
    choices = [Choice(value, max(1, round(count * scale))) for value, count in ranked]
    choices.sort(key=lambda c: c.value.casefold())
    return DimensionChoices(dimension, choices, len(counts), estimated=scale != 1.0)


def _count_sample(rows: list[segment_values.SegmentRow]) -> SampleCounts:
    counts: SampleCounts = {}
    for row in rows:
        for name, value in (
            ("channel", row.channel),
            ("touchpoint", row.touchpoint),
            ("language", row.language),
            ("source", row.source),
        ):
            if value is not None:
                counts.setdefault(name, Counter())[value] += 1
        for prefix, found in (
            (PROPERTY_PREFIX, row.properties),
            (CONTACT_PREFIX, row.contact_attributes),
        ):
            if not isinstance(found, dict):
                continue
            for key, value in found.items():
                if value is None or isinstance(value, dict | list):
                    continue
                text = value if isinstance(value, str) else _json_text(value)
                counts.setdefault(prefix + str(key), Counter())[text] += 1
    return counts


def _json_text(value: object) -> str:
    # As the databases' JSON text extraction spells scalars, so a picked value matches.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def filter_choices(
    session: Session, organisation_id: int, survey_id: int, window: Window
) -> FilterChoices:
    """The values of each segment of the survey over ``window``, with their counts."""
    per_day = rollups.day_counts(session, organisation_id, survey_id, window.start, window.end)
    answers = sum(per_day.values())
    if answers <= EXACT_UP_TO:
        start = datetime.combine(window.start, datetime.min.time(), UTC)
        slices = [(start, start + timedelta(days=window.days))]
        cap = EXACT_UP_TO + 1
    else:
        slices = slice_bounds(window, per_day, SAMPLE_SLICES)
        cap = SLICE_ANSWERS
    rows = [
        row
        for part in segment_values.sample_rows(session, organisation_id, survey_id, slices, cap)
        for row in part
    ]
    sampled = len(rows)
    scale = answers / sampled if sampled and answers > sampled else 1.0
    counted = _count_sample(rows)
    dimensions = [_ranked(name, counted.get(name, Counter()), scale) for name in BREAKDOWN_COLUMNS]
    named = sorted(
        (name for name in counted if name.startswith((PROPERTY_PREFIX, CONTACT_PREFIX))),
        key=lambda name: (-sum(counted[name].values()), name.casefold()),
    )[:MAX_DIMENSIONS]
    dimensions += [
        _ranked(name, counted[name], scale)
        for name in sorted(
            named, key=lambda name: (name.startswith(CONTACT_PREFIX), name.casefold())
        )
    ]
    return FilterChoices(
        answers=answers,
        sampled=min(sampled, answers),
        dimensions=dimensions,
        slices=len(slices),
    )
