"""What the text stage says about one comment: the shared vocabulary of its modules.

Kept apart from the analysis itself so that the store, the worker, the API and the pages can
name these values without loading the language models.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

LANGUAGES: tuple[str, ...] = ("en", "sv", "nl", "mk", "de", "fr", "es", "pt")
"""The languages the text stage analyses (ISO 639-1): lemmas, stopwords, the starter
taxonomy's phrases and the sentiment lexicon exist for each."""


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"
    UNKNOWN = "unknown"


class SentimentSource(StrEnum):
    SCORE = "score"
    """The answer's own score band (detractor, passive, promoter ...)."""
    MODEL = "model"
    """A classifier trained on the organisation's own scored comments in that language."""
    LEXICON = "lexicon"
    """The team's small list of customer-experience words per language."""


@dataclass(frozen=True)
class ThemeMention:
    """One theme found in one comment, with the sentiment of the clause that names it."""

    theme: str
    """The theme's key (``delivery``, ``staff-friendliness`` ... or an organisation's own)."""
    sentiment: Sentiment
    phrase: str
    """The taxonomy phrase (or discovered phrase) that matched, in the comment's language."""


@dataclass(frozen=True)
class CommentAnalysis:
    language: str | None
    """ISO 639-1 code, or ``None`` when the comment has no letters to go by."""
    sentiment: Sentiment
    sentiment_source: SentimentSource | None
    """``None`` exactly when the sentiment is ``unknown``."""
    themes: tuple[ThemeMention, ...]
    redacted: str
    """The comment with personal data replaced (``[email]``, ``[phone]`` ...)."""
