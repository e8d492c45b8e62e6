"""Themes nobody defined, found in one survey's comments of one period.

The taxonomy finds what the organisation already looks for; this finds the rest, for the
"discovered themes" page and ``GET /api/v1/surveys/{id}/themes/discovered``:

1. read the period's analysed comments, newest first, at most ``MAX_COMMENTS`` of them (the
   page says when the period holds more), redacted, each with the language the analysis
   found (``store.theme_reads``);
2. per language, turn each comment into its content lemmas (``text.lemmas``) and take out
   the words of the organisation's defined themes in that language, so that discovery spends
   itself on what the taxonomy does not name yet;
3. ``text.discovery.discover_themes`` per language: groups of comments that share phrases,
   labelled by their top phrases;
4. for each theme: its language, label, top phrases, size and share of the language's
   comments read, the mean score of its answers and a few example comments (the newest).

Languages are kept apart because lemmas are: "entrega" and "delivery" share nothing, and a
promoted theme gets its phrases in its own language. A language needs ``min_docs`` comments
(at least ``MIN_DOCS``, and ``MIN_SHARE`` of the language's comments) to yield a theme.

Cost: the lemmas (cached per word) and one NMF per language; about a second for 20,000
comments on two cores, which is why the number read is capped.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from cxpulse.report.filters_url import Window
from cxpulse.store import text_themes, theme_reads
from cxpulse.store.errors import Invalid
from cxpulse.store.rollups import latest_day
from cxpulse.store.theme_reads import PeriodComment
from cxpulse.text.comments import LANGUAGES
from cxpulse.text.discovery import discover_themes
from cxpulse.text.lemmas import content_lemmas

MAX_COMMENTS = 20_000
"""Comments read per discovery, the newest of the period first."""
DEFAULT_DAYS = 90
"""Period discovered when none is given: the 90 days up to the survey's latest answer."""
MAX_THEMES_PER_LANGUAGE = 8
MIN_DOCS = 5
MIN_SHARE = 0.005
"""A theme holds at least this share of its language's comments read (and ``MIN_DOCS``)."""
EXAMPLES = 3


@dataclass(frozen=True)
class Example:
    response_id: int
    submitted_at: datetime
    score: float
    text: str
    """The redacted comment."""


@dataclass(frozen=True)
class FoundTheme:
    language: str
    key: str
    """Slug of the label, unique within its language."""
    label: str
    top_phrases: tuple[str, ...]
    """Lemmatised phrases, heaviest first: what a promoted theme matches on."""
    size: int
    """Comments in the theme."""
    share: float
    """``size`` as a percent of the comments read in its language."""
    mean_score: float
    """Mean answer of its comments, on the survey's scale."""
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Discovery:
    window: Window
    analysed: int
    """Analysed comments in the period."""
    read: int
    """Of those, read (the newest ``cap``)."""
    cap: int
    waiting: int
    """Comments of the period the worker has not analysed yet (not read)."""
    languages: dict[str, int]
    """Comments read per language (``"?"``: no language found)."""
    language: str | None
    """The one language whose themes were looked for; None: every language."""
    mean_score: float | None
    """Mean answer of the comments read."""
    themes: list[FoundTheme]
    """Largest first."""

    @property
    def capped(self) -> bool:
        return self.read < self.analysed


def default_window(session: Session, organisation_id: int, survey_id: int, today: date) -> Window:
    """The ``DEFAULT_DAYS`` days up to the survey's latest answer (today when it has none)."""
    last = latest_day(session, organisation_id, survey_id) or today
    last = min(last, today + timedelta(days=1))
    end = last + timedelta(days=1)
    return Window(end - timedelta(days=DEFAULT_DAYS), end)


