"""Sentiment from the score band, and per clause from the model, the lexicon or neither."""

from __future__ import annotations

import math

import pytest

from cxpulse.metrics.scales import (
    ELEVEN,
    FIVE,
    SEVEN,
    THUMBS,
    Metric,
    Thresholds,
    default_thresholds,
)
from cxpulse.text.comments import Sentiment, SentimentSource
from cxpulse.text.lemmas import clauses, lemmatise
from cxpulse.text.sentiment import (
    SentimentModel,
    band_sentiment,
    clause_sentiment,
    clause_sentiments,
)

POS, NEG, NEU, UNK = Sentiment.POSITIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.UNKNOWN
MODEL, LEXICON = SentimentSource.MODEL, SentimentSource.LEXICON


@pytest.mark.parametrize(
    ("thresholds", "score", "expected"),
    [
        (default_thresholds(Metric.NPS, ELEVEN), 10, POS),
        (default_thresholds(Metric.NPS, ELEVEN), 9, POS),
        (default_thresholds(Metric.NPS, ELEVEN), 8, NEU),
        (default_thresholds(Metric.NPS, ELEVEN), 7, NEU),
        (default_thresholds(Metric.NPS, ELEVEN), 6, NEG),
        (default_thresholds(Metric.NPS, ELEVEN), 0, NEG),
        (default_thresholds(Metric.CSAT, FIVE), 5, POS),
        (default_thresholds(Metric.CSAT, FIVE), 4, POS),
        (default_thresholds(Metric.CSAT, FIVE), 3, NEU),
        (default_thresholds(Metric.CSAT, FIVE), 2, NEG),
        (default_thresholds(Metric.CES, SEVEN), 4, NEU),
        (default_thresholds(Metric.CSAT, THUMBS), 1, POS),
        (default_thresholds(Metric.CSAT, THUMBS), 0, NEG),
        (Thresholds(top_min=4.5, bottom_max=2.5), 4.4, NEU),
        (Thresholds(top_min=4.5, bottom_max=2.5), 2.5, NEG),
    ],
)
def test_band_sentiment(thresholds: Thresholds, score: float, expected: Sentiment) -> None:
    assert band_sentiment(score, thresholds) is expected


def test_a_score_of_nan_has_no_band() -> None:
    with pytest.raises(ValueError, match="NaN"):
        band_sentiment(math.nan, Thresholds(top_min=4, bottom_max=2))


MIXED = [
    ("en", "Fast delivery but rude support"),
    ("sv", "Snabb leverans men otrevlig kundtjänst"),
    ("nl", "Snelle levering maar onvriendelijke klantenservice"),
    ("mk", "Брза испорака но груба поддршка"),
    ("de", "Schnelle Lieferung, aber unfreundlicher Kundendienst"),
    ("fr", "Livraison rapide mais service client impoli"),
    ("es", "Entrega rápida pero atención grosera"),
    ("pt", "Entrega rápida mas atendimento grosseiro"),
]


@pytest.mark.parametrize(("language", "comment"), MIXED)
def test_each_clause_keeps_its_own_sentiment_with_the_lexicon_alone(
    language: str, comment: str
) -> None:
    delivery, support = clauses(comment, language)
    assert clause_sentiment(delivery, language) == (POS, LEXICON)
    assert clause_sentiment(support, language) == (NEG, LEXICON)
    # The same from lemmas, as the pipeline has them.
    assert clause_sentiment(lemmatise(support, language), language) == (NEG, LEXICON)


def test_no_hit_or_no_language_is_unknown_without_a_source() -> None:
    assert clause_sentiment("I ordered a lamp", "en") == (UNK, None)
    assert clause_sentiment("fast", None) == (UNK, None)
    assert clause_sentiments(["fast", "slow"], None, None) == [(UNK, None)] * 2
    assert clause_sentiments([], "en", None) == []


def _model() -> SentimentModel:
    # A small organisation's history: "sorted" praised, "meh" blamed; neither is in the
    # lexicon, so what the model says can be told from what the lexicon says.
    positive = [f"order {n} was sorted quickly, thanks" for n in range(40)]
    negative = [f"order {n} was meh, the parcel box meh" for n in range(40)]
    model = SentimentModel.train("en", positive + negative, [POS] * 40 + [NEG] * 40)
    assert model is not None
    return model


def test_the_model_speaks_first_when_it_is_confident() -> None:
    model = _model()
    assert clause_sentiment("all sorted", "en", model) == (POS, MODEL)
    assert clause_sentiment("meh", "en", model) == (NEG, MODEL)
    # What the model has never seen falls through to the lexicon, then to unknown.
    assert clause_sentiment("чудесно", "en", model) == (UNK, None)
    assert clause_sentiments(["пътят", "ОК"], "en", model) == [(UNK, None)] * 2


def test_a_model_of_another_language_is_not_asked() -> None:
    model = _model()
    assert clause_sentiment("sorted", "sv", model) == (UNK, None)
    assert clause_sentiment("Snabb leverans", "sv", model) == (POS, LEXICON)
