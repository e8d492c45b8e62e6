"""The themes of a set of comments and the points of the score each costs or wins.

``cxpulse themes`` prints this table for a file; it is pure arithmetic on the analyses the
pipeline gave (:func:`cxpulse.text.analysis.analyse`) and the rows' scores, so any caller
with analysed comments and scores gets the same table.

For every theme mentioned, the defined ones (the taxonomy's, from each comment's mentions) and
the discovered ones (:func:`cxpulse.text.discovery.discover_themes`, over the words the
taxonomy's phrases do not cover):

- **mentions**: the comments that name it, and their **share** of the comments (those with
  text), with a Wilson interval;
- the **score** of the scored answers that mention it and of all the others (answers
  without a comment included: "the rest" is everyone else), and its **impact** in the
  metric's points with an interval (:func:`cxpulse.text.theme_impact.theme_impact`: how far
  the overall score would move if those answers scored like the rest);
- the sentiment of its mentions (of the clause that names it, for a defined theme; of the
  comment, for a discovered one), its **top phrases** and up to three **example comments**
  (redacted), taken from the mentions whose sentiment explains the impact.

Rows are sorted by what costs the most points first (the most negative impact; for DSAT,
where lower is better, the largest rise), then the themes that move nothing, then those that
win points, the largest last; themes whose impact is undefined (no scored mention) come at
the end. With groups (``--by``), the same table is made for each group's comments, with the
themes discovered over the whole set so that a theme keeps its key across groups.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cxpulse.metrics import Histogram, MetricResult, MetricSpec, score
from cxpulse.redaction import without_placeholders
from cxpulse.text.comments import CommentAnalysis, Sentiment
from cxpulse.text.taxonomy import Taxonomy
from cxpulse.text.theme_impact import ThemeImpact, theme_impact

__all__ = [
    "EXAMPLES",
    "SegmentThemes",
    "ThemeRow",
    "ThemeTable",
    "theme_table",
]

EXAMPLES = 3
"""Example comments per theme, at most."""
TOP_PHRASES = 5
"""Phrases listed per defined theme: those that matched most often."""
LONG_EXAMPLE = 280
"""Characters above which an example is taken only when no shorter one explains the theme."""

Origin = Literal["defined", "discovered"]
Direction = Literal["costs", "wins", "none"]


@dataclass(frozen=True)
class ThemeRow:
    """One theme of one set of comments."""

    key: str
    label: str
    """The taxonomy's name of a defined theme; the top phrases of a discovered one."""
    origin: Origin
    top_phrases: tuple[str, ...]
    sentiments: Mapping[str, int]
    """Mentions per sentiment (``negative``, ``neutral``, ``positive``, ``unknown``)."""
    examples: tuple[str, ...]
    """Up to :data:`EXAMPLES` comments that mention it, redacted."""
    figures: ThemeImpact
    """Mentions, share, score with and without, impact, each with its interval."""

    @property
    def mentions(self) -> int:
        """Comments that mention the theme (scored or not)."""
        return self.figures.mentions

    @property
    def share(self) -> float:
        """``mentions`` out of the comments with text, 0..100; NaN without comments."""
        return self.figures.share

    @property
    def share_low(self) -> float:
        return self.figures.share_ci_low

    @property
    def share_high(self) -> float:
        return self.figures.share_ci_high

    @property
    def with_theme(self) -> MetricResult:
        """The score of the scored answers whose comment mentions the theme."""
        return self.figures.with_theme

    @property
    def without_theme(self) -> MetricResult:
        """The score of every other scored answer."""
        return self.figures.without_theme

    @property
    def impact(self) -> float:
        """Overall score minus ``without_theme``'s, in the metric's points; NaN when no scored
        answer mentions the theme, or every one does."""
        return self.figures.impact

    @property
    def impact_low(self) -> float:
        return self.figures.impact_ci_low

    @property
    def impact_high(self) -> float:
        return self.figures.impact_ci_high

    @property
    def direction(self) -> Direction:
        """``costs`` when the theme lowers the score (raises DSAT), ``wins`` when it lifts
        it, ``none`` when it moves nothing or its impact is undefined."""
        effect = self.figures.effect
        if math.isnan(effect) or effect == 0:
            return "none"
        return "costs" if effect < 0 else "wins"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; undefined numbers become ``None``."""
        figures = self.figures.to_dict()
        return {
            "key": self.key,
            "label": self.label,
            "origin": self.origin,
            "top_phrases": list(self.top_phrases),
            "mentions": self.mentions,
            "share": figures["share"],
            "share_low": figures["share_ci_low"],
            "share_high": figures["share_ci_high"],
            "sentiments": dict(self.sentiments),
            "score_with": figures["with_theme"],
            "score_without": figures["without_theme"],
            "impact": figures["impact"],
            "impact_low": figures["impact_ci_low"],
            "impact_high": figures["impact_ci_high"],
            "direction": self.direction,
            "significant": self.figures.significant,
            "too_small": self.figures.too_small,
            "examples": list(self.examples),
        }


@dataclass(frozen=True)
class SegmentThemes:
    """The themes of one set of comments: the whole file, or one value of a ``--by`` column."""

    segment: str | None
    """The group's value (``None`` for rows without one); ``None`` for the whole set too, see
    :attr:`whole`."""
    whole: bool
    rows: int
    """Rows in the set, with or without a comment or a score."""
    comments: int
    """Rows with a comment (text that is not blank)."""
    overall: MetricResult
    """The score of every scored answer of the set."""
    themes: tuple[ThemeRow, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "comments": self.comments,
            "overall": self.overall.to_dict(),
            "themes": [row.to_dict() for row in self.themes],
        }


@dataclass(frozen=True)
class ThemeTable:
    whole: SegmentThemes
    segments: tuple[SegmentThemes, ...] = field(default_factory=tuple)
    """One per value of the group column, sorted by value, missing values last; empty
    without groups."""


@dataclass
class _Theme:
    """A theme's description and, per row, whether and how it is mentioned."""

    key: str
    label: str
    origin: Origin
    top_phrases: tuple[str, ...]
    mentions: dict[int, Sentiment]
    """Row index -> the mention's sentiment."""


