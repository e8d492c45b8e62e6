"""Language detection: the eight languages, the hint rule for short texts, batches."""

from __future__ import annotations

import pytest

from cxpulse.text import languages
from cxpulse.text.comments import LANGUAGES
from cxpulse.text.languages import (
    detect_language,
    detect_languages,
    hint_language,
)

# Comments of 20 characters or more, written for this test in the style of survey answers.
COMMENTS: dict[str, tuple[str, ...]] = {
    "en": (
        "Fast delivery but the support agent was rude to me",
        "I never received my order and nobody answers the phone",
        "The app keeps crashing when I try to pay",
        "Great price, will definitely buy again",
    ),
    "sv": (
        "Leveransen var sen och kundtjänsten var otrevlig",
        "Jag har fortfarande inte fått mina pengar tillbaka",
        "Mycket bra service, snabb leverans",
        "Appen fungerar inte när jag ska betala",
    ),
    "nl": (
        "De bezorging was snel maar de klantenservice was onbeleefd",
        "Ik heb mijn bestelling nooit ontvangen",
        "Goede prijs en vriendelijke medewerkers",
        "De factuur klopt niet, te veel betaald",
    ),
    "mk": (
        "Испораката доцнеше, но персоналот беше љубезен",
        "Не ја добив нарачката ниту после две недели",
        "Многу добра услуга и брза достава",
    ),
    "de": (
        "Die Lieferung war schnell, aber der Support war unfreundlich",
        "Ich habe meine Bestellung nie bekommen",
        "Die Rechnung stimmt nicht, bitte korrigieren",
        "Sehr freundliche Mitarbeiter und gute Beratung",
    ),
    "fr": (
        "Livraison rapide mais service client désagréable",
        "Je n'ai jamais reçu ma commande",
        "Le remboursement a pris trois semaines",
        "Très bon produit, je recommande vivement",
    ),
    "es": (
        "La entrega fue rápida pero el soporte fue grosero",
        "Nunca recibí mi pedido y nadie contesta",
        "El precio es demasiado alto para la calidad",
        "Muy buena atención, volveré a comprar",
    ),
    "pt": (
        "O produto chegou rápido mas veio quebrado",
        "Não recebi o pedido até agora",
        "Entregou dentro do prazo, recomendo a loja",
        "Atendimento péssimo, ninguém responde os e-mails",
    ),
}


@pytest.mark.parametrize(
    ("language", "text"),
    [(language, text) for language, texts in COMMENTS.items() for text in texts],
)
def test_each_language_is_recognised(language: str, text: str) -> None:
    assert detect_language(text) == language


def test_a_batch_gives_the_same_answers_in_input_order() -> None:
    texts = [text for texts in COMMENTS.values() for text in texts]
    expected = [language for language, group in COMMENTS.items() for _ in group]
    # Duplicates and hints that a long text ignores must not disturb the order.
    texts += texts[:3]
    expected += expected[:3]
    hints = ["de"] * len(texts)
    assert detect_languages(texts, hints) == expected


def test_text_without_letters_has_no_language() -> None:
    assert detect_languages(["", "  ", "12345", ":-) !!", "€19.99"], ["en"] * 5) == [None] * 5


def test_every_answer_is_one_of_the_eight() -> None:
    texts = ["Ciao, grazie mille per tutto", "Dziękuję bardzo", "hmm", "xyz qwv", "ok ok"]
    for found in detect_languages(texts, [None] * len(texts)):
        assert found is None or found in LANGUAGES


def test_the_hint_wins_for_short_ambiguous_text() -> None:
    # Each of these is under 20 letters and exists in several of the eight languages.
    assert detect_language("ok", "sv-SE") == "sv"
    assert detect_language("super!", "de") == "de"
    assert detect_language("Danke", "nl") == "nl"
    assert detect_language("top", "pt-BR") == "pt"


def test_the_detector_overrules_the_hint_when_confident() -> None:
    # Cyrillic script can only be Macedonian among the eight.
    assert detect_language("Благодарам", "en") == "mk"
    # Portuguese with confidence 0.95, above the threshold of 0.8.
    assert detect_language("muito bom", "es") == "pt"
    assert detect_language("merci beaucoup", "de-CH") == "fr"
    # "Gracias" is Spanish with confidence 0.71 only (Portuguese 0.25): the hint stays.
    assert detect_language("Gracias", "pt") == "pt"
    # Without a hint the detector's best guess is taken.
    assert detect_language("Gracias") == "es"


def test_the_threshold_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(languages, "OVERRIDE_CONFIDENCE", 0.7)
    assert detect_language("Gracias", "pt") == "es"
    monkeypatch.setattr(languages, "OVERRIDE_CONFIDENCE", 0.72)
    assert detect_language("Gracias", "pt") == "pt"


def test_a_text_of_enough_letters_is_not_short(monkeypatch: pytest.MonkeyPatch) -> None:
    assert languages.SHORT_TEXT_LETTERS == 20
    # "Gracias" has 7 letters: short, so the Portuguese hint stands ...
    assert detect_language("Gracias!", "pt") == "pt"
    # ... and once 7 letters are enough, the detector's answer is taken whatever the hint.
    monkeypatch.setattr(languages, "SHORT_TEXT_LETTERS", 7)
    assert detect_language("Gracias!", "pt") == "es"


def test_long_text_ignores_the_hint() -> None:
    assert detect_language("I never received my order and nobody answers", "sv") == "en"


def test_unknown_hint_is_ignored() -> None:
    assert hint_language("it-IT") is None
    assert hint_language("") is None
    assert hint_language(None) is None
    assert hint_language("pt-BR") == "pt"
    assert hint_language("sv_SE") == "sv"
    assert hint_language(" MK ") == "mk"
    # Without a usable hint a short text still gets lingua's best guess among the eight.
    assert detect_language("Merci beaucoup", "it") in LANGUAGES


def test_hints_must_run_alongside_texts() -> None:
    with pytest.raises(ValueError, match="one hint"):
        detect_languages(["a", "b"], [None])
