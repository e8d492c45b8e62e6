"""The comment rate of a dashboard view: the share of its answers that carry a comment.

The rollups do not know which answers carry a comment, so it is counted in the responses
table: exactly up to ``COMMENT_RATE_MAX_SCAN`` answers, and above that estimated, with an
interval, from a fixed number of random time slices of the period that hold about
``COMMENT_SAMPLE_ANSWERS`` answers together (``estimate_comment_rate``). The counting is
``store/comment_counts.py``; the slicing and the estimator are here.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from cxpulse.metrics.intervals import wilson, z_quantile
from cxpulse.metrics.scores import DEFAULT_LEVEL
from cxpulse.report.filters_url import DrillFilters, ViewFilters, Window
from cxpulse.store import comment_counts, response_reads, rollups

COMMENT_RATE_MAX_SCAN = 200_000
"""Up to this many answers in a view, every one is read to count the comments."""
COMMENT_SAMPLE_SLICES = 40
"""Above it, the comment rate is estimated from this many random time slices of the period,"""
COMMENT_SAMPLE_ANSWERS = 20_000
"""... cut so that together they hold about this many of the survey's answers."""
COMMENT_SLICE_CAP = 10 * COMMENT_SAMPLE_ANSWERS // COMMENT_SAMPLE_SLICES
"""A slice with more answers than this (answers bunched at one moment, as an import may leave
them) is not read to its end, and the estimate is given up rather than skewed."""


@dataclass(frozen=True)
class CommentEstimate:
    """The comment rate of a view estimated from a sample of time slices of its period."""

    rate: float
    """0..100."""
    ci_low: float
    ci_high: float
    level: float
    sampled: int
    """Answers read: those of the sampled slices."""
    commented: int
    """Of those, with a comment."""
    slices: int
    of_slices: int
    """The period was cut into this many slices."""


@dataclass(frozen=True)
class CommentRate:
    commented: int | None
    """Counted exactly; None when estimated or not known."""
    answered: int
    note: str | None = None
    """Why the rate is not shown, when it is not."""
    estimate: CommentEstimate | None = None

    @property
    def rate(self) -> float:
        if self.estimate is not None:
            return self.estimate.rate
        if self.commented is None or not self.answered:
            return math.nan
        return self.commented / self.answered * 100


def slice_bounds(
    window: Window, per_day: Mapping[date, int], count: int
) -> list[tuple[datetime, datetime]]:
    """The window cut into ``count`` slices holding about as many answers each, in order;
    together they cover it exactly. Within a day answers are taken as spread evenly, so a
    busy day is cut into several slices and quiet days share one; days without answers join
    the slice after them (before them, at the end)."""
    start = datetime.combine(window.start, datetime.min.time(), UTC)
    finish = datetime.combine(window.end, datetime.min.time(), UTC)
    days = sorted(day for day, n in per_day.items() if n > 0)
    total = sum(per_day[day] for day in days)
    edges = [start]
    if total:
        seen, index = 0, 0
        day_length = timedelta(days=1)
        for k in range(1, count):
            wanted = total * k / count
            while seen + per_day[days[index]] < wanted:
                seen += per_day[days[index]]
                index += 1
            day = days[index]
            share = (wanted - seen) / per_day[day]
            moment = datetime.combine(day, datetime.min.time(), UTC) + share * day_length
            edges.append(max(edges[-1], moment))
    else:
        length = finish - start
        edges += [start + length * k / count for k in range(1, count)]
    edges.append(finish)
    return list(itertools.pairwise(edges))


