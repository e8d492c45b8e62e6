"""The per-language sentiment model, trained on generated comments in English and Swedish."""

from __future__ import annotations

import io
import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.text.comments import Sentiment
from cxpulse.text.sentiment_model import (
    MIN_EXAMPLES_PER_SIDE,
    UNSURE_BAND,
    SentimentModel,
    train_models,
)

POS, NEG, NEU = Sentiment.POSITIVE, Sentiment.NEGATIVE, Sentiment.NEUTRAL

WORDS: dict[str, dict[str, list[str]]] = {
    "en": {
        "subjects": ["the delivery", "the support", "the staff", "the app", "the website",
                     "the order", "the driver", "the checkout", "the refund", "the packaging"],
        "positive": ["fast", "friendly", "helpful", "great", "excellent", "easy", "quick",
                     "polite", "clear", "reliable"],
        "negative": ["slow", "rude", "broken", "late", "terrible", "confusing", "useless",
                     "unhelpful", "expensive", "awful"],
        "templates": ["{s} was {a}", "{s} is really {a}", "I found {s} {a}",
                      "honestly {s} was {a} this time", "{a}, that is what {s} was"],
        "negated": ["{s} was not {a}"],
    },
    "sv": {
        "subjects": ["leveransen", "kundtjänsten", "personalen", "appen", "webbplatsen",
                     "beställningen", "chauffören", "kassan"],
        "positive": ["snabb", "trevlig", "hjälpsam", "bra", "utmärkt", "enkel", "tydlig",
                     "pålitlig"],
        "negative": ["långsam", "otrevlig", "trasig", "försenad", "dålig", "krånglig",
                     "värdelös", "dyr"],
        "templates": ["{s} var {a}", "{s} är verkligen {a}", "jag tyckte {s} var {a}",
                      "ärligt talat var {s} {a} den här gången"],
        "negated": ["{s} var inte {a}"],
    },
}  # fmt: skip


def generate(language: str, per_side: int, seed: int) -> tuple[list[str], list[Sentiment]]:
    """Comments built from templates: every subject as often on each side, so the subject
    says nothing and the adjective (or its negation) says everything."""
    words = WORDS[language]
    rng = random.Random(seed)
    subjects = itertools.cycle(words["subjects"])
    texts: list[str] = []
    labels: list[Sentiment] = []
    for index in range(per_side):
        subject = next(subjects)
        template = rng.choice(words["templates"])
        texts.append(template.format(s=subject, a=rng.choice(words["positive"])))
        labels.append(POS)
        if index % 4 == 3:  # a quarter of the complaints are a negated praise
            text = words["negated"][0].format(s=subject, a=rng.choice(words["positive"]))
        else:
            text = template.format(s=subject, a=rng.choice(words["negative"]))
        texts.append(text)
        labels.append(NEG)
    return texts, labels


@pytest.fixture(scope="module")
def english() -> SentimentModel:
    texts, labels = generate("en", 200, seed=1)
    model = SentimentModel.train("en", texts, labels)
    assert model is not None
    return model


@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_trained_model_separates_unseen_comments(language: str) -> None:
    texts, labels = generate(language, 200, seed=1)
    model = SentimentModel.train(language, texts, labels)
    assert model is not None
    assert model.language == language
    assert model.examples == (200, 200)
    held_texts, held_labels = generate(language, 100, seed=2)
    predicted = model.predict(held_texts, language)
    right = sum(p is label for p, label in zip(predicted, held_labels, strict=True))
    assert right / len(held_labels) >= 0.95


def test_negation_is_learnt(english: SentimentModel) -> None:
    assert english.predict(["the driver was not polite"]) == [NEG]
    assert english.predict(["the driver was polite"]) == [POS]


def test_it_round_trips_through_bytes_identically(english: SentimentModel) -> None:
    blob = english.to_bytes()
    restored = SentimentModel.from_bytes(blob)
    texts, _ = generate("en", 50, seed=3)
    texts += ["", "привет", "the app was not great, honestly it was late"]
    assert np.array_equal(english.probabilities(texts), restored.probabilities(texts))
    assert english.predict_with_confidence(texts) == restored.predict_with_confidence(texts)
    assert restored.to_bytes() == blob
    assert restored.examples == english.examples
    assert restored.language == "en"


def test_training_is_deterministic_and_ignores_neutral_labels() -> None:
    texts, labels = generate("en", 60, seed=4)
    first = SentimentModel.train("en", texts, labels)
    again = SentimentModel.train("en", [*texts, "the order was fine I guess"], [*labels, NEU])
    assert first is not None
    assert again is not None
    assert first.to_bytes() == again.to_bytes()


