"""Counts of answers per scale value: the one input of every metric.

Histograms add, so two periods, two shards or a rollup plus new answers merge by ``+``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Histogram:
    """How many answers were given at each scale value (answered responses only)."""

    counts: Mapping[float, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cleaned: dict[float, int] = {}
        for value, count in self.counts.items():
            if count < 0:
                raise ValueError(f"negative count {count} at value {value}")
            if count:
                key = int(value) if float(value).is_integer() else float(value)
                cleaned[key] = cleaned.get(key, 0) + int(count)
        object.__setattr__(self, "counts", MappingProxyType(dict(sorted(cleaned.items()))))

    @classmethod
    def trusted(cls, counts: dict[float, int]) -> Histogram:
        """Wrap counts that are already clean: whole-number keys in ascending order, positive
        counts. Engines that count inside a database use it to skip re-checking thousands of
        groups; anything else should call the normal constructor."""
        histogram = object.__new__(cls)
        object.__setattr__(histogram, "counts", MappingProxyType(counts))
        return histogram

    @classmethod
    def from_values(cls, values: Iterable[float]) -> Histogram:
        counts: dict[float, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        return cls(counts)

    def __add__(self, other: Histogram) -> Histogram:
        merged = dict(self.counts)
        for value, count in other.counts.items():
            merged[value] = merged.get(value, 0) + count
        return Histogram(merged)

    def __iter__(self) -> Iterator[tuple[float, int]]:
        return iter(self.counts.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Histogram) and dict(self.counts) == dict(other.counts)

    def __hash__(self) -> int:
        return hash(tuple(self.counts.items()))

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def count_at_least(self, threshold: float) -> int:
        return sum(c for v, c in self.counts.items() if v >= threshold)

    def count_at_most(self, threshold: float) -> int:
        return sum(c for v, c in self.counts.items() if v <= threshold)

    def mean(self) -> float:
        n = self.n
        if n == 0:
            return math.nan
        return math.fsum(v * c for v, c in self.counts.items()) / n

    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator)."""
        n = self.n
        if n < 2:
            return math.nan
        mean = self.mean()
        return math.fsum(c * (v - mean) ** 2 for v, c in self.counts.items()) / (n - 1)


def merge(histograms: Iterable[Histogram]) -> Histogram:
    """Sum of many histograms, accumulated once rather than pairwise."""
    counts: dict[float, int] = {}
    for histogram in histograms:
        for value, count in histogram.counts.items():
            counts[value] = counts.get(value, 0) + count
    return Histogram(counts)
