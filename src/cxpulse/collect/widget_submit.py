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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cxpulse.collect import questions
from cxpulse.collect.answers import REASONS_PROPERTY, REASONS_SEPARATOR, is_low
from cxpulse.i18n import DEFAULT_LANGUAGE, LANGUAGES, gettext_for, negotiate, normalise
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.models import MAX_COMMENT_LENGTH, Survey
from cxpulse.store.survey_options import CollectOptions

WIDGET_SOURCE = "widget"
WIDGET_CHANNEL = "web"
MAX_PROPERTIES = 20
MAX_PAGE_LENGTH = 1000
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,100}")
"""An answer's own idempotency key, made by the script once per prompt shown."""
ANSWER_FIELDS = frozenset(
    {"score", "comment", "language", "reasons", "properties", "page", "key", "contact_ok"}
)

FieldProblem = tuple[tuple[str, ...], str]
"""The location of a field in the body (``("properties", "plan")``) and what is wrong."""

# The words only the widget needs; everything it shares with the survey pages (question,
# scale labels, Send, thanks, reasons) comes from ``collect.questions`` and the ``pages``
# catalog, so both say the same.
WIDGET_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "close": "Close",
        "error": "Sorry, your answer could not be sent. Please try again later.",
        "choose": "Please choose a score first.",
        "region": "Feedback",
    },
    "sv": {
        "close": "Stäng",
        "error": "Tyvärr kunde ditt svar inte skickas. Försök igen senare.",
        "choose": "Välj ett betyg först.",
        "region": "Återkoppling",
    },
    "nl": {
        "close": "Sluiten",
        "error": "Sorry, uw antwoord kon niet worden verstuurd. Probeer het later opnieuw.",
        "choose": "Kies eerst een score.",
        "region": "Feedback",
    },
    "mk": {
        "close": "Затвори",
        "error": "За жал, одговорот не можеше да се испрати. Обидете се повторно подоцна.",
        "choose": "Прво изберете оценка.",
        "region": "Мислење",
    },
    "de": {
        "close": "Schließen",
        "error": "Ihre Antwort konnte leider nicht gesendet werden. Bitte später erneut versuchen.",
        "choose": "Bitte wählen Sie zuerst eine Bewertung.",
        "region": "Feedback",
    },
    "fr": {
        "close": "Fermer",
        "error": "Désolé, votre réponse n'a pas pu être envoyée. Veuillez réessayer plus tard.",
        "choose": "Veuillez d'abord choisir une note.",
        "region": "Votre avis",
    },
    "es": {
        "close": "Cerrar",
        "error": "Lo sentimos, no se pudo enviar su respuesta. Inténtelo de nuevo más tarde.",
        "choose": "Elija primero una puntuación.",
        "region": "Opinión",
    },
    "pt": {
        "close": "Fechar",
        "error": "Não foi possível enviar a sua resposta. Tente novamente mais tarde.",
        "choose": "Escolha primeiro uma pontuação.",
        "region": "Opinião",
    },
}


def shown_language(survey: Survey, *, query: str | None, accept_language: str | None) -> str:
    """The language of the prompt: ``data-lang``, then Accept-Language, then the survey's.

    Any language cxpulse speaks can be shown: where the survey has no question of its own in
    it, the default question of its metric is used.
    """
    return negotiate(
        query=query, accept_language=accept_language, survey_default=survey.default_language
    )


def thanks(language: str) -> str:
    _, _n = gettext_for("pages", language)
    return _("Thank you!")


def thanks_message(
    survey: Survey,
    options: CollectOptions,
    organisation_name: str,
    language: str,
    score: float,
    consent: bool | None,
) -> str:
    """What the widget says after an answer: thanks, and the survey's text for the band of
    the score (the same as the thank-you page's), and whether a contact was allowed."""
    _, _n = gettext_for("pages", language)
    score_band = questions.band(score, survey.metric_spec())
    text = questions.thanks_in(
        options.thanks,
        score_band,
        language,
        organisation_name,
        source_language=survey.default_language,
    ).text
    parts = [_("Thank you!"), text]
    if score_band == "low" and consent:
        parts.append(_(questions.CONSENT_GIVEN) % {"organisation": organisation_name})
    return " ".join(parts)


def widget_config(
    survey: Survey,
    organisation_slug: str,
    organisation_name: str,
    options: CollectOptions,
    language: str,
) -> dict[str, Any]:
    """The prompt of ``survey`` in ``language`` (one of ``LANGUAGES``)."""
    _, ngettext = gettext_for("pages", language)
    spec = survey.metric_spec()
    presentation = questions.effective_presentation(survey.presentation, spec.scale)
    low_label, high_label = questions.end_labels(spec, _)
    scale = spec.scale
    texts = WIDGET_TEXTS.get(language, WIDGET_TEXTS[DEFAULT_LANGUAGE])
    reasons = options.reasons_in(language)
    source = survey.default_language
    question = questions.question_in(
        survey.questions or {}, survey.metric, language, organisation_name, source_language=source
    )
    prompt = questions.comment_prompt_in(survey.questions or {}, language, source_language=source)
    return {
        "survey": f"{organisation_slug}/{survey.slug}",
        "metric": survey.metric,
        "language": language,
        "question": question.text,
        "question_language": question.language,
        "scale": {"low": scale.low, "high": scale.high},
        "values": list(range(scale.low, scale.high + 1)),
        "choices": [
            {
                "value": choice.value,
                "face": choice.face,
                "label": choice.label,
                "words": choice.words,
                "low": choice.low,
            }
            for choice in questions.choices(spec, presentation, _, ngettext)
        ],
        "labels": {"low": low_label, "high": high_label},
        "anchors": not questions.has_word_labels(spec, presentation),
        "presentation": presentation,
        "comment": options.comment,
        "comment_prompt": prompt.text if options.comment else None,
        "comment_prompt_language": prompt.language if options.comment else None,
        "max_comment_length": MAX_COMMENT_LENGTH,
        "reasons": list(reasons),
        # Asked after a low score only when the embedding site says who the visitor is
        # (data-properties): the script decides, an anonymous visitor cannot be contacted.
        "consent": (
            _(questions.CONSENT_QUESTION) % {"organisation": organisation_name}
            if options.contact_consent
            else None
        ),
        "texts": {
            "send": _("Send"),
            "thanks": _("Thank you!"),
            "reasons": _("What went wrong?"),
            "reasons_hint": _("(choose any)"),
            **texts,
        },
    }


