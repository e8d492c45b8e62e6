"""The demo shop's three surveys: their questions in every language cxpulse speaks (so that
each language asks the same question; a test keeps them complete), their volumes, and how
their answers are distributed before segments and events shift them.

``SURVEY_PLANS`` lists them in the order ``seed_demo`` creates them (CSAT after a support
ticket, relationship NPS, CES after a return); ``DEMO_COLLECT_OPTIONS`` is what their pages
show besides the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final


@dataclass(frozen=True)
class SurveyPlan:
    """One demo survey: what ``seed_demo`` creates, and how its answers are drawn."""

    slug: str
    name: str
    metric: str
    scale_low: int
    scale_high: int
    touchpoint: str | None
    questions: Mapping[str, Mapping[str, str]]
    per_month: int
    """Responses in a month at the start of the period, before growth and season."""
    base: float
    """Mean latent answer of an average customer at the start."""
    sd: float
    sensitivity: float
    """Scale points per unit of segment effect."""
    channels: Mapping[str, float]
    topics: Mapping[str, float]
    season: Mapping[int, float] = field(default_factory=dict)
    """Volume multiplier per calendar month (1 = January)."""


CSAT_SURVEY = SurveyPlan(
    slug="support-csat",
    name="Support satisfaction (CSAT)",
    metric="csat",
    scale_low=1,
    scale_high=5,
    touchpoint="after support ticket",
    questions={
        "en": {
            "question": "How satisfied are you with the help you got from our customer service?",
            "comment_prompt": "Tell us more about your experience (optional).",
        },
        "sv": {
            "question": "Hur nöjd är du med hjälpen du fick av vår kundtjänst?",
            "comment_prompt": "Berätta gärna mer om din upplevelse (frivilligt).",
        },
        "nl": {
            "question": "Hoe tevreden bent u over de hulp van onze klantenservice?",
            "comment_prompt": "Vertel ons gerust meer over uw ervaring (optioneel).",
        },
        "mk": {
            "question": "Колку сте задоволни од помошта што ја добивте од нашата поддршка?",
            "comment_prompt": "Кажете ни повеќе за вашето искуство (по избор).",
        },
        "de": {
            "question": "Wie zufrieden sind Sie mit der Hilfe, die Sie von unserem "
            "Kundenservice bekommen haben?",
            "comment_prompt": "Erzählen Sie uns gern mehr über Ihre Erfahrung (freiwillig).",
        },
        "fr": {
            "question": "Dans quelle mesure êtes-vous satisfait(e) de l'aide apportée par "
            "notre service client ?",
            "comment_prompt": "Dites-nous-en plus sur votre expérience (facultatif).",
        },
        "es": {
            "question": "¿Qué tan satisfecho/a está con la ayuda que recibió de nuestro "
            "servicio de atención al cliente?",
            "comment_prompt": "Cuéntenos más sobre su experiencia (opcional).",
        },
        "pt": {
            "question": "Qual é o seu grau de satisfação com a ajuda que recebeu do nosso "
            "apoio ao cliente?",
            "comment_prompt": "Conte-nos mais sobre a sua experiência (opcional).",
        },
    },
    per_month=280,
    base=4.3,
    sd=1.05,
    sensitivity=0.8,
    channels={"email": 0.45, "widget": 0.3, "sms": 0.15, "web": 0.1},
    topics={"support": 0.55, "delivery": 0.15, "returns": 0.08, "app": 0.07, "price": 0.05},
    season={11: 1.35, 12: 1.5, 1: 1.2},
)

NPS_SURVEY = SurveyPlan(
    slug="relationship-nps",
    name="Relationship NPS",
    metric="nps",
    scale_low=0,
    scale_high=10,
    touchpoint=None,
    questions={
        "en": {
            "question": "How likely are you to recommend Demo Shop to a friend or colleague?",
            "comment_prompt": "What is the main reason for your score?",
        },
        "sv": {
            "question": "Hur troligt är det att du skulle rekommendera Demo Shop till en vän "
            "eller kollega?",
            "comment_prompt": "Vad är den främsta anledningen till ditt betyg?",
        },
        "nl": {
            "question": "Hoe waarschijnlijk is het dat u Demo Shop aanbeveelt aan een vriend "
            "of collega?",
            "comment_prompt": "Wat is de belangrijkste reden voor uw score?",
        },
        "mk": {
            "question": "Колку е веројатно да го препорачате Demo Shop на пријател или колега?",
            "comment_prompt": "Која е главната причина за вашата оценка?",
        },
        "de": {
            "question": "Wie wahrscheinlich ist es, dass Sie Demo Shop einem Freund oder "
            "Kollegen empfehlen?",
            "comment_prompt": "Was ist der wichtigste Grund für Ihre Bewertung?",
        },
        "fr": {
            "question": "Quelle est la probabilité que vous recommandiez Demo Shop à un ami "
            "ou à un collègue ?",
            "comment_prompt": "Quelle est la principale raison de votre note ?",
        },
        "es": {
            "question": "¿Qué probabilidad hay de que recomiende Demo Shop a un amigo o colega?",
            "comment_prompt": "¿Cuál es el motivo principal de su puntuación?",
        },
        "pt": {
            "question": "Qual é a probabilidade de recomendar a Demo Shop a um amigo ou colega?",
            "comment_prompt": "Qual é o principal motivo da sua pontuação?",
        },
    },
    per_month=200,
    base=8.6,
    sd=2.1,
    sensitivity=1.6,
    channels={"email": 0.55, "web": 0.25, "widget": 0.1, "sms": 0.1},
    topics={"delivery": 0.22, "price": 0.22, "app": 0.18, "support": 0.14, "returns": 0.14},
)

CES_SURVEY = SurveyPlan(
    slug="returns-ces",
    name="Returns effort (CES)",
    metric="ces",
    scale_low=1,
    scale_high=7,
    touchpoint="after a return",
    questions={
        "en": {
            "question": "Demo Shop made it easy for me to return my order.",
            "comment_prompt": "What made the return easy or difficult?",
        },
        "sv": {
            "question": "Demo Shop gjorde det enkelt för mig att returnera min beställning.",
            "comment_prompt": "Vad gjorde returen enkel eller krånglig?",
        },
        "nl": {
            "question": "Demo Shop maakte het mij gemakkelijk om mijn bestelling te retourneren.",
            "comment_prompt": "Wat maakte het retourneren makkelijk of moeilijk?",
        },
        "mk": {
            "question": "Demo Shop ми овозможи лесно да ја вратам нарачката.",
            "comment_prompt": "Што го направи враќањето лесно или тешко?",
        },
        "de": {
            "question": "Demo Shop hat es mir leicht gemacht, meine Bestellung zurückzusenden.",
            "comment_prompt": "Was hat die Rücksendung leicht oder schwierig gemacht?",
        },
        "fr": {
            "question": "Demo Shop m'a permis de retourner ma commande facilement.",
            "comment_prompt": "Qu'est-ce qui a rendu le retour facile ou difficile ?",
        },
        "es": {
            "question": "Demo Shop me facilitó devolver mi pedido.",
            "comment_prompt": "¿Qué hizo que la devolución fuera fácil o difícil?",
        },
        "pt": {
            "question": "A Demo Shop facilitou a devolução da minha encomenda.",
            "comment_prompt": "O que tornou a devolução fácil ou difícil?",
        },
    },
    per_month=150,
    base=5.0,
    sd=1.5,
    sensitivity=1.0,
    channels={"email": 0.4, "web": 0.35, "sms": 0.15, "widget": 0.1},
    topics={"returns": 0.7, "support": 0.12, "delivery": 0.08, "app": 0.05},
    season={1: 1.6, 12: 1.2, 11: 1.1},
)

SURVEY_PLANS: Final = (CSAT_SURVEY, NPS_SURVEY, CES_SURVEY)


DEMO_COLLECT_OPTIONS: dict[str, dict[str, Any]] = {
    "csat": {
        "reasons": ["Slow answer", "Problem not solved", "Unfriendly", "Had to repeat myself"],
        "reasons_i18n": {
            "sv": ["Långsamt svar", "Problemet löstes inte", "Ovänligt", "Fick upprepa mig"],
            "nl": [
                "Traag antwoord",
                "Probleem niet opgelost",
                "Onvriendelijk",
                "Moest alles herhalen",
            ],
            "mk": ["Бавен одговор", "Проблемот не е решен", "Нељубезно", "Морав да се повторувам"],
            "de": [
                "Langsame Antwort",
                "Problem nicht gelöst",
                "Unfreundlich",
                "Musste mich wiederholen",
            ],
            "fr": ["Réponse lente", "Problème non résolu", "Peu aimable", "J'ai dû me répéter"],
            "es": ["Respuesta lenta", "Problema no resuelto", "Poco amable", "Tuve que repetirme"],
            "pt": [
                "Resposta lenta",
                "Problema não resolvido",
                "Pouco simpático",
                "Tive de me repetir",
            ],
        },
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    },
    "nps": {
        "review_url": "https://reviews.example/demo-shop",
        "referral_url": "https://demo-shop.example/invite",
        "allowed_origins": ["http://127.0.0.1:8000", "http://localhost:8000"],
    },
}
"""What the demo's surveys show on their pages: reasons after a low CSAT, review and referral
links for NPS promoters, and the widget allowed on the demo server itself."""
