"""The comment pipeline end to end, on the real detectors, lemmatiser, taxonomy and models."""

from __future__ import annotations

import random

import pytest

from cxpulse.text.analysis import CommentInput, analyse, learn_and_analyse, prepare
from cxpulse.text.comments import Sentiment, SentimentSource
from cxpulse.text.taxonomy import starter_taxonomy
from cxpulse.text.theme_matching import ThemeMatcher


@pytest.fixture(scope="module")
def matcher() -> ThemeMatcher:
    return ThemeMatcher(starter_taxonomy())


def _themes(analysis: object) -> dict[str, Sentiment]:
    return {mention.theme: mention.sentiment for mention in analysis.themes}  # type: ignore[attr-defined]


def test_each_mention_takes_the_sentiment_of_its_own_clause(matcher: ThemeMatcher) -> None:
    english, swedish = analyse(
        [
            CommentInput("Fast delivery but rude support."),
            CommentInput("Leveransen var snabb men personalen var otrevlig"),
        ],
        matcher=matcher,
        models={},
    )
    assert english.language == "en"
    assert _themes(english)["delivery"] is Sentiment.POSITIVE
    assert _themes(english)["staff-friendliness"] is Sentiment.NEGATIVE
    assert swedish.language == "sv"
    assert _themes(swedish)["delivery"] is Sentiment.POSITIVE
    assert _themes(swedish)["staff-friendliness"] is Sentiment.NEGATIVE


def test_a_scored_comment_takes_its_band_and_lends_it_to_silent_clauses(
    matcher: ThemeMatcher,
) -> None:
    (result,) = analyse(
        [CommentInput("A entrega levou 20 dias", Sentiment.NEGATIVE, "pt-BR")],
        matcher=matcher,
        models={},
    )
    assert (result.language, result.sentiment) == ("pt", Sentiment.NEGATIVE)
    assert result.sentiment_source is SentimentSource.SCORE
    assert _themes(result)["delivery"] is Sentiment.NEGATIVE


def test_personal_data_is_redacted_and_never_read_as_words(matcher: ThemeMatcher) -> None:
    (result,) = analyse(
        [CommentInput("Great product, write to me at anna.berg@example.com")],
        matcher=matcher,
        models={},
    )
    assert "anna.berg" not in result.redacted
    assert "[email]" in result.redacted
    # "[email]" must not make the comment about communication by e-mail.
    assert "communication" not in _themes(result)


def test_an_unscored_comment_without_clues_is_unknown_not_guessed(
    matcher: ThemeMatcher,
) -> None:
    (result,) = analyse([CommentInput("I bought a lamp on Tuesday")], matcher=matcher, models={})
    assert result.sentiment is Sentiment.UNKNOWN
    assert result.sentiment_source is None
    empty = analyse([CommentInput("   ")], matcher=matcher, models={})[0]
    assert (empty.language, empty.sentiment, empty.themes) == (None, Sentiment.UNKNOWN, ())


def _scored_corpus(count: int, seed: int) -> list[CommentInput]:
    rng = random.Random(seed)
    good = ["superb", "lovely", "splendid", "wonderful", "marvellous"]
    bad = ["dreadful", "awful", "horrid", "terrible", "appalling"]
    nouns = ["parcel", "courier", "jacket", "invoice", "packaging", "shop"]
    comments = []
    for index in range(count):
        positive = index % 2 == 0
        word = rng.choice(good if positive else bad)
        text = f"the {rng.choice(nouns)} was {word} and the {rng.choice(nouns)} too"
        comments.append(
            CommentInput(text, Sentiment.POSITIVE if positive else Sentiment.NEGATIVE, "en")
        )
    return comments


def test_scored_comments_teach_the_model_that_labels_the_unscored(
    matcher: ThemeMatcher,
) -> None:
    scored = _scored_corpus(200, seed=3)
    unscored = [
        CommentInput("the jacket was splendid and the courier too", None, "en"),
        CommentInput("the invoice was appalling and the shop too", None, "en"),
    ]
    results, models = learn_and_analyse([*scored, *unscored], matcher=matcher)
    assert set(models) == {"en"}
    assert [r.sentiment for r in results[-2:]] == [Sentiment.POSITIVE, Sentiment.NEGATIVE]
    assert {r.sentiment_source for r in results[-2:]} == {SentimentSource.MODEL}
    assert all(r.sentiment_source is SentimentSource.SCORE for r in results[:-2])


def test_too_few_scored_comments_teach_nothing_and_the_lexicon_answers(
    matcher: ThemeMatcher,
) -> None:
    results, models = learn_and_analyse(
        [*_scored_corpus(10, seed=4), CommentInput("the staff were rude", None, "en")],
        matcher=matcher,
    )
    assert models == {}
    assert results[-1].sentiment is Sentiment.NEGATIVE
    assert results[-1].sentiment_source is SentimentSource.LEXICON


def test_prepare_keeps_the_input_order_and_uses_the_hint_for_short_texts() -> None:
    prepared = prepare(
        [CommentInput("ok", None, "sv"), CommentInput("Die Lieferung kam viel zu spät")]
    )
    assert prepared.languages == ["sv", "de"]
    assert prepared.training_examples() == []