def theme_table(
    analyses: Sequence[CommentAnalysis],
    scores: Sequence[float | None],
    spec: MetricSpec,
    *,
    taxonomy: Taxonomy,
    groups: Sequence[str | None] | None = None,
    discover: bool = True,
    max_discovered: int = 8,
    min_docs: int = 5,
) -> ThemeTable:
    """The table of themes of ``analyses`` (one per row; a row without a comment has an
    analysis with empty ``redacted`` text) and ``scores`` (one per row, ``None`` unscored).

    ``taxonomy`` names the defined themes (keys to labels). ``groups`` gives each row's value
    of a group column, for a table per group. ``discover`` adds themes found among the words
    no defined theme covers (at most ``max_discovered``, each with ``min_docs`` comments or
    more).
    """
    if len(scores) != len(analyses):
        raise ValueError(f"{len(analyses)} analyses but {len(scores)} scores")
    if groups is not None and len(groups) != len(analyses):
        raise ValueError(f"{len(analyses)} analyses but {len(groups)} group values")
    themes = _defined(analyses, taxonomy)
    if discover:
        taken = {theme.key for theme in themes}
        themes += _discovered(analyses, taxonomy, taken, max_discovered, min_docs)
    everything = range(len(analyses))
    whole = _segment(None, True, everything, analyses, scores, themes, spec)
    segments: list[SegmentThemes] = []
    if groups is not None:
        rows_of: dict[str | None, list[int]] = {}
        for index, value in enumerate(groups):
            rows_of.setdefault(value, []).append(index)
        ordered = sorted(rows_of, key=lambda value: (value is None, value or ""))
        segments = [
            _segment(value, False, rows_of[value], analyses, scores, themes, spec)
            for value in ordered
        ]
    return ThemeTable(whole=whole, segments=tuple(segments))


def _defined(analyses: Sequence[CommentAnalysis], taxonomy: Taxonomy) -> list[_Theme]:
    """The taxonomy's themes that some comment mentions, in the taxonomy's order (themes the
    taxonomy does not know, from an older version, are kept under their key)."""
    mentions: dict[str, dict[int, Sentiment]] = {}
    phrases: dict[str, Counter[str]] = {}
    for index, analysis in enumerate(analyses):
        for mention in analysis.themes:
            mentions.setdefault(mention.theme, {})[index] = mention.sentiment
            phrases.setdefault(mention.theme, Counter())[mention.phrase] += 1
    order = {key: position for position, key in enumerate(taxonomy.keys)}
    found = []
    for key in sorted(mentions, key=lambda key: (order.get(key, len(order)), key)):
        label = taxonomy.theme(key).name if key in taxonomy else key
        top = tuple(phrase for phrase, _ in phrases[key].most_common(TOP_PHRASES))
        found.append(_Theme(key, label, "defined", top, mentions[key]))
    return found