@dataclass(frozen=True)
class WidgetAnswer:
    """A checked answer, ready to become a ``NewResponse``."""

    score: float
    comment: str | None
    language: str
    properties: dict[str, str]
    key: str | None
    consent: bool | None = None
    """``contact_ok`` of a low score on a survey that asks; else None (not asked)."""


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
    # Bounds first: ``math.isfinite`` overflows on integers beyond a float (10**400).
    in_bounds = scale.low <= value <= scale.high
    if not in_bounds or not math.isfinite(value) or not scale.contains(value):
        problems.append((("score",), f"must be a whole number from {scale.low} to {scale.high}"))
        return None
    return float(value)


def _comment(value: object, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append((("comment",), f"must be text, not {type(value).__name__}"))
        return None
    try:
        # The store's rule of text, so the widget refuses what the API refuses, in its words.
        return values.text("comment", value, MAX_COMMENT_LENGTH)
    except Invalid as error:
        problems.append((("comment",), error.message))
        return None


def _language(survey: Survey, value: object, problems: list[FieldProblem]) -> str:
    if value is None:
        return normalise(survey.default_language) or DEFAULT_LANGUAGE
    if not isinstance(value, str) or value not in LANGUAGES:
        problems.append((("language",), f"must be one of {', '.join(LANGUAGES)}"))
        return DEFAULT_LANGUAGE
    return value


def _printable(name: str) -> str:
    """``name`` as the answer can carry it: half a surrogate pair cannot be written as UTF-8,
    so it is shown escaped (``\\udc00``) instead of failing the whole answer."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _properties(value: object, page: object, problems: list[FieldProblem]) -> dict[str, str]:
    result: dict[str, str] = {}
    if value is not None:
        if not isinstance(value, dict):
            problems.append((("properties",), "must be an object of names to values"))
        elif len(value) > MAX_PROPERTIES:
            problems.append((("properties",), f"has more than {MAX_PROPERTIES} names"))
        else:
            for key, item in value.items():
                # Located as the API locates them: a name may hold dots, so never by
                # splitting a dotted field.
                problem = values.name_problem(key)
                if problem is not None:
                    problems.append((("properties", _printable(key), "[key]"), problem))
                    continue
                try:
                    result.update(values.text_mapping("properties", {key: item}))
                except Invalid as error:
                    problems.append((("properties", key), error.message))
    if page is not None:
        if not isinstance(page, str):
            problems.append((("page",), f"must be text, not {type(page).__name__}"))
        elif (problem := values.text_problem(page)) is not None:
            problems.append((("page",), problem))
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


def _reasons(
    options: CollectOptions, language: str, value: object, problems: list[FieldProblem]
) -> tuple[str, ...]:
    if value is None:
        return ()
    offered = options.reasons_in(language)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append((("reasons",), "must be a list of texts"))
        return ()
    unknown = [item for item in value if item not in offered]
    if unknown:
        problems.append((("reasons",), f"{unknown[0]!r} is not among the survey's reasons"))
        return ()
    return tuple(dict.fromkeys(value))


def parse_answer(
    survey: Survey, options: CollectOptions, document: object
) -> WidgetAnswer | list[FieldProblem]:
    """The checked answer, or every problem found (never raises on bad input).

    Reasons ("what went wrong?") are kept only with a low score, as on the survey pages,
    and stored in the shown language under the ``reasons`` property.
    """
    if not isinstance(document, dict):
        return [((), "must be a JSON object with at least a score")]
    problems: list[FieldProblem] = [
        ((name,), "unknown field") for name in sorted(set(document) - ANSWER_FIELDS)
    ]
    score = _score(survey, document.get("score"), problems)
    comment = _comment(document.get("comment"), problems)
    language = _language(survey, document.get("language"), problems)
    reasons = _reasons(options, language, document.get("reasons"), problems)
    properties = _properties(document.get("properties"), document.get("page"), problems)
    key = _key(document.get("key"), problems)
    consent_value = document.get("contact_ok")
    if consent_value is not None and not isinstance(consent_value, bool):
        problems.append((("contact_ok",), "must be true, false or null"))
    if problems or score is None:
        return problems
    # Kept only where it was asked: a low score, on a survey that asks. Otherwise ignored
    # (a prompt cached before the option was turned off may still send it).
    low = is_low(score, survey.metric_spec())
    consent = consent_value if options.contact_consent and low else None
    properties.pop(REASONS_PROPERTY, None)  # only the widget's own choice may set it
    if reasons and is_low(score, survey.metric_spec()):
        properties[REASONS_PROPERTY] = REASONS_SEPARATOR.join(reasons)
    return WidgetAnswer(score, comment, language, properties, key, consent)
