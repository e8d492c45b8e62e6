"""The sentiment of a comment and of each of its clauses, from the most trusted source.

1. A scored comment takes the sentiment of its score band (:func:`band_sentiment`): the
   customer said how they felt, no model can know better.
2. Otherwise the organisation's :class:`~cxpulse.text.sentiment_model.SentimentModel` for the
   comment's language, when it has one and is confident.
3. Otherwise the team's lexicon (:mod:`cxpulse.text.sentiment_lexicon`).
4. Otherwise ``unknown``.

Sentiment per theme mention is the sentiment of the clause that names the theme
(:func:`clause_sentiment`): "fast delivery but rude support" is split by
:func:`~cxpulse.text.lemmas.clauses` into "fast delivery" (positive, for delivery) and "rude
support" (negative, for staff).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cxpulse.metrics.scales import Thresholds
from cxpulse.text.comments import Sentiment, SentimentSource
from cxpulse.text.lemmas import lemmatise
from cxpulse.text.sentiment_lexicon import lexicon_sentiment, lexicon_votes
from cxpulse.text.sentiment_model import (
    MIN_EXAMPLES_PER_SIDE,
    UNSURE_BAND,
    SentimentModel,
    train_models,
)

__all__ = [
    "MIN_EXAMPLES_PER_SIDE",
    "UNSURE_BAND",
    "SentimentModel",
    "band_sentiment",
    "clause_sentiment",
    "clause_sentiments",
    "lexicon_sentiment",
    "lexicon_votes",
    "train_models",
]


def band_sentiment(score: float, thresholds: Thresholds) -> Sentiment:
    """Positive in the top band (``score >= top_min``), negative in the bottom band
    (``score <= bottom_max``), neutral in between: a promoter's comment is positive, a
    detractor's negative, a passive's neutral."""
    if math.isnan(score):
        raise ValueError("a score of NaN has no band")
    if score >= thresholds.top_min:
        return Sentiment.POSITIVE
    if score <= thresholds.bottom_max:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def clause_sentiments(
    clauses: Sequence[str | Sequence[str]],
    language: str | None,
    model: SentimentModel | None,
) -> list[tuple[Sentiment, SentimentSource | None]]:
    """:func:`clause_sentiment` for many clauses of one language: the model reads them in one
    batch, which is what makes 100,000 comments affordable."""
    if language is None:
        return [(Sentiment.UNKNOWN, None)] * len(clauses)
    texts = [clause if isinstance(clause, str) else " ".join(clause) for clause in clauses]
    predicted = (
        model.predict(texts, language)
        if model is not None and model.language == language and texts
        else [Sentiment.UNKNOWN] * len(texts)
    )
    result: list[tuple[Sentiment, SentimentSource | None]] = []
    for clause, text, by_model in zip(clauses, texts, predicted, strict=True):
        if by_model is not Sentiment.UNKNOWN:
            result.append((by_model, SentimentSource.MODEL))
            continue
        lemmas = lemmatise(text, language) if isinstance(clause, str) else tuple(clause)
        by_words = lexicon_sentiment(lemmas, language)
        if by_words is Sentiment.UNKNOWN:
            result.append((Sentiment.UNKNOWN, None))
        else:
            result.append((by_words, SentimentSource.LEXICON))
    return result


def clause_sentiment(
    clause: str | Sequence[str],
    language: str | None,
    model: SentimentModel | None = None,
) -> tuple[Sentiment, SentimentSource | None]:
    """The sentiment of one clause (or of a whole unscored comment) and where it came from:
    the model when it is confident, else the lexicon, else ``(UNKNOWN, None)``.

    ``clause`` is its text or its lemmas (from :func:`~cxpulse.text.lemmas.lemmatise`); the
    model reads lemmas joined by spaces, which costs it a little accuracy, so pass the text
    when you have it. A model of another language is not asked.
    """
    return clause_sentiments([clause], language, model)[0]
