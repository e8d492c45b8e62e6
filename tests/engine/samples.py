"""The table every format test reads, and the pure-Python count results are checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from cxpulse.engine import FileHistograms
from cxpulse.engine.periods import Period, period_label
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Scale

from .writers import Row

FIVE = Scale(1, 5)
ELEVEN = Scale(0, 10)
ALL_FORMATS = [".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".jsonl", ".ndjson"]

HEADER = ["id", "score", "segment", "answered"]
ROWS: list[Row] = [
    (1, 5, "web", dt.datetime(2018, 3, 4, 10, 0)),
    (2, 4, "web", dt.datetime(2018, 3, 28, 23, 59)),
    (3, 1, "shop", dt.datetime(2018, 3, 1, 0, 0)),
    (4, None, "shop", dt.datetime(2018, 4, 2, 9, 30)),
    (5, 5, None, dt.datetime(2018, 4, 30, 12, 0)),
    (6, 3, "web", None),
    (7, 2, "shop", dt.datetime(2019, 1, 1, 8, 0)),
    (8, 5, "web", dt.datetime(2018, 4, 1, 0, 0)),
]


def as_counts(found: FileHistograms) -> dict[tuple[str | None, ...], dict[float, int]]:
    return {key: dict(histogram.counts) for key, histogram in found.groups.items()}


def classify(value: Any, scale: Scale) -> float | str | None:
    """What the engine must make of one raw answer: a score, "invalid" or None (blank)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except ValueError:
        return "invalid"
    return number if scale.contains(number) else "invalid"


def expected_groups(
    rows: Sequence[Row],
    scale: Scale,
    key: Callable[[Row], tuple[str | None, ...]],
    score_index: int = 1,
) -> tuple[dict[tuple[str | None, ...], Histogram], int, int]:
    """The histograms, blank and invalid counts a pure-Python count gives."""
    values: dict[tuple[str | None, ...], list[float]] = {}
    blank = invalid = 0
    for row in rows:
        group = values.setdefault(key(row), [])
        kind = classify(row[score_index], scale)
        if kind is None:
            blank += 1
        elif kind == "invalid":
            invalid += 1
        else:
            assert isinstance(kind, float)
            group.append(kind)
    return {k: Histogram.from_values(v) for k, v in values.items()}, blank, invalid


def month_of(when: Any) -> str | None:
    return None if when is None else period_label(Period.MONTH, when)