def test_no_model_below_the_minimum_of_either_side() -> None:
    texts, labels = generate("en", MIN_EXAMPLES_PER_SIDE, seed=5)
    assert SentimentModel.train("en", texts, labels) is not None
    # Drop one complaint: one side is now below the minimum.
    drop = labels.index(NEG)
    fewer_texts = texts[:drop] + texts[drop + 1 :]
    fewer_labels = labels[:drop] + labels[drop + 1 :]
    assert SentimentModel.train("en", fewer_texts, fewer_labels) is None
    # Neutral comments do not count towards the minimum.
    neutral = ["the order was okay"] * 100
    assert SentimentModel.train("en", fewer_texts + neutral, fewer_labels + [NEU] * 100) is None


def test_train_models_makes_one_model_per_language_with_enough_examples() -> None:
    en_texts, en_labels = generate("en", 80, seed=6)
    sv_texts, sv_labels = generate("sv", 20, seed=6)
    examples = [("en", t, s) for t, s in zip(en_texts, en_labels, strict=True)]
    examples += [("sv", t, s) for t, s in zip(sv_texts, sv_labels, strict=True)]
    examples += [("it", "molto bene", POS)] * 100  # not one of the eight: ignored
    models = train_models(examples)
    assert sorted(models) == ["en"]
    assert models["en"].examples == (80, 80)


def test_it_says_unknown_when_unsure(english: SentimentModel) -> None:
    # Nothing the model has seen: no word, no character pair.
    assert english.predict(["", "привет мир", "12345 !!!"]) == [Sentiment.UNKNOWN] * 3
    # Praise and blame together: some land too close to one half to call.
    words = WORDS["en"]
    mixed = [f"the order was {p} and {n}" for p in words["positive"] for n in words["negative"]]
    answers = english.predict_with_confidence(mixed)
    unsure = [confidence for sentiment, confidence in answers if sentiment is Sentiment.UNKNOWN]
    assert unsure
    assert all(0.5 <= confidence < 0.5 + UNSURE_BAND for confidence in unsure)
    [(sentiment, confidence)] = english.predict_with_confidence(["the checkout was rude"])
    assert sentiment is NEG
    assert confidence >= 0.9


def test_a_batch_gives_what_each_comment_gives_alone(english: SentimentModel) -> None:
    # Comments with apostrophes, empty ones and one holding the tokeniser's batch marker take
    # other paths through the batch tokeniser; the answers stay in order.
    texts = [
        "the app was fast",
        "the driver wasn't polite",
        "",
        "the support was useless",
        "zqxcxpulsebreakxqz the order was great",
        "it's the refund: awful",
        "the website was easy",
    ]
    together = english.probabilities(texts)
    alone = np.array([english.probabilities([text])[0] for text in texts])
    assert np.allclose(together, alone, rtol=0, atol=1e-12)
    assert english.predict(texts[:2] + texts[3:4]) == [POS, NEG, NEG]


def test_a_model_reads_only_its_own_language(english: SentimentModel) -> None:
    with pytest.raises(ValueError, match="cannot read sv"):
        english.predict(["leveransen var snabb"], "sv")
    assert english.predict([], "en") == []
    with pytest.raises(ValueError, match="no sentiment model"):
        SentimentModel.train("it", ["bene"], [POS])
    with pytest.raises(ValueError, match="differ in length"):
        SentimentModel.train("en", ["good"], [POS, NEG])


def test_from_bytes_refuses_anything_else(english: SentimentModel) -> None:
    for blob in (b"", b"not a model", english.to_bytes()[:100]):
        with pytest.raises(ValueError, match="not a cxpulse sentiment model"):
            SentimentModel.from_bytes(blob)
    # An archive holding a pickled object is refused, not unpickled.
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array([{"format": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a cxpulse sentiment model"):
        SentimentModel.from_bytes(buffer.getvalue())
    # Arrays that do not fit together.
    with np.load(io.BytesIO(english.to_bytes())) as archive:
        parts = {name: archive[name] for name in archive.files}
    buffer = io.BytesIO()
    np.savez(buffer, **{**parts, "weights": parts["weights"][:-1]})
    with pytest.raises(ValueError, match="inconsistent"):
        SentimentModel.from_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **{**parts, "meta": np.array(str(parts["meta"]).replace('"format": 1', '"format": 99'))},
    )
    with pytest.raises(ValueError, match="format 99"):
        SentimentModel.from_bytes(buffer.getvalue())


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(max_size=40), max_size=6))
def test_any_text_gets_one_answer(english: SentimentModel, texts: list[str]) -> None:
    answers = english.predict_with_confidence(texts)
    assert len(answers) == len(texts)
    for sentiment, confidence in answers:
        assert 0.5 <= confidence <= 1.0
        if confidence < 0.5 + UNSURE_BAND:
            assert sentiment is Sentiment.UNKNOWN
