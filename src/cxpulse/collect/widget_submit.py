"""What the embeddable widget shows and what it may send, apart from HTTP.

- ``widget_config``: the JSON the script fetches to draw its prompt (question in the shown
  language, scale values, anchor labels, presentation, interface texts);
- ``parse_answer``: the body of a widget answer checked field by field, every problem
  named, so that the route can answer 422 listing them all;
- ``page_address``: the page an answer came from, without query and fragment (those often
  carry order numbers, e-mail addresses or session tokens that must not end up in a report).

The widget stores responses with source ``widget`` and channel ``web`` (``WIDGET_CHANNEL``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cxpulse.collect.options import CollectOptions
from cxpulse.i18n import DEFAULT_LANGUAGE, LANGUAGES, negotiate, normalise
from cxpulse.metrics import Scale
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.models import MAX_COMMENT_LENGTH, Survey

WIDGET_SOURCE = "widget"
WIDGET_CHANNEL = "web"
MAX_PROPERTIES = 20
MAX_PAGE_LENGTH = 1000
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,100}")
"""An answer's own idempotency key, made by the script once per prompt shown."""
ANSWER_FIELDS = frozenset({"score", "comment", "language", "properties", "page", "key"})

FieldProblem = tuple[tuple[str, ...], str]
"""The location of a field in the body (``("properties", "plan")``) and what is wrong."""

# Interface texts of the widget per language. Question texts come from the survey (or the
# defaults below); these are the words around it.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "send": "Send",
        "close": "Close",
        "thanks": "Thank you for your feedback!",
        "error": "Sorry, your answer could not be sent. Please try again later.",
        "choose": "Please choose a score first.",
        "comment": "Anything you would like to add? (optional)",
        "region": "Feedback",
    },
    "sv": {
        "send": "Skicka",
        "close": "Stäng",
        "thanks": "Tack för din återkoppling!",
        "error": "Tyvärr kunde ditt svar inte skickas. Försök igen senare.",
        "choose": "Välj ett betyg först.",
        "comment": "Något du vill lägga till? (frivilligt)",
        "region": "Återkoppling",
    },
    "nl": {
        "send": "Versturen",
        "close": "Sluiten",
        "thanks": "Bedankt voor je feedback!",
        "error": "Sorry, je antwoord kon niet worden verstuurd. Probeer het later opnieuw.",
        "choose": "Kies eerst een score.",
        "comment": "Wil je nog iets toevoegen? (optioneel)",
        "region": "Feedback",
    },
    "mk": {
        "send": "Испрати",
        "close": "Затвори",
        "thanks": "Ви благодариме за вашето мислење!",
        "error": "За жал, одговорот не можеше да се испрати. Обидете се повторно подоцна.",
        "choose": "Прво изберете оценка.",
        "comment": "Дали сакате нешто да додадете? (по избор)",
        "region": "Мислење",
    },
    "de": {
        "send": "Senden",
        "close": "Schließen",
        "thanks": "Vielen Dank für Ihr Feedback!",
        "error": "Ihre Antwort konnte leider nicht gesendet werden. Bitte später erneut versuchen.",
        "choose": "Bitte wählen Sie zuerst eine Bewertung.",
        "comment": "Möchten Sie etwas ergänzen? (optional)",
        "region": "Feedback",
    },
    "fr": {
        "send": "Envoyer",
        "close": "Fermer",
        "thanks": "Merci pour votre avis !",
        "error": "Désolé, votre réponse n'a pas pu être envoyée. Veuillez réessayer plus tard.",
        "choose": "Veuillez d'abord choisir une note.",
        "comment": "Souhaitez-vous ajouter quelque chose ? (facultatif)",
        "region": "Votre avis",
    },
    "es": {
        "send": "Enviar",
        "close": "Cerrar",
        "thanks": "¡Gracias por tu opinión!",
        "error": "Lo sentimos, no se pudo enviar tu respuesta. Inténtalo de nuevo más tarde.",
        "choose": "Elige primero una puntuación.",
        "comment": "¿Quieres añadir algo? (opcional)",
        "region": "Opinión",
    },
    "pt": {
        "send": "Enviar",
        "close": "Fechar",
        "thanks": "Obrigado pela sua opinião!",
        "error": "Não foi possível enviar a sua resposta. Tente novamente mais tarde.",
        "choose": "Escolha primeiro uma pontuação.",
        "comment": "Quer acrescentar alguma coisa? (opcional)",
        "region": "Opinião",
    },
}

