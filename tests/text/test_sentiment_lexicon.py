"""The team's sentiment lexicon: its data file, negation in each language, ties and phrases."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.text.comments import LANGUAGES, Sentiment
from cxpulse.text.lemmas import NEGATIONS, lemmatise
from cxpulse.text.sentiment_lexicon import (
    NEGATION_WINDOW,
    lexicon,
    lexicon_sentiment,
    lexicon_votes,
)


def _data() -> dict[str, dict[str, list[str]]]:
    text = resources.files("cxpulse.text").joinpath("data", "sentiment_lexicon.json").read_text()
    languages: dict[str, dict[str, list[str]]] = json.loads(text)["languages"]
    return languages


def _says(text: str, language: str) -> Sentiment:
    return lexicon_sentiment(lemmatise(text, language), language)


def test_the_file_covers_the_eight_languages_with_enough_words_per_side() -> None:
    data = _data()
    assert sorted(data) == sorted(LANGUAGES)
    for language, entries in data.items():
        assert 60 <= len(entries["positive"]) <= 150, language
        assert 60 <= len(entries["negative"]) <= 150, language
        assert entries["negators"], language
        for side in ("positive", "negative", "negators"):
            written = entries[side]
            assert len(written) == len(set(written)), (language, side)
            assert all(word == " ".join(word.split()) and word for word in written)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_means_both_things_once_lemmatised(language: str) -> None:
    entries = _data()[language]
    positive = {lemmatise(word, language) for word in entries["positive"]}
    negative = {lemmatise(word, language) for word in entries["negative"]}
    assert () not in positive | negative
    assert positive & negative == set()
    loaded = lexicon(language)
    assert loaded is not None
    assert loaded.size == len(positive) + len(negative)


@pytest.mark.parametrize("language", LANGUAGES)
def test_negators_survive_lemmatisation_as_themselves(language: str) -> None:
    # lemmatise keeps the words of lemmas.NEGATIONS verbatim; a negator outside that list
    # could be lemmatised into some other word and stop negating.
    for negator in _data()[language]["negators"]:
        assert negator in NEGATIONS[language]
        assert lemmatise(negator, language) == (negator,)


NEGATION_CASES = [
    ("en", "The delivery was good", "The delivery was not good", "not bad at all"),
    ("sv", "Leveransen var bra", "Leveransen var inte bra", "inte dåligt alls"),
    ("nl", "De levering was goed", "De levering was niet goed", "geen problemen"),
    ("mk", "Испораката е добра", "Испораката не е добра", "нема проблеми"),
    ("de", "Die Lieferung war gut", "Die Lieferung war nicht gut", "keine Probleme"),
    ("fr", "La livraison est bonne", "La livraison n'est pas bonne", "pas mal du tout"),
    ("es", "La entrega fue buena", "La entrega no fue buena", "sin problemas"),
    ("pt", "A entrega foi boa", "A entrega não foi boa", "sem problemas"),
]


@pytest.mark.parametrize(("language", "plain", "negated", "negated_negative"), NEGATION_CASES)
def test_a_negator_turns_the_next_words_around_in_each_language(
    language: str, plain: str, negated: str, negated_negative: str
) -> None:
    assert _says(plain, language) is Sentiment.POSITIVE
    assert _says(negated, language) is Sentiment.NEGATIVE
    assert _says(negated_negative, language) is Sentiment.POSITIVE


def test_negation_reaches_only_the_next_few_words() -> None:
    assert NEGATION_WINDOW == 3
    assert _says("not very good", "en") is Sentiment.NEGATIVE
    # "good" is the fifth word after "not": outside the window.
    assert _says("not sure what to say, good", "en") is Sentiment.POSITIVE
    # Two negators in a row do not cancel out: "ne ... pas" is one negation.
    assert _says("ce n'est vraiment pas bon", "fr") is Sentiment.NEGATIVE


def test_no_hit_a_tie_or_another_language_is_unknown() -> None:
    assert _says("I ordered a chair on Tuesday", "en") is Sentiment.UNKNOWN
    assert _says("good but slow", "en") is Sentiment.UNKNOWN
    assert lexicon_sentiment(("good",), "it") is Sentiment.UNKNOWN
    assert lexicon_sentiment((), "en") is Sentiment.UNKNOWN
    assert lexicon("it") is None


def test_the_majority_decides_and_a_phrase_is_one_vote() -> None:
    assert lexicon_votes(lemmatise("friendly, helpful staff but a slow website", "en"), "en") == (
        2,
        1,
    )
    assert _says("friendly, helpful staff but a slow website", "en") is Sentiment.POSITIVE
    # "on time" is a phrase; "time" alone is not a word of the lexicon.
    assert lexicon_votes(lemmatise("it came on time", "en"), "en") == (1, 0)
    assert lexicon_votes(lemmatise("the time it took", "en"), "en") == (0, 0)
    # A phrase holding its own negator counts once and negates nothing after it.
    assert lexicon_votes(lemmatise("não recebi o produto bom", "pt"), "pt") == (1, 1)


def test_inflected_forms_meet_the_written_word_at_its_lemma() -> None:
    assert _says("Leveransen blev försenad", "sv") is Sentiment.NEGATIVE
    assert _says("Die Ware kam beschädigt an", "de") is Sentiment.NEGATIVE
    assert _says("Atendentes muito atenciosas", "pt") is Sentiment.POSITIVE
    assert _says("Персоналот беше љубезен", "mk") is Sentiment.POSITIVE


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(["good", "bad", "not", "slow", "the", "never", "fast"])),
)
def test_votes_never_exceed_the_words_and_negating_swaps_them(words: list[str]) -> None:
    positive, negative = lexicon_votes(tuple(words), "en")
    assert positive + negative <= len(words)
    sentiment = lexicon_sentiment(tuple(words), "en")
    if positive == negative:
        assert sentiment is Sentiment.UNKNOWN
    else:
        assert (sentiment is Sentiment.POSITIVE) == (positive > negative)
