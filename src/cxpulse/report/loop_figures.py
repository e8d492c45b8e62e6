"""The follow-up figures of a survey and period, from the counts of ``store.case_counts``:
how fast unhappy customers are contacted and their cases closed, how many cases missed their
SLA, what share of the unhappy answers had their loop closed, and how the re-surveyed
customers answered.

One definition for the dashboard, the overview, the monthly report and the API:

- time to first contact and time to resolution: median and 90th percentile in hours of the
  contacted (closed: resolved or won't fix) cases opened in the period, counted to the
  minute; percentiles interpolate between neighbouring cases, so the median of an even
  number of cases is the middle of the two middle ones;
- SLA breaches: the cases with a due time whose first contact came after it, or that were
  still not contacted when it passed;
- closed-loop rate: of the period's answers in the survey's bottom band (detractors, the
  dissatisfied, "hard" for CES: ``MetricSpec.thresholds.bottom_max``, the band DSAT counts),
  the share whose case is closed;
- recovery rate: of the re-surveyed cases, the share whose re-survey score is in the top
  band (``thresholds.top_min``), and the mean re-survey score.

Proportions carry the Wilson interval of ``metrics.intervals`` (as CSAT's share does), every
figure its n, and a figure of fewer than ``min_n`` cases is flagged too few to read. Pure: no
I/O, so tests give plain counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cxpulse.metrics import Histogram, MetricResult, MetricSpec, format_value, mean
from cxpulse.metrics.intervals import wilson
from cxpulse.report.scale_labels import scale_bands
from cxpulse.store.case_counts import CaseCounts

__all__ = [
    "Duration",
    "FigureRow",
    "LoopFigures",
    "Proportion",
    "loop_figures",
    "quantile",
]


def quantile(minutes: Mapping[int, int], q: float) -> float:
    """The ``q`` quantile of the durations counted in ``minutes`` (minutes -> how many),
    interpolated between order statistics (Hyndman and Fan's type 7, the default of R and
    NumPy); NaN without any."""
    if not 0 <= q <= 1:
        raise ValueError(f"a quantile lies between 0 and 1, got {q}")
    n = sum(minutes.values())
    if n == 0:
        return math.nan
    position = (n - 1) * q
    below = math.floor(position)
    fraction = position - below
    ordered = sorted((value, count) for value, count in minutes.items() if count > 0)

    def at(index: int) -> float:
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return float(value)
        return float(ordered[-1][0])

    low = at(below)
    if fraction == 0:
        return low
    return low + fraction * (at(below + 1) - low)


@dataclass(frozen=True)
class Duration:
    """A time from opening a case, in hours: its median and 90th percentile over ``n`` cases."""

    n: int
    median: float
    p90: float
    min_n: int

    @classmethod
    def of(cls, minutes: Mapping[int, int], min_n: int) -> Duration:
        return cls(
            n=sum(minutes.values()),
            median=quantile(minutes, 0.5) / 60,
            p90=quantile(minutes, 0.9) / 60,
            min_n=min_n,
        )

    @property
    def too_small(self) -> bool:
        return self.n < self.min_n

    @property
    def median_text(self) -> str:
        return _hours(self.median)

    @property
    def p90_text(self) -> str:
        return _hours(self.p90)

    def to_dict(self) -> dict[str, Any]:
        return {
            "median_hours": _clean(self.median),
            "p90_hours": _clean(self.p90),
            "n": self.n,
            "too_small": self.too_small,
        }


@dataclass(frozen=True)
class Proportion:
    """``part`` of ``n``, in percent, with its Wilson interval."""

    part: int
    n: int
    value: float
    ci_low: float
    ci_high: float
    level: float
    min_n: int
    method: str = "wilson"

    @classmethod
    def of(cls, part: int, n: int, level: float, min_n: int) -> Proportion:
        low, high = wilson(part, n, level)
        value = part / n * 100 if n else math.nan
        return cls(part, n, value, low * 100, high * 100, level, min_n)

    @property
    def too_small(self) -> bool:
        return self.n < self.min_n

    @property
    def value_text(self) -> str:
        """ "83%"; "–" without any."""
        return "–" if math.isnan(self.value) else f"{self.value:.0f}%"

    @property
    def interval_text(self) -> str:
        """ "71–91%"; empty without any."""
        if math.isnan(self.ci_low):
            return ""
        return f"{self.ci_low:.0f}–{self.ci_high:.0f}%"

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": _clean(self.value),
            "ci_low": _clean(self.ci_low),
            "ci_high": _clean(self.ci_high),
            "part": self.part,
            "n": self.n,
            "level": self.level,
            "method": self.method,
            "too_small": self.too_small,
        }


@dataclass(frozen=True)
class FigureRow:
    """One figure as the pages and the report print it."""

    label: str
    value: str
    interval: str
    """The 95% (``level``) interval, empty where there is none (times, no cases)."""
    base: str
    """What the figure counts: "12 contacted of 15 cases"."""
    too_small: bool
    detail: str = ""
    """A second value under the first: the 90th percentile of a time."""


@dataclass(frozen=True)
class LoopFigures:
    """Every follow-up figure of one survey and period."""

    cases: int
    """Cases opened in the period."""
    open: int
    """Of them, those still new or contacted."""
    first_contact: Duration
    resolution: Duration
    breaches: Proportion
    """Cases past their SLA, of the cases with a due time."""
    closed_loop: Proportion
    """Unhappy answers of the period whose case is closed, of the period's unhappy answers."""
    recovery: Proportion
    """Re-surveyed cases whose re-survey score is in the top band, of the re-surveyed."""
    recovery_mean: MetricResult
    """The mean re-survey score with its t interval."""
    unhappy_band: str
    """The bottom band's name and answers: "Detractors 0–6"."""
    good_band: str
    """The top band's name and answers: "Promoters 9–10"."""
    scale_high: int
    shown: bool
    """Whether the survey has any case at all: without, the pages show nothing."""
    min_n: int

    @property
    def cases_text(self) -> str:
        return f"{self.cases} case" if self.cases == 1 else f"{self.cases} cases"

    @property
    def recovery_mean_text(self) -> str:
        return format_value(self.recovery_mean.value if self.recovery_mean.n else None)

    def line_parts(self) -> list[tuple[str, ...]]:
        """The parts of ``line``, each as pieces a page keeps on one line of text (so that
        a narrow card never breaks "71–91%" in two)."""
        parts: list[tuple[str, ...]] = [(self.cases_text,)]
        if self.first_contact.n:
            parts.append((f"first contact median {self.first_contact.median_text}",))
        if self.breaches.n:
            parts.append((f"{self.breaches.part} past SLA",))
        loop = self.closed_loop
        if loop.n:
            flag = ", too few to read" if loop.too_small else ""
            parts.append(
                (f"closed loop {loop.value_text}", f"({loop.interval_text}, n={loop.n}{flag})")
            )
        return parts

    def line(self) -> str:
        """The figures in one line a manager reads at a glance: "12 cases · first contact
        median 3.2 h · 2 past SLA · closed loop 83% (71–91%, n=24)"."""
        return " · ".join(" ".join(pieces) for pieces in self.line_parts())

    def rows(self) -> list[FigureRow]:
        """Every figure with its interval and base, in the order the pages show them."""
        contact, close = self.first_contact, self.resolution
        late, loop, back, average = (
            self.breaches,
            self.closed_loop,
            self.recovery,
            self.recovery_mean,
        )

        def median(duration: Duration) -> str:
            return f"median {duration.median_text}" if duration.n else "–"

        def p90(duration: Duration) -> str:
            return f"90th percentile {duration.p90_text}" if duration.n else ""

        def interval(share: Proportion) -> str:
            if not share.n:
                return ""
            return f"{format_value(share.ci_low)} to {format_value(share.ci_high)}%"

        mean_interval = ""
        if average.n > 1 and not math.isnan(average.ci_low):
            mean_interval = f"{format_value(average.ci_low)} to {format_value(average.ci_high)}"
        return [
            FigureRow(
                "Time to first contact",
                median(contact),
                "",
                f"{contact.n} contacted of {self.cases_text}",
                contact.too_small,
                p90(contact),
            ),
            FigureRow(
                "Time to resolution",
                median(close),
                "",
                f"{close.n} closed (resolved or won't fix) of {self.cases_text}",
                close.too_small,
                p90(close),
            ),
            FigureRow(
                "Past SLA",
                f"{late.part} ({format_value(late.value)}%)" if late.n else "–",
                interval(late),
                f"{late.n} with a due time",
                late.too_small,
            ),
            FigureRow(
                "Closed-loop rate",
                f"{format_value(loop.value)}%" if loop.n else "–",
                interval(loop),
                f"{loop.part} closed of {loop.n} unhappy answers ({self.unhappy_band})",
                loop.too_small,
            ),
            FigureRow(
                "Recovery rate",
                f"{format_value(back.value)}%" if back.n else "–",
                interval(back),
                f"{back.part} of {back.n} re-surveyed answered in {self.good_band}",
                back.too_small,
            ),
            FigureRow(
                "Mean re-survey score",
                f"{self.recovery_mean_text} of {self.scale_high}" if average.n else "–",
                mean_interval,
                f"{average.n} re-surveyed",
                average.too_small,
            ),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The figures as the API returns them (values not defined become ``None``)."""
        return {
            "cases": self.cases,
            "open": self.open,
            "time_to_first_contact": self.first_contact.to_dict(),
            "time_to_resolution": self.resolution.to_dict(),
            "sla_breaches": self.breaches.to_dict(),
            "closed_loop_rate": {**self.closed_loop.to_dict(), "band": self.unhappy_band},
            "recovery_rate": {**self.recovery.to_dict(), "band": self.good_band},
            "recovery_mean": {
                "value": _clean(self.recovery_mean.value),
                "ci_low": _clean(self.recovery_mean.ci_low),
                "ci_high": _clean(self.recovery_mean.ci_high),
                "n": self.recovery_mean.n,
                "level": self.recovery_mean.level,
                "method": self.recovery_mean.method,
                "too_small": self.recovery_mean.too_small,
            },
            "min_n": self.min_n,
        }


def loop_figures(counts: CaseCounts, answers: Histogram, spec: MetricSpec) -> LoopFigures:
    """The figures of a survey's period: ``counts`` from ``store.case_counts``, ``answers``
    the histogram of the period's answers (the base of the closed-loop rate), ``spec`` the
    survey's metric with its bands, confidence level and minimum n."""
    bottom, top = spec.thresholds.bottom_max, spec.thresholds.top_min
    unhappy = answers.count_at_most(bottom)
    # The two counts are read by two statements; an answer deleted in between must not make
    # the part larger than the whole.
    closed = min(counts.closed_answers.count_at_most(bottom), unhappy)
    level, min_n = spec.level, spec.min_n
    names = scale_bands(spec).names
    return LoopFigures(
        cases=counts.cases,
        open=counts.open,
        first_contact=Duration.of(counts.to_first_contact, min_n),
        resolution=Duration.of(counts.to_close, min_n),
        breaches=Proportion.of(counts.breached, counts.with_due, level, min_n),
        closed_loop=Proportion.of(closed, unhappy, level, min_n),
        recovery=Proportion.of(
            counts.recovery.count_at_least(top), counts.recovery.n, level, min_n
        ),
        recovery_mean=mean(counts.recovery, spec),
        unhappy_band=names[0],
        good_band=names[2],
        scale_high=spec.scale.high,
        shown=counts.ever,
        min_n=min_n,
    )


def _hours(value: float) -> str:
    # A no-break space: "13.1" and "h" never land on two lines.
    return "–" if math.isnan(value) else f"{value:.1f}\u00a0h"


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value