def ratio_estimate(
    parts: Sequence[tuple[int, int]], population_slices: int, population_answers: int, level: float
) -> tuple[float, float, float]:
    """Share of commented answers from a simple random sample of slices, each given as
    (commented, answered): the ratio estimator Σc / Σa with its linearised variance
    (Cochran, Sampling Techniques, 6.9), which counts each slice as one draw, so answers
    that bunch together in time widen the interval as they should. Returns (share, low,
    high) in 0..1. When every sampled answer is alike the variance is 0 and Wilson's interval
    on the answers read stands in."""
    commented = sum(c for c, _ in parts)
    answered = sum(a for _, a in parts)
    share = commented / answered
    m = len(parts)
    if m >= population_slices:
        return share, share, share  # every slice read: a count, not an estimate
    if commented in (0, answered) or m < 2:
        low, high = wilson(commented, answered, level)
        return share, low, high
    mean_size = population_answers / population_slices
    spread = sum((c - share * a) ** 2 for c, a in parts) / (m - 1)
    variance = (1 - m / population_slices) * spread / (m * mean_size**2)
    half = z_quantile(level) * math.sqrt(max(variance, 0.0))
    return share, max(0.0, share - half), min(1.0, share + half)


def estimate_comment_rate(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    answered: int,
    *,
    slices: int = COMMENT_SAMPLE_SLICES,
    target: int = COMMENT_SAMPLE_ANSWERS,
    cap: int = COMMENT_SLICE_CAP,
    level: float = DEFAULT_LEVEL,
) -> CommentRate:
    """The comment rate of a large view from ``slices`` random slices of its period.

    The period is cut into slices holding about equal numbers of the survey's answers (by the
    daily rollups; all its answers, not only those the filters keep, as those are what the
    index ranges read), so many that ``slices`` of them hold about ``target`` answers. A
    random choice of them, fixed by the survey and period so that a reload shows the same
    number, is read through the (survey_id, submitted_at) index, one range each.
    """
    per_day = rollups.day_counts(session, organisation_id, survey_id, window.start, window.end)
    everything = max(sum(per_day.values()), answered)
    population = max(slices, math.ceil(everything * slices / target))
    # The choice depends on the survey and period only, so that the estimates of two
    # filters of one period (email and chat, say) come from the same slices.
    seed = f"{survey_id}|{window.start}|{window.end}"
    chosen = sorted(random.Random(seed).sample(range(population), slices))  # noqa: S311 - a survey sample, not a secret
    bounds = slice_bounds(window, per_day, population)
    found = comment_counts.commented_in_slices(
        session,
        organisation_id,
        filters.responses(survey_id, window),
        [bounds[index] for index in chosen],
        cap,
    )
    if any(a > cap for _, a in found):
        return CommentRate(
            None,
            answered,
            f"unavailable for this view: it holds more than {COMMENT_RATE_MAX_SCAN:,} answers, "
            "too many to read, and they are too bunched in time to sample; narrow the period "
            "or filters to see it",
        )
    if not sum(a for _, a in found):
        return CommentRate(
            None,
            answered,
            f"unavailable for this view: it holds more than {COMMENT_RATE_MAX_SCAN:,} answers, "
            "too many to read, and the sampled slices of the period hold none of them; "
            "narrow the period or filters to see it",
        )
    share, low, high = ratio_estimate(found, population, answered, level)
    estimate = CommentEstimate(
        rate=share * 100,
        ci_low=low * 100,
        ci_high=high * 100,
        level=level,
        sampled=sum(a for _, a in found),
        commented=sum(c for c, _ in found),
        slices=slices,
        of_slices=population,
    )
    return CommentRate(None, answered, estimate=estimate)


def comment_rate(
    session: Session,
    organisation_id: int,
    survey_id: int,
    filters: ViewFilters,
    window: Window,
    answered: int,
) -> CommentRate:
    """The comment rate of a view of ``answered`` answers: counted, or estimated above
    ``COMMENT_RATE_MAX_SCAN``."""
    if answered > COMMENT_RATE_MAX_SCAN:
        return estimate_comment_rate(session, organisation_id, survey_id, filters, window, answered)
    responses = filters.responses(survey_id, window, DrillFilters(has_comment=True))
    commented = response_reads.count_responses(session, organisation_id, responses)
    return CommentRate(commented, answered)