def _discovered(
    analyses: Sequence[CommentAnalysis],
    taxonomy: Taxonomy,
    taken: set[str],
    max_themes: int,
    min_docs: int,
) -> list[_Theme]:
    from cxpulse.text.discovery import discover_themes
    from cxpulse.text.lemmas import content_lemmas

    docs = [
        content_lemmas(without_placeholders(analysis.redacted), analysis.language)
        if analysis.language is not None and analysis.redacted
        else ()
        for analysis in analyses
    ]
    languages = {analysis.language for analysis in analyses if analysis.language is not None}
    exclude = _taxonomy_phrases(taxonomy, languages)
    found = []
    for theme in discover_themes(docs, max_themes=max_themes, min_docs=min_docs, exclude=exclude):
        key = theme.key
        while key in taken:  # a discovered label may slug to a defined theme's key
            key = f"{key}-discovered"
        taken.add(key)
        members = {index: analyses[index].sentiment for index in theme.members}
        found.append(_Theme(key, theme.label, "discovered", theme.top_phrases, members))
    return found


def _taxonomy_phrases(taxonomy: Taxonomy, languages: set[str]) -> set[str]:
    """The defined themes' phrases as content lemmas ("late delivery"), in the comments'
    languages: what discovery leaves out, so that it spends its themes on the rest."""
    from cxpulse.text.lemmas import content_lemmas

    phrases = set()
    for theme in taxonomy.themes:
        for language in languages:
            for phrase in theme.phrases_in(language):
                lemmas = content_lemmas(phrase, language)
                if lemmas:
                    phrases.add(" ".join(lemmas))
    return phrases


def _segment(
    value: str | None,
    whole: bool,
    rows: Sequence[int],
    analyses: Sequence[CommentAnalysis],
    scores: Sequence[float | None],
    themes: Sequence[_Theme],
    spec: MetricSpec,
) -> SegmentThemes:
    inside = set(rows) if not whole else None
    everyone = Histogram.from_values(
        given for index in rows if (given := scores[index]) is not None
    )
    overall = score(everyone, spec)
    comments = sum(1 for index in rows if analyses[index].redacted)
    found = []
    for theme in themes:
        mentioned = [index for index in theme.mentions if inside is None or index in inside]
        if not mentioned:
            continue
        scored = Histogram.from_values(
            given for index in mentioned if (given := scores[index]) is not None
        )
        figures = theme_impact(
            theme.key,
            everyone,
            scored,
            spec,
            comments=comments,
            mentions=len(mentioned),
            overall=overall,
        )
        sentiments = Counter(theme.mentions[index].value for index in mentioned)
        row = ThemeRow(
            key=theme.key,
            label=theme.label,
            origin=theme.origin,
            top_phrases=theme.top_phrases,
            sentiments={s.value: sentiments.get(s.value, 0) for s in Sentiment},
            examples=(),
            figures=figures,
        )
        examples = _examples(theme, mentioned, analyses, row.direction)
        found.append(dataclasses.replace(row, examples=examples))
    found.sort(key=_rank)
    return SegmentThemes(
        segment=value,
        whole=whole,
        rows=len(rows),
        comments=comments,
        overall=overall,
        themes=tuple(found),
    )


def _rank(row: ThemeRow) -> tuple[bool, float, int, str]:
    """Costs first, the largest loss first, then what moves nothing, then wins, the largest
    last (for DSAT the other way round: more dissatisfied answers cost); undefined impacts
    last; ties by mentions, then key."""
    effect = row.figures.effect
    return (math.isnan(effect), 0.0 if math.isnan(effect) else effect, -row.mentions, row.key)


def _examples(
    theme: _Theme,
    mentioned: Sequence[int],
    analyses: Sequence[CommentAnalysis],
    direction: Direction,
) -> tuple[str, ...]:
    """Comments that explain the impact first (negative mentions of a theme that costs,
    positive ones of a theme that wins), short ones before long ones, then in file order;
    each text once."""
    wanted = {"costs": Sentiment.NEGATIVE, "wins": Sentiment.POSITIVE}.get(direction)

    def order(index: int) -> tuple[bool, bool, int]:
        text = analyses[index].redacted
        return (theme.mentions[index] is not wanted, len(text) > LONG_EXAMPLE, index)

    shown: list[str] = []
    for index in sorted(mentioned, key=order):
        text = analyses[index].redacted
        if text and text not in shown:
            shown.append(text)
        if len(shown) == EXAMPLES:
            break
    return tuple(shown)