# Default question and anchor labels per metric family, used when the survey has no text of
# its own in the shown language.
_CSAT = "csat"
_NPS = "nps"
_CES = "ces"
DEFAULT_QUESTIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    # family -> language -> (question, low anchor, high anchor)
    _CSAT: {
        "en": (
            "How satisfied are you with your experience?",
            "Very dissatisfied",
            "Very satisfied",
        ),
        "sv": ("Hur nöjd är du med din upplevelse?", "Mycket missnöjd", "Mycket nöjd"),
        "nl": ("Hoe tevreden ben je over je ervaring?", "Zeer ontevreden", "Zeer tevreden"),
        "mk": ("Колку сте задоволни од вашето искуство?", "Многу незадоволен", "Многу задоволен"),
        "de": ("Wie zufrieden sind Sie mit Ihrer Erfahrung?", "Sehr unzufrieden", "Sehr zufrieden"),
        "fr": (
            "Êtes-vous satisfait de votre expérience ?",
            "Très insatisfait",
            "Très satisfait",
        ),
        "es": (
            "¿Qué tan satisfecho estás con tu experiencia?",
            "Muy insatisfecho",
            "Muy satisfecho",
        ),
        "pt": (
            "Qual a sua satisfação com a sua experiência?",
            "Muito insatisfeito",
            "Muito satisfeito",
        ),
    },
    _NPS: {
        "en": (
            "How likely are you to recommend us to a friend or colleague?",
            "Not at all likely",
            "Extremely likely",
        ),
        "sv": (
            "Hur sannolikt är det att du skulle rekommendera oss till en vän eller kollega?",
            "Inte alls sannolikt",
            "Extremt sannolikt",
        ),
        "nl": (
            "Hoe waarschijnlijk is het dat je ons aanbeveelt aan een vriend of collega?",
            "Zeer onwaarschijnlijk",
            "Zeer waarschijnlijk",
        ),
        "mk": (
            "Колку е веројатно да нè препорачате на пријател или колега?",
            "Воопшто не е веројатно",
            "Многу веројатно",
        ),
        "de": (
            "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?",
            "Sehr unwahrscheinlich",
            "Sehr wahrscheinlich",
        ),
        "fr": (
            "Quelle est la probabilité que vous nous recommandiez à un ami ou un collègue ?",
            "Pas du tout probable",
            "Très probable",
        ),
        "es": (
            "¿Qué probabilidad hay de que nos recomiendes a un amigo o colega?",
            "Nada probable",
            "Muy probable",
        ),
        "pt": (
            "Qual a probabilidade de nos recomendar a um amigo ou colega?",
            "Nada provável",
            "Muito provável",
        ),
    },
    _CES: {
        "en": ("It was easy to get what I needed.", "Strongly disagree", "Strongly agree"),
        "sv": ("Det var lätt att få det jag behövde.", "Instämmer inte alls", "Instämmer helt"),
        "nl": (
            "Het was gemakkelijk om te krijgen wat ik nodig had.",
            "Helemaal oneens",
            "Helemaal eens",
        ),
        "mk": (
            "Лесно го добив тоа што ми требаше.",
            "Воопшто не се согласувам",
            "Целосно се согласувам",
        ),
        "de": (
            "Es war einfach, das zu bekommen, was ich brauchte.",
            "Stimme überhaupt nicht zu",
            "Stimme voll und ganz zu",
        ),
        "fr": (
            "Il a été facile d'obtenir ce dont j'avais besoin.",
            "Pas du tout d'accord",
            "Tout à fait d'accord",
        ),
        "es": (
            "Fue fácil conseguir lo que necesitaba.",
            "Totalmente en desacuerdo",
            "Totalmente de acuerdo",
        ),
        "pt": (
            "Foi fácil obter o que eu precisava.",
            "Discordo totalmente",
            "Concordo totalmente",
        ),
    },
}


def _family(metric: str) -> str:
    if metric == "nps":
        return _NPS
    if metric == "ces":
        return _CES
    return _CSAT  # csat, dsat and mean ask how satisfied


def presentation_for(survey: Survey) -> str:
    """The survey's presentation where its scale allows it, else plain numbers."""
    scale = survey.scale
    if survey.presentation in ("stars", "emoji") and (scale.low, scale.high) == (1, 5):
        return survey.presentation
    if survey.presentation == "thumbs" and (scale.low, scale.high) == (0, 1):
        return "thumbs"
    return "numbers"


def shown_language(survey: Survey, *, query: str | None, accept_language: str | None) -> str:
    """The language of the prompt: ``data-lang``, then Accept-Language, then the survey's.

    Any language cxpulse speaks can be shown: where the survey has no question of its own in
    it, the default question of its metric is used.
    """
    return negotiate(
        query=query, accept_language=accept_language, survey_default=survey.default_language
    )


def _survey_text(survey: Survey, language: str, name: str) -> str | None:
    entry = (survey.questions or {}).get(language)
    if isinstance(entry, Mapping):
        text = entry.get(name)
        if isinstance(text, str) and text.strip():
            return text
    return None


