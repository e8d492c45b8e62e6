"""The themes of one survey and period, tied to the points they cost or win: the one source
of the themes panel of the dashboard, the overview's top themes, the monthly report's themes
and the API's themes of a survey.

For each theme of the organisation's taxonomy mentioned in the period (``themes_view``):

- **mentions** and their **share** of the analysed comments, with its Wilson interval;
- the **score** of the answers that mention it and of those that do not, and its **impact**
  on the overall score in the metric's own points with an interval (``text.theme_impact``:
  how far the score would move if those answers scored like the rest);
- its **monthly share** of the analysed comments, for a small line;
- up to three **example comments**, redacted, the newest of the band that explains the
  impact (the bottom band for a theme that costs points, the top band for one that wins
  them);
- the **drill-down** of the answers behind it (the view's filters plus ``theme=<key>``).

``ThemesView.costs`` ranks what costs the most points, ``ThemesView.wins`` what wins them
(for DSAT, where lower is better, a theme that raises the share of dissatisfied answers
costs). A theme is called a cost or a win for sure only when its impact's interval excludes
zero; the others are shown as "could be chance".

While the worker has not analysed the period's comments yet, ``waiting`` says how many are
left (from the view's comment rate: counted, or estimated above 200,000 answers), so that a
page says "Analysing 1,234 comments…" rather than showing an empty panel.

Cost: the counts come from ``report.theme_counts`` (past days remembered, today read
afresh); the examples are one small statement per theme shown (``store.theme_panels``).
The share lines are ``report.theme_lines``. The module is one piece of about 450 lines: the
types every caller (dashboard, overview, monthly report, API) shares and the one function
that fills them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, Metric, MetricResult, MetricSpec, merge, score
from cxpulse.metrics.scores import DEFAULT_LEVEL, DEFAULT_MIN_N
from cxpulse.report.comment_rate import CommentRate, comment_rate
from cxpulse.report.filters_url import DrillFilters, ViewFilters, Window
from cxpulse.report.headlines import METRIC_LABELS, value_with_unit
from cxpulse.report.impact import IMPACT_DIGITS, impact_text
from cxpulse.report.scale_labels import scale_bands
from cxpulse.report.theme_counts import COUNTS, CountCache, monthly_counts
from cxpulse.report.theme_lines import ShareLine, month_of, months_of, share_line
from cxpulse.store import text_themes, theme_panels
from cxpulse.store.models import Survey
from cxpulse.store.theme_panels import Band
from cxpulse.text import theme_impact
from cxpulse.text.theme_impact import ThemeImpact

__all__ = [
    "EXAMPLES",
    "Example",
    "ThemeInfo",
    "ThemeRow",
    "ThemesView",
    "catalogue_of",
    "theme_rows",
    "themes_view",
    "top_rows",
]

SHOWN = 5
"""Themes in each of "what costs the most points" and "what wins promoters"."""
EXAMPLES = 3

Direction = Literal["costs", "wins", "none"]
WINS_TITLES = {
    Metric.NPS: "What wins promoters",
    Metric.CSAT: "What wins satisfied customers",
    Metric.DSAT: "What keeps customers satisfied",
    Metric.CES: "What makes it easy",
    Metric.MEAN: "What lifts the score",
}


@dataclass(frozen=True)
class Example:
    response_id: int
    submitted_at: datetime
    score: float
    band_name: str
    language: str | None
    sentiment: str
    """The sentiment of the clause that names the theme."""
    text: str
    """Redacted: personal data replaced."""


@dataclass(frozen=True)
class ThemeRow:
    key: str
    name: str
    origin: str
    """``starter``, ``custom`` or ``discovered``."""
    mentions: int
    share: float
    """Of the analysed comments, 0..100."""
    share_low: float
    share_high: float
    with_theme: MetricResult
    """The score of the answers whose comment mentions the theme."""
    without_theme: MetricResult
    """The score of every other answer of the period."""
    impact: float
    """Overall score minus ``without_theme.value``, in the metric's points; NaN undefined."""
    impact_low: float
    impact_high: float
    direction: Direction
    """``costs`` when the theme lowers the score (raises DSAT), ``wins`` when it lifts it."""
    significant: bool
    """Whether the impact's interval excludes 0."""
    too_few: bool
    """The answers with it, or those without, are fewer than the minimum n: shown, never
    called a cost or a win."""
    digits: int
    line: ShareLine
    examples: tuple[Example, ...]
    examples_band: str | None
    """The band the examples come from ("Detractors 0–6"), None without examples asked."""
    drill: DrillFilters
    """The answers behind the theme (with the view's filters)."""
    examples_drill: DrillFilters
    """The answers of the examples' band that mention it."""
    detail: ThemeImpact
    """The text stage's numbers of the theme (``to_dict`` for the API): the difference with
    its method, the overall score, the share of scored answers."""

    @property
    def impact_text(self) -> str:
        return impact_text(self.impact, self.digits)

    @property
    def size_text(self) -> str:
        """The points without their sign ("3.2"), for "costs 3.2 points"."""
        return impact_text(abs(self.impact), self.digits).lstrip("+")

    @property
    def interval_text(self) -> str:
        """ "2.3 to 4.1" in the impact's digits, with signs."""
        if math.isnan(self.impact_low) or math.isnan(self.impact_high):
            return "–"
        low, high = (impact_text(end, self.digits) for end in (self.impact_low, self.impact_high))
        return f"{low} to {high}"

    @property
    def size(self) -> float:
        """How many points it costs or wins (the impact without its sign); 0 undefined."""
        return 0.0 if math.isnan(self.impact) else abs(self.impact)