def period_window(
    session: Session,
    organisation_id: int,
    survey_id: int,
    start: date | None,
    to: date | None,
    today: date,
) -> Window:
    """The days from ``start`` to ``to`` (both inclusive) for the API and the page alike: a
    missing ``to`` is the survey's latest answer (or ``start``, if later), a missing
    ``start`` ``DEFAULT_DAYS`` before ``to``. Invalid on ``to`` when it is before ``start``."""
    if start is not None and to is not None and start > to:
        raise Invalid("to", "is before from")
    if to is None:
        end = default_window(session, organisation_id, survey_id, today).end
        if start is not None:
            end = max(end, start + timedelta(days=1))
    else:
        end = to + timedelta(days=1)
    return Window(start or end - timedelta(days=DEFAULT_DAYS), end)


def discover(
    session: Session,
    organisation_id: int,
    survey_id: int,
    window: Window,
    *,
    language: str | None = None,
    cap: int = MAX_COMMENTS,
) -> Discovery:
    """The discovered themes of the survey's comments in ``window`` (of one ``language``
    only, when given: the others are counted, not grouped); NotFound for another
    organisation's survey."""
    counts = theme_reads.period_counts(
        session, organisation_id, survey_id, window.start, window.end
    )
    comments = theme_reads.period_comments(
        session, organisation_id, survey_id, window.start, window.end, limit=cap
    )
    by_language: dict[str, list[PeriodComment]] = defaultdict(list)
    for comment in comments:
        by_language[comment.language or "?"].append(comment)
    wanted = {code for code in by_language if code in LANGUAGES and language in (None, code)}
    exclusions = _exclusions(session, organisation_id, wanted)
    themes: list[FoundTheme] = []
    for code in sorted(wanted):
        themes += discover_language(code, by_language[code], exclusions.get(code, ()))
    themes.sort(key=lambda theme: (-theme.size, theme.language, theme.key))
    return Discovery(
        window=window,
        analysed=counts.analysed,
        read=len(comments),
        cap=cap,
        waiting=counts.waiting,
        languages={code: len(found) for code, found in sorted(by_language.items())},
        language=language,
        mean_score=_mean([comment.score for comment in comments]),
        themes=themes,
    )


def discover_language(
    language: str, comments: Sequence[PeriodComment], exclude: Sequence[str] = ()
) -> list[FoundTheme]:
    """The themes of ``comments`` (all in ``language``, newest first), leaving out the
    lemmas and lemma phrases of ``exclude``."""
    min_docs = max(MIN_DOCS, math.ceil(MIN_SHARE * len(comments)))
    docs = [content_lemmas(comment.text, language) for comment in comments]
    # scikit-learn's NMF takes the square root of its reconstruction error, which rounding
    # can leave a hair below zero on small inputs: a warning about a number nobody reads.
    with np.errstate(invalid="ignore"):
        found = discover_themes(
            docs, max_themes=MAX_THEMES_PER_LANGUAGE, min_docs=min_docs, exclude=exclude
        )
    themes = []
    for theme in found:
        members = [comments[index] for index in theme.members]
        themes.append(
            FoundTheme(
                language=language,
                key=theme.key,
                label=theme.label,
                top_phrases=theme.top_phrases,
                size=theme.size,
                share=theme.size / len(comments) * 100,
                mean_score=_mean([member.score for member in members]) or 0.0,
                examples=tuple(
                    Example(m.response_id, m.submitted_at, m.score, m.text)
                    for m in members[:EXAMPLES]
                ),
            )
        )
    return themes


def _exclusions(
    session: Session, organisation_id: int, languages: set[str]
) -> dict[str, tuple[str, ...]]:
    """Per language of ``languages``, the content lemmas of the defined themes' phrases, each
    phrase as one space-separated entry ("arrived late" -> "arrive late"). Only the languages
    asked for: each language's lemmatiser takes a second or two to load the first time."""
    found: dict[str, set[str]] = defaultdict(set)
    for theme in text_themes.active_taxonomy(session, organisation_id):
        for language, phrases in theme.phrases.items():
            if language not in LANGUAGES or language not in languages:
                continue
            for phrase in phrases:
                lemmas = content_lemmas(phrase, language)
                if lemmas:
                    found[language].add(" ".join(lemmas))
    return {language: tuple(sorted(entries)) for language, entries in found.items()}


def _mean(scores: Sequence[float]) -> float | None:
    return math.fsum(scores) / len(scores) if scores else None