def widget_config(
    survey: Survey, organisation_slug: str, options: CollectOptions, language: str
) -> dict[str, Any]:
    """The prompt of ``survey`` in ``language`` (one of ``LANGUAGES``)."""
    family = DEFAULT_QUESTIONS[_family(survey.metric)]
    default_question, low_label, high_label = family.get(language, family[DEFAULT_LANGUAGE])
    texts = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    scale: Scale = survey.scale
    comment_prompt = _survey_text(survey, language, "comment_prompt") or texts["comment"]
    return {
        "survey": f"{organisation_slug}/{survey.slug}",
        "metric": survey.metric,
        "language": language,
        "question": _survey_text(survey, language, "question") or default_question,
        "scale": {"low": scale.low, "high": scale.high},
        "values": list(range(scale.low, scale.high + 1)),
        "labels": {"low": low_label, "high": high_label},
        "presentation": presentation_for(survey),
        "comment": options.comment,
        "comment_prompt": comment_prompt if options.comment else None,
        "max_comment_length": MAX_COMMENT_LENGTH,
        "texts": {name: text for name, text in texts.items() if name != "comment"},
    }


@dataclass(frozen=True)
class WidgetAnswer:
    """A checked answer, ready to become a ``NewResponse``."""

    score: float
    comment: str | None
    language: str
    properties: dict[str, str]
    key: str | None


def page_address(page: str) -> str:
    """``https://shop.example/cart?order=42#pay`` -> ``https://shop.example/cart``."""
    parts = urlsplit(page.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be the http(s) address of the page")
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}{parts.path or '/'}"


def _score(survey: Survey, value: object, problems: list[FieldProblem]) -> float | None:
    if value is None:
        problems.append((("score",), "is required"))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append((("score",), f"must be a number, not {type(value).__name__}"))
        return None
    scale = survey.scale
    if not math.isfinite(value) or not scale.contains(value):
        problems.append((("score",), f"must be a whole number from {scale.low} to {scale.high}"))
        return None
    return float(value)


def _comment(value: object, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append((("comment",), f"must be text, not {type(value).__name__}"))
        return None
    text = value.strip()
    if len(text) > MAX_COMMENT_LENGTH:
        problems.append(
            (
                ("comment",),
                f"is {len(text)} characters long; at most {MAX_COMMENT_LENGTH} are allowed",
            )
        )
        return None
    return text or None


def _language(survey: Survey, value: object, problems: list[FieldProblem]) -> str:
    if value is None:
        return normalise(survey.default_language) or DEFAULT_LANGUAGE
    if not isinstance(value, str) or value not in LANGUAGES:
        problems.append((("language",), f"must be one of {', '.join(LANGUAGES)}"))
        return DEFAULT_LANGUAGE
    return value


def _properties(value: object, page: object, problems: list[FieldProblem]) -> dict[str, str]:
    result: dict[str, str] = {}
    if value is not None:
        if not isinstance(value, dict):
            problems.append((("properties",), "must be an object of names to values"))
        elif len(value) > MAX_PROPERTIES:
            problems.append((("properties",), f"has more than {MAX_PROPERTIES} names"))
        else:
            try:
                result = values.text_mapping("properties", value)
            except Invalid as error:
                loc = tuple(part for part in error.field.split(".") if part)
                problems.append((loc, error.message))
    if page is not None:
        if not isinstance(page, str):
            problems.append((("page",), f"must be text, not {type(page).__name__}"))
        else:
            try:
                address = page_address(page)
            except ValueError as error:
                problems.append((("page",), str(error)))
            else:
                if len(address) > MAX_PAGE_LENGTH:
                    problems.append(
                        (("page",), f"is longer than {MAX_PAGE_LENGTH} characters without query")
                    )
                else:
                    result["page"] = address
    return result


def _key(value: object, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not KEY_PATTERN.fullmatch(value):
        problems.append((("key",), "must be 8 to 100 letters, digits, - or _"))
        return None
    return value


def parse_answer(survey: Survey, document: object) -> WidgetAnswer | list[FieldProblem]:
    """The checked answer, or every problem found (never raises on bad input)."""
    if not isinstance(document, dict):
        return [((), "must be a JSON object with at least a score")]
    problems: list[FieldProblem] = [
        ((name,), "unknown field") for name in sorted(set(document) - ANSWER_FIELDS)
    ]
    score = _score(survey, document.get("score"), problems)
    comment = _comment(document.get("comment"), problems)
    language = _language(survey, document.get("language"), problems)
    properties = _properties(document.get("properties"), document.get("page"), problems)
    key = _key(document.get("key"), problems)
    if problems or score is None:
        return problems
    return WidgetAnswer(score, comment, language, properties, key)