@dataclass(frozen=True)
class Bar:
    """A theme's bar: its length and its interval's whisker, in percent of the width."""

    length: float
    low: float
    high: float


@dataclass(frozen=True)
class ThemesView:
    survey_id: int
    metric: Metric
    window: Window
    overall: MetricResult
    """The score of every answer of the period."""
    themes: tuple[ThemeRow, ...]
    """Every theme mentioned in the period, the largest impact first."""
    answers: int
    analysed: int
    """Analysed comments of the period."""
    waiting: int | None
    """Comments of the period still waiting for the worker; None when not known."""
    waiting_estimated: bool
    """``waiting`` comes from an estimated comment count ("about")."""
    min_n: int
    level: float
    scale_high: int
    months: tuple[date, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return METRIC_LABELS[self.metric]

    @property
    def wins_title(self) -> str:
        """The heading of the themes that lift the score, in the metric's words."""
        return WINS_TITLES[self.metric]

    def value_text(self, result: MetricResult) -> str:
        """A score in its units, as the dashboard writes it ("83.4%", "+23.2", "5.1 of 7")."""
        return value_with_unit(result, self.metric, self.scale_high)

    def bar(self, row: ThemeRow) -> Bar:
        """Where the row's bar and its interval's whisker end, in percent of the width (1 to
        99), scaled to the largest interval shown (impacts without their sign; an interval
        reaching past 0 is cut at 0)."""
        scale = self.scale_max
        toward = -1.0 if row.impact < 0 else 1.0

        def place(value: float) -> float:
            # 1 to 99: the whisker's end ticks stay whole inside the drawing.
            return round(1 + min(98.0, max(0.0, value * toward / scale * 98)), 1)

        ends = sorted((place(row.impact_low), place(row.impact_high)))
        return Bar(place(row.impact), ends[0], ends[1])

    @property
    def costs(self) -> list[ThemeRow]:
        """What costs the most points: themes that lower the score, the largest first."""
        return top_rows(self.themes, "costs")

    @property
    def wins(self) -> list[ThemeRow]:
        """What wins promoters (lifts the score), the largest first."""
        return top_rows(self.themes, "wins")

    @property
    def scale_max(self) -> float:
        """The largest end of an interval shown among costs and wins: the bars' scale."""
        ends = [
            abs(end)
            for row in [*self.costs, *self.wins]
            for end in (row.impact, row.impact_low, row.impact_high)
            if not math.isnan(end)
        ]
        return max(ends, default=0.0) or 1.0

    @property
    def unit(self) -> str:
        """What an impact is counted in."""
        if self.metric in (Metric.CSAT, Metric.DSAT):
            return "percentage points"
        if self.metric is Metric.NPS:
            return "NPS points"
        return "scale points"

    @property
    def analysing(self) -> bool:
        """Comments of the period wait for the worker."""
        return bool(self.waiting)


def _waiting(rate: CommentRate | None, analysed: int) -> tuple[int | None, bool]:
    """Comments still waiting for the worker, from the view's comment rate: exact when the
    rate was counted, an estimate (only when the analysed comments fall below the low end of
    its interval, so an estimate's noise never reads as a backlog) when it was sampled."""
    if rate is None:
        return None, False
    if rate.commented is not None:
        return max(0, rate.commented - analysed), False
    if rate.estimate is not None and rate.answered:
        low = rate.estimate.ci_low / 100 * rate.answered
        if analysed < low:
            return round(rate.estimate.rate / 100 * rate.answered) - analysed, True
        return 0, True
    return None, False


@dataclass(frozen=True)
class ThemeInfo:
    """What a row names of a theme of the taxonomy."""

    key: str
    name: str
    origin: str


def theme_rows(
    mentioned: Mapping[int, Histogram],
    everyone: Histogram,
    commented: Histogram,
    catalogue: Mapping[int, ThemeInfo],
    spec: MetricSpec,
) -> list[ThemeRow]:
    """One row per theme of ``catalogue`` (theme id to its names) that ``mentioned`` holds
    answers for (its mentioners' histogram), what costs the most first: pure, from the
    histograms of the period's answers (``everyone``) and analysed comments (``commented``),
    through ``text.theme_impact``. Rows have no share line and no examples (``themes_view``
    adds them)."""
    by_key = {
        catalogue[theme_id].key: (catalogue[theme_id], histogram)
        for theme_id, histogram in mentioned.items()
        if histogram.n and theme_id in catalogue
    }
    impacts = theme_impact.theme_impacts(
        everyone,
        {key: histogram for key, (_, histogram) in by_key.items()},
        spec,
        comments=commented.n,
    )
    bands = scale_bands(spec)
    digits = IMPACT_DIGITS[spec.metric]
    empty_line = share_line((), {}, {})
    rows = []
    for found in impacts:
        theme = by_key[found.theme][0]
        direction: Direction = "none"
        if not math.isnan(found.effect) and found.effect != 0:
            direction = "costs" if found.effect < 0 else "wins"
        # The band that explains the impact: the bottom box for a theme that costs points
        # (for DSAT too: its dissatisfied answers are the bottom box), the top for a win.
        if direction == "costs":
            band, band_name = Band(high=bands.bottom_max), bands.names[0]
        else:
            band, band_name = Band(low=bands.top_min), bands.names[2]
        rows.append(
            ThemeRow(
                key=theme.key,
                name=theme.name,
                origin=theme.origin,
                mentions=found.mentions,
                share=found.share,
                share_low=found.share_ci_low,
                share_high=found.share_ci_high,
                with_theme=found.with_theme,
                without_theme=found.without_theme,
                impact=found.impact,
                impact_low=found.impact_ci_low,
                impact_high=found.impact_ci_high,
                direction=direction,
                significant=found.significant and not found.too_small,
                too_few=found.too_small,
                digits=digits,
                line=empty_line,
                examples=(),
                examples_band=band_name,
                drill=DrillFilters(theme=theme.key),
                examples_drill=DrillFilters(
                    theme=theme.key, min_score=band.low, max_score=band.high
                ),
                detail=found,
            )
        )
    return rows


def top_rows(rows: Sequence[ThemeRow], direction: Direction, count: int = SHOWN) -> list[ThemeRow]:
    """The ``count`` rows of ``direction`` with the largest impact, themes with too few
    mentions left out."""
    found = [row for row in rows if row.direction == direction and not row.too_few]
    return sorted(found, key=lambda row: -row.size)[:count]


def catalogue_of(session: Session, organisation_id: int) -> dict[int, ThemeInfo]:
    """The organisation's themes (merged and inactive ones too: a past period may mention
    them), by id."""
    return {
        theme.id: ThemeInfo(theme.key, theme.name, theme.origin)
        for theme in text_themes.list_themes(session, organisation_id, include_inactive=True)
    }


def themes_view(
    session: Session,
    organisation_id: int,
    survey: Survey,
    filters: ViewFilters,
    window: Window,
    *,
    examples: int = EXAMPLES,
    comments: CommentRate | None = None,
    count_comments: bool = True,
    today: date | None = None,
    min_n: int | None = None,
    level: float | None = None,
    cache: CountCache | None = COUNTS,
) -> ThemesView:
    """The themes of ``survey``'s answers that ``filters`` keep over ``window``.

    ``examples``: comments per theme of costs and wins (0 for none: a viewer's dashboard,
    the report's month before). ``comments``: the view's comment rate when the caller has
    it; otherwise it is counted (estimated above 200,000 answers) when ``count_comments``,
    for ``waiting``. ``min_n`` and ``level`` default to the metric's defaults."""
    today = today or datetime.now(UTC).date()
    spec = survey.metric_spec(
        level=DEFAULT_LEVEL if level is None else level,
        min_n=DEFAULT_MIN_N if min_n is None else min_n,
    )
    where = filters.responses(survey.id, window)
    monthly = monthly_counts(
        session, organisation_id, where, window.start, window.end, today=today, cache=cache
    )
    everyone = merge(counts.everyone for counts in monthly.values())
    commented = merge(counts.commented for counts in monthly.values())
    catalogue = catalogue_of(session, organisation_id)
    per_theme: dict[int, list[Histogram]] = {}
    mentions_by_month: dict[str, dict[date, int]] = {}
    comments_by_month: dict[date, int] = {}
    for label, counts in monthly.items():
        month = month_of(label)
        comments_by_month[month] = comments_by_month.get(month, 0) + counts.commented.n
        for theme_id, histogram in counts.themes.items():
            per_theme.setdefault(theme_id, []).append(histogram)
            if theme_id in catalogue:
                by_month = mentions_by_month.setdefault(catalogue[theme_id].key, {})
                by_month[month] = by_month.get(month, 0) + histogram.n
    if comments is None and count_comments:
        comments = comment_rate(session, organisation_id, survey.id, filters, window, everyone.n)
    waiting, estimated = _waiting(comments, commented.n)
    months = months_of(window)
    rows = theme_rows(
        {theme_id: merge(parts) for theme_id, parts in per_theme.items()},
        everyone,
        commented,
        catalogue,
        spec,
    )
    ids = {info.key: theme_id for theme_id, info in catalogue.items()}
    shown = [*top_rows(rows, "costs"), *top_rows(rows, "wins")]
    found_examples = (
        theme_panels.theme_examples(
            session,
            organisation_id,
            where,
            {
                ids[row.key]: Band(row.examples_drill.min_score, row.examples_drill.max_score)
                for row in shown
            },
            limit=examples,
        )
        if examples and shown
        else {}
    )
    themes = tuple(
        dataclasses.replace(
            row,
            line=share_line(months, mentions_by_month.get(row.key, {}), comments_by_month),
            examples=tuple(
                Example(
                    response_id=e.response_id,
                    submitted_at=e.submitted_at,
                    score=e.score,
                    band_name=row.examples_band or "",
                    language=e.language,
                    sentiment=e.sentiment,
                    text=e.text,
                )
                for e in found_examples.get(ids[row.key], [])
            ),
            examples_band=row.examples_band if examples else None,
        )
        for row in rows
    )
    return ThemesView(
        survey_id=survey.id,
        metric=spec.metric,
        window=window,
        overall=score(everyone, spec),
        themes=themes,
        answers=everyone.n,
        analysed=commented.n,
        waiting=waiting,
        waiting_estimated=estimated,
        min_n=spec.min_n,
        level=spec.level,
        scale_high=spec.scale.high,
        months=tuple(months),
    )
