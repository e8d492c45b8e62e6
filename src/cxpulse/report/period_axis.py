"""The time axis of the trend charts: which period labels get a tick, and how each reads.

Trend points are labelled as the store labels periods (``engine.periods``: ``2026-03-04``,
``2026-W10``, ``2026-03``, ``2026-Q1``, ``2026``). A year of weeks is 53 points and a year of
days 365: labelling each one draws a black smear. So the axis shows only ticks on calendar
boundaries (every Monday, the first of each month, each January ...), the densest choice
that leaves about ``PIXELS_PER_LABEL`` for each label, and writes them short: "Mar" with the
year under the first label and under each January, "W10", "4 Mar", "Q1". The browser redraws
the chart at its container's width, so Vega's ``labelOverlap`` drops what still collides on a
narrow screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from cxpulse.engine.periods import PeriodName

PIXELS_PER_LABEL = 45
"""Room for one label at 13 px ("4 Mar", "W10", "Mar") with a gap of about half its width."""

_PATTERNS: tuple[tuple[PeriodName, re.Pattern[str]], ...] = (
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("year", re.compile(r"^(\d{4})$")),
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PeriodKey:
    """A period label read back: its grain, the year and the number within the year."""

    grain: PeriodName
    year: int
    number: int
    """Day of year ordinal for days, ISO week, month, quarter; 0 for years."""
    day: date | None = None


def parse(label: str) -> PeriodKey | None:
    """The period a store label names, or None for a label of another form."""
    for grain, pattern in _PATTERNS:
        found = pattern.match(label)
        if found is None:
            continue
        parts = [int(part) for part in found.groups()]
        if grain == "day":
            try:
                day = date(parts[0], parts[1], parts[2])
            except ValueError:
                return None
            return PeriodKey(grain, day.year, day.month, day)
        if grain == "year":
            return PeriodKey(grain, parts[0], 0)
        return PeriodKey(grain, parts[0], parts[1])
    return None


def grain_of(labels: Sequence[str]) -> PeriodName | None:
    """The grain all labels share, or None (mixed or unknown labels)."""
    grains = {key.grain if key else None for key in map(parse, labels)}
    if len(grains) != 1:
        return None
    only = grains.pop()
    return only


# Calendar boundaries from the densest to the sparsest, per grain: the axis takes the first
# that leaves room for its labels.
_Rule = Callable[[PeriodKey], bool]
_DAY_RULES: tuple[_Rule, ...] = (
    lambda k: True,
    lambda k: k.day is not None and k.day.weekday() == 0,
    lambda k: k.day is not None and k.day.weekday() == 0 and k.day.isocalendar()[1] % 2 == 1,
    lambda k: k.day is not None and k.day.day == 1,
    lambda k: k.day is not None and k.day.day == 1 and k.day.month % 3 == 1,
    lambda k: k.day is not None and k.day.day == 1 and k.day.month == 1,
)
_WEEK_RULES: tuple[_Rule, ...] = (
    lambda k: True,
    lambda k: k.number % 2 == 1,
    lambda k: k.number % 4 == 1,
    lambda k: k.number in (1, 14, 27, 40),
    lambda k: k.number in (1, 27),
    lambda k: k.number == 1,
)
_MONTH_RULES: tuple[_Rule, ...] = (
    lambda k: True,
    lambda k: k.number % 2 == 1,
    lambda k: k.number % 3 == 1,
    lambda k: k.number in (1, 7),
    lambda k: k.number == 1,
)
_QUARTER_RULES: tuple[_Rule, ...] = (
    lambda k: True,
    lambda k: k.number in (1, 3),
    lambda k: k.number == 1,
)
_YEAR_RULES: tuple[_Rule, ...] = (
    lambda k: True,
    lambda k: k.year % 2 == 0,
    lambda k: k.year % 5 == 0,
    lambda k: k.year % 10 == 0,
)
RULES: dict[PeriodName, tuple[_Rule, ...]] = {
    "day": _DAY_RULES,
    "week": _WEEK_RULES,
    "month": _MONTH_RULES,
    "quarter": _QUARTER_RULES,
    "year": _YEAR_RULES,
}


def max_labels(plot_width: int) -> int:
    return max(2, plot_width // PIXELS_PER_LABEL)


def tick_values(labels: Sequence[str], plot_width: int) -> list[str]:
    """The labels that get a tick: the densest calendar boundaries that fit the width."""
    most = max_labels(plot_width)
    if len(labels) <= most:
        return list(labels)
    keys = [parse(label) for label in labels]
    grain = grain_of(labels)
    if grain is not None:
        for rule in RULES[grain]:
            chosen = [label for label, key in zip(labels, keys, strict=True) if key and rule(key)]
            if 2 <= len(chosen) <= most:
                return chosen
    # Unknown labels, or a span no boundary thins enough: every k-th label.
    step = -(-len(labels) // most)
    return list(labels[::step])


def tick_text(label: str, *, first: bool) -> list[str]:
    """How a tick reads, as lines: the year is added under the first tick and at a new year."""
    key = parse(label)
    if key is None:
        return [label]
    year = str(key.year)
    if key.grain == "year":
        return [year]
    if key.grain == "quarter":
        head = f"Q{key.number}"
        new_year = key.number == 1
    elif key.grain == "month":
        head = MONTHS[key.number - 1]
        new_year = key.number == 1
    elif key.grain == "week":
        head = f"W{key.number:02d}"
        new_year = key.number == 1
    else:
        assert key.day is not None
        head = f"{key.day.day} {MONTHS[key.day.month - 1]}"
        new_year = key.day.month == 1 and key.day.day <= 7
    return [head, year] if first or new_year else [head]


def label_expression(values: Sequence[str]) -> str:
    """A Vega expression giving each tick value its short text (lines as an array)."""
    expression = "datum.value"
    for index, value in reversed(list(enumerate(values))):
        lines = tick_text(value, first=index == 0)
        text = "[" + ", ".join(_quoted(line) for line in lines) + "]"
        expression = f"datum.value === {_quoted(value)} ? {text} : ({expression})"
    return expression


def _quoted(text: str) -> str:
    # Labels come from the store's period format (digits, "-", "W", "Q"), but quote safely.
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
