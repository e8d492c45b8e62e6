"""How many points each theme costs or wins: share, score with and without it, and impact.

For one theme in one group of answers (a survey, a period, a segment):

- **mentions**: comments that mention the theme, and their **share** of all comments with a
  Wilson interval (``metrics.intervals.wilson``);
- **score with** the theme (the scored answers whose comment mentions it) and **score without**
  it (every other scored answer), each a ``MetricResult`` with n, interval and too-small flag;
- **impact** in points (scale units for CES and the mean): ``overall - without``, how far the
  overall score would move if the answers that mention the theme had scored like the rest. A
  negative impact on CSAT or NPS is points the theme costs; a positive one points it wins.

Everything comes from two histograms, everyone's and the mentioners', so the same code serves
files (DuckDB) and the database; "without" is their difference.

**The impact's interval.** Every metric here is the mean of a score per answer (1 or 0 for a
satisfied answer, +1 / 0 / -1 for NPS, the answer itself for CES and the mean), so with ``s``
the share of scored answers that mention the theme::

    overall = s * with + (1 - s) * without   =>   impact = overall - without = s * (with - without)

The interval is ``s`` times the interval of the difference with - without, which is the one
``metrics.compare`` gives two groups: Newcombe for CSAT and DSAT, the adjusted-Wald or MOVER
difference for NPS, Welch for CES and the mean. ``s`` is treated as fixed. For the question
asked of *these* answers ("how far would this score move") ``s`` is a count, not an estimate,
and the interval is exactly as good as the difference interval. Read as a property of answers
to come, the share is itself uncertain and the interval leaves that out: it is **not
conservative** then. An interval that allowed for it too would be wider by a factor of about
``sqrt(1 + d² s(1-s)/n / (s² var(d)))`` for a difference ``d`` with variance ``var(d)`` over
``n`` answers: with CSAT near 50 %, 10 % of answers mentioning and a 20-point difference,
about 6 % wider; with a 50-point difference, about 30 % wider. The estimate itself is exact
either way, and lies inside its interval whenever the difference interval holds the
difference (always, see docs/metrics.md).

A group under the survey's ``min_n`` on either side is flagged ``too_small`` as everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cxpulse.metrics import intervals
from cxpulse.metrics.compare import compare, excludes_zero
from cxpulse.metrics.histogram import Histogram
from cxpulse.metrics.scales import Metric
from cxpulse.metrics.scores import MetricResult, MetricSpec, score


def better_when_higher(metric: Metric) -> bool:
    """Whether a higher value of ``metric`` is better: DSAT counts the dissatisfied, so for it
    a theme that raises the score costs; CES here is agreement with "it was easy"."""
    return metric is not Metric.DSAT


@dataclass(frozen=True)
class ThemeImpact:
    """One theme in one group of answers: how often, how they score, what it costs or wins."""

    theme: str
    """The theme's key."""
    mentions: int
    """Comments that mention the theme (scored or not)."""
    comments: int
    """Comments in the group: the denominator of ``share``."""
    share: float
    """``mentions`` of ``comments``, in points (0..100); NaN without comments."""
    share_ci_low: float
    share_ci_high: float
    with_theme: MetricResult
    """Score of the scored answers whose comment mentions the theme."""
    without_theme: MetricResult
    """Score of every other scored answer of the group."""
    overall: MetricResult
    """Score of all scored answers of the group."""
    scored_share: float
    """Share (0..1) of the scored answers that mention the theme: the weight of the impact."""
    difference: float
    """``with_theme.value - without_theme.value``."""
    difference_ci_low: float
    difference_ci_high: float
    difference_method: str
    """How the difference's interval was computed (that of ``metrics.compare``)."""
    impact: float
    """``overall.value - without_theme.value``: how far the overall score would move if the
    answers that mention the theme scored like the rest (points; scale units for CES and the
    mean). NaN when no scored answer mentions it, or every one does."""
    impact_ci_low: float
    impact_ci_high: float
    level: float
    metric: Metric

    @property
    def too_small(self) -> bool:
        """Either side under the survey's ``min_n``: shown, but as too small to read."""
        return self.with_theme.too_small or self.without_theme.too_small

    @property
    def significant(self) -> bool:
        """The impact's interval excludes 0 (never, when it is NaN)."""
        return excludes_zero((self.impact_ci_low, self.impact_ci_high))

    @property
    def effect(self) -> float:
        """The impact in the metric's good direction: negative costs, positive wins (equal to
        ``impact`` except for DSAT, where more dissatisfied answers are worse)."""
        return self.impact if better_when_higher(self.metric) else -self.impact

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; values not defined become ``None``."""

        def clean(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {
            "theme": self.theme,
            "metric": str(self.metric),
            "level": self.level,
            "mentions": self.mentions,
            "comments": self.comments,
            "share": clean(self.share),
            "share_ci_low": clean(self.share_ci_low),
            "share_ci_high": clean(self.share_ci_high),
            "with_theme": self.with_theme.to_dict(),
            "without_theme": self.without_theme.to_dict(),
            "overall": self.overall.to_dict(),
            "scored_share": clean(self.scored_share),
            "difference": clean(self.difference),
            "difference_ci_low": clean(self.difference_ci_low),
            "difference_ci_high": clean(self.difference_ci_high),
            "difference_method": self.difference_method,
            "impact": clean(self.impact),
            "impact_ci_low": clean(self.impact_ci_low),
            "impact_ci_high": clean(self.impact_ci_high),
            "significant": self.significant,
            "too_small": self.too_small,
        }


def theme_impact(
    theme: str,
    everyone: Histogram,
    mentioners: Histogram,
    spec: MetricSpec,
    *,
    comments: int,
    mentions: int | None = None,
    overall: MetricResult | None = None,
) -> ThemeImpact:
    """The impact of one theme.

    ``everyone``: the scores of all answers of the group; ``mentioners``: the scores of those
    whose comment mentions the theme (a part of ``everyone``). ``comments``: how many answers of
    the group carry a comment; ``mentions``: how many of those mention the theme, counting
    comments without a score (default: the mentioners with a score). ``overall`` may be passed
    when it is already known (``score(everyone, spec)``).
    """
    mentions = mentioners.n if mentions is None else mentions
    if not 0 <= mentions <= comments:
        raise ValueError(
            f"theme {theme!r}: {mentions} mentions among {comments} comments; "
            "mentions must lie between 0 and the number of comments"
        )
    if mentions < mentioners.n:
        raise ValueError(
            f"theme {theme!r}: {mentioners.n} scored answers mention it but only {mentions} "
            "comments do; each scored mention is also a comment that mentions it"
        )
    without = _subtract(everyone, mentioners, theme)
    overall = score(everyone, spec) if overall is None else overall
    comparison = compare(without, mentioners, spec)  # B - A: with minus without
    scored_share = mentioners.n / everyone.n if everyone.n else math.nan
    if mentioners.n == 0 or without.n == 0:
        # Nothing scored to compare: no one to move, or no rest to move towards.
        impact = low = high = math.nan
    else:
        impact = scored_share * comparison.difference
        # min/max: the product can round one step past the estimate when the difference sits
        # on its interval's edge (everyone with the theme at 0%, the rest at 100%), and every
        # interval of cxpulse contains its estimate.
        low = min(scored_share * comparison.ci_low, impact)
        high = max(scored_share * comparison.ci_high, impact)
    share_low, share_high = intervals.wilson(mentions, comments, spec.level)
    return ThemeImpact(
        theme=theme,
        mentions=mentions,
        comments=comments,
        share=mentions / comments * 100 if comments else math.nan,
        share_ci_low=share_low * 100,
        share_ci_high=share_high * 100,
        with_theme=comparison.b,
        without_theme=comparison.a,
        overall=overall,
        scored_share=scored_share,
        difference=comparison.difference,
        difference_ci_low=comparison.ci_low,
        difference_ci_high=comparison.ci_high,
        difference_method=comparison.method,
        impact=impact,
        impact_ci_low=low,
        impact_ci_high=high,
        level=spec.level,
        metric=spec.metric,
    )


def theme_impacts(
    everyone: Histogram,
    mentioners: Mapping[str, Histogram],
    spec: MetricSpec,
    *,
    comments: int,
    mentions: Mapping[str, int] | None = None,
) -> list[ThemeImpact]:
    """The impact of every theme of ``mentioners`` (theme key -> histogram of the answers that
    mention it), those that cost the most first (see ``by_effect``)."""
    overall = score(everyone, spec)
    found = [
        theme_impact(
            theme,
            everyone,
            histogram,
            spec,
            comments=comments,
            mentions=None if mentions is None else mentions.get(theme, histogram.n),
            overall=overall,
        )
        for theme, histogram in mentioners.items()
    ]
    return by_effect(found)


def by_effect(impacts: Iterable[ThemeImpact]) -> list[ThemeImpact]:
    """Costs first (most points lost), then wins; themes without an impact last; ties by key."""
    return sorted(
        impacts,
        key=lambda item: (math.isnan(item.effect), _or_zero(item.effect), item.theme),
    )


def costs_most(
    impacts: Iterable[ThemeImpact], *, significant_only: bool = False
) -> list[ThemeImpact]:
    """The themes that cost the most points ("what costs the most"): those that pull the score
    the wrong way, the largest loss first (for DSAT the wrong way is up). ``significant_only``
    keeps those whose interval excludes 0."""
    return [
        item
        for item in by_effect(impacts)
        if item.effect < 0 and (item.significant or not significant_only)
    ]


def wins_most(
    impacts: Iterable[ThemeImpact], *, significant_only: bool = False
) -> list[ThemeImpact]:
    """The themes that win the most ("what wins promoters", or satisfied customers): those
    that pull the score the right way, the largest gain first."""
    gains = [
        item for item in impacts if item.effect > 0 and (item.significant or not significant_only)
    ]
    return sorted(gains, key=lambda item: (-item.effect, item.theme))


def _or_zero(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _subtract(everyone: Histogram, part: Histogram, theme: str) -> Histogram:
    """``everyone`` minus ``part``, refusing a part that is not inside the whole."""
    remaining = dict(everyone.counts)
    for value, count in part.counts.items():
        left = remaining.get(value, 0) - count
        if left < 0:
            raise ValueError(
                f"theme {theme!r}: {count} mentioning answers score {value:g} but only "
                f"{remaining.get(value, 0)} answers of the group do; the mentioners must be a "
                "part of everyone"
            )
        remaining[value] = left
    return Histogram(remaining)
