"""What a survey page asks, and how each point of its scale is shown, in every language.

Pure: no I/O. Every language of a survey asks the same question (``in_language``):

1. the organisation's own text for the language, when it wrote one
   (``Survey.questions[lang]["question"]``);
2. else, when the organisation wrote its own wording in its source language (the survey's
   default language, else the first language it wrote) and that wording is not simply the
   default, that wording as written, marked with its language: a respondent reads the
   organisation's question in another language rather than a *different* question;
3. else the default of ``DEFAULT_QUESTIONS`` for the metric, translated.

The comment prompt and the thank-you texts follow the same rule. Texts of the scale (end
labels, agreement labels, stars, emoji) come through the ``pages`` gettext catalog, so the
caller passes its ``gettext``/``ngettext``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cxpulse.i18n import DEFAULT_LANGUAGE, LANGUAGES, gettext_for
from cxpulse.metrics import Metric, MetricSpec, Scale

PAGES = "pages"
"""The gettext domain of the respondent's texts."""

Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]

_SATISFACTION = {
    "en": "How satisfied are you with {organisation}?",
    "sv": "Hur nöjd är du med {organisation}?",
    "nl": "Hoe tevreden bent u over {organisation}?",
    "mk": "Колку сте задоволни од {organisation}?",
    "de": "Wie zufrieden sind Sie mit {organisation}?",
    "fr": "Dans quelle mesure êtes-vous satisfait(e) de {organisation} ?",
    "es": "¿Qué tan satisfecho/a está con {organisation}?",
    "pt": "Qual é o seu grau de satisfação com {organisation}?",
}

DEFAULT_QUESTIONS: dict[Metric, dict[str, str]] = {
    Metric.CSAT: _SATISFACTION,
    Metric.DSAT: _SATISFACTION,
    Metric.NPS: {
        "en": "How likely are you to recommend {organisation} to a friend or colleague?",
        "sv": "Hur troligt är det att du skulle rekommendera {organisation} till en vän "
        "eller kollega?",
        "nl": "Hoe waarschijnlijk is het dat u {organisation} zou aanbevelen aan een vriend "
        "of collega?",
        "mk": "Колку е веројатно да го препорачате {organisation} на пријател или колега?",
        "de": "Wie wahrscheinlich ist es, dass Sie {organisation} einem Freund oder Kollegen "
        "empfehlen?",
        "fr": "Quelle est la probabilité que vous recommandiez {organisation} à un ami ou "
        "à un collègue ?",
        "es": "¿Qué probabilidad hay de que recomiende {organisation} a un amigo o colega?",
        "pt": "Qual é a probabilidade de recomendar {organisation} a um amigo ou colega?",
    },
    Metric.CES: {
        "en": "{organisation} made it easy for me to handle my issue.",
        "sv": "{organisation} gjorde det enkelt för mig att lösa mitt ärende.",
        "nl": "{organisation} maakte het mij gemakkelijk om mijn vraag af te handelen.",
        "mk": "{organisation} ми овозможи лесно да го решам моето прашање.",
        "de": "{organisation} hat es mir leicht gemacht, mein Anliegen zu erledigen.",
        "fr": "{organisation} m'a permis de régler ma demande facilement.",
        "es": "{organisation} me facilitó resolver mi gestión.",
        "pt": "A {organisation} facilitou a resolução do meu pedido.",
    },
    Metric.MEAN: {
        "en": "How would you rate your experience with {organisation}?",
        "sv": "Hur skulle du betygsätta din upplevelse av {organisation}?",
        "nl": "Hoe beoordeelt u uw ervaring met {organisation}?",
        "mk": "Како би го оцениле вашето искуство со {organisation}?",
        "de": "Wie bewerten Sie Ihre Erfahrung mit {organisation}?",
        "fr": "Comment évaluez-vous votre expérience avec {organisation} ?",
        "es": "¿Cómo valoraría su experiencia con {organisation}?",
        "pt": "Como avalia a sua experiência com {organisation}?",
    },
}


def default_question(metric: Metric | str, language: str, organisation: str) -> str:
    """The default question of ``metric`` in ``language`` (English for a language cxpulse
    does not speak), naming the organisation."""
    texts = DEFAULT_QUESTIONS[Metric(metric)]
    template = texts.get(language, texts[DEFAULT_LANGUAGE])
    return template.format(organisation=organisation)


@dataclass(frozen=True)
class Worded:
    """A text and the language it is written in (the page marks it when not the page's)."""

    text: str
    language: str


def _written(texts: Mapping[str, Any], language: str, key: str) -> str | None:
    entry = texts.get(language)
    if isinstance(entry, Mapping):
        text = entry.get(key)
        if isinstance(text, str) and text.strip():
            return text
    return None


def in_language(
    texts: Mapping[str, Any],
    key: str,
    language: str,
    default: Callable[[str], str],
    *,
    source_language: str | None = None,
) -> Worded:
    """``texts[language][key]`` by the rule of this module's docstring.

    ``texts`` maps a language to its texts (``{"en": {"question": ...}}``); ``default(lang)``
    is the default text in ``lang``; ``source_language`` is where the organisation's own
    wording is looked for first (the survey's default language).
    """
    own = _written(texts, language, key)
    if own is not None:
        return Worded(own, language)
    sources = [source_language] if source_language else []
    sources.extend(str(lang) for lang in texts)
    for source in sources:
        original = _written(texts, source, key)
        if original is None:
            continue
        if original.strip() == default(source).strip():
            break  # the organisation kept the default: its translations say the same
        return Worded(original, source)
    return Worded(default(language), language)


def question_in(
    questions: Mapping[str, Any],
    metric: str,
    language: str,
    organisation: str,
    *,
    source_language: str | None = None,
) -> Worded:
    """The question a page in ``language`` asks, and the language it is written in."""
    return in_language(
        questions,
        "question",
        language,
        lambda lang: default_question(metric, lang, organisation),
        source_language=source_language,
    )


def question_for(
    questions: Mapping[str, Any],
    metric: str,
    language: str,
    organisation: str,
    *,
    source_language: str | None = None,
) -> str:
    """The text of ``question_in`` (for emails, which ask in one language)."""
    return question_in(
        questions, metric, language, organisation, source_language=source_language
    ).text


COMMENT_PROMPT = "Anything you would like to tell us? (optional)"
"""The default comment prompt: a msgid of the ``pages`` catalog."""


def comment_prompt_in(
    questions: Mapping[str, Any], language: str, *, source_language: str | None = None
) -> Worded:
    """The comment prompt of a page in ``language``, by the same rule as the question."""
    return in_language(
        questions,
        "comment_prompt",
        language,
        lambda lang: gettext_for(PAGES, lang)[0](COMMENT_PROMPT),
        source_language=source_language,
    )


def comment_prompt_for(questions: Mapping[str, Any], language: str, _: Gettext) -> str:
    """The text of ``comment_prompt_in`` (``_`` kept for callers that pass their gettext)."""
    return comment_prompt_in(questions, language).text


# Thank-you texts: one per band of the score, so that a customer who gave a low score reads
# that it was heard and what happens with it. English msgids of the ``pages`` catalog.
BANDS = ("low", "middle", "high")
DEFAULT_THANKS = {
    "low": "We are sorry it was not better. Your answer goes to the team at "
    "%(organisation)s, who use it to put things right.",
    "middle": "Thank you for telling us. Your answer helps %(organisation)s see what to do better.",
    "high": "We are glad you are happy with %(organisation)s.",
}
CONSENT_QUESTION = "May %(organisation)s contact you about this?"
CONSENT_GIVEN = (
    "You allowed %(organisation)s to contact you about your answer: someone may get in touch."
)


def band(score: float, spec: MetricSpec) -> str:
    """``low`` (the survey's bottom band), ``high`` (its top band) or ``middle``."""
    if score <= spec.thresholds.bottom_max:
        return "low"
    if score >= spec.thresholds.top_min:
        return "high"
    return "middle"


def thanks_in(
    own: Mapping[str, Any],
    score_band: str,
    language: str,
    organisation: str,
    *,
    source_language: str | None = None,
) -> Worded:
    """The thank-you text after a score of ``score_band``: the survey's own (``own`` is the
    ``thanks`` collection option, ``{language: {band: text}}``), else the default."""
    template = DEFAULT_THANKS[score_band]
    return in_language(
        own,
        score_band,
        language,
        lambda lang: gettext_for(PAGES, lang)[0](template) % {"organisation": organisation},
        source_language=source_language,
    )


@dataclass(frozen=True)
class Choice:
    """One point of the scale as a radio button shows it."""

    value: int
    face: str
    """What is seen: a number, stars, an emoji (hidden from screen readers unless a number)."""
    label: str
    """What a screen reader says: the whole name of the choice."""
    words: str
    """Words seen beside the face (emoji, thumbs, agreement labels), else empty."""
    low: bool
    """In the survey's bottom band: picking it shows the "what went wrong?" reasons."""
    top: bool


EMOJI_FACES = ("😠", "😞", "😐", "😊", "😄")
THUMB_FACES = ("👎", "👍")


def effective_presentation(presentation: str, scale: Scale) -> str:
    """The presentation the page uses: stars and emoji need 1-5, thumbs 0-1; else numbers."""
    if presentation in ("stars", "emoji") and (scale.low, scale.high) == (1, 5):
        return presentation
    if presentation == "thumbs" and (scale.low, scale.high) == (0, 1):
        return presentation
    return "numbers"


def _agreement_labels(scale: Scale, _: Gettext) -> list[str] | None:
    if (scale.low, scale.high) == (1, 7):
        return [
            _("Strongly disagree"),
            _("Disagree"),
            _("Somewhat disagree"),
            _("Neither agree nor disagree"),
            _("Somewhat agree"),
            _("Agree"),
            _("Strongly agree"),
        ]
    if (scale.low, scale.high) == (1, 5):
        return [
            _("Strongly disagree"),
            _("Disagree"),
            _("Neither agree nor disagree"),
            _("Agree"),
            _("Strongly agree"),
        ]
    return None


def _satisfaction_labels(_: Gettext) -> list[str]:
    return [
        _("Very dissatisfied"),
        _("Dissatisfied"),
        _("Neither satisfied nor dissatisfied"),
        _("Satisfied"),
        _("Very satisfied"),
    ]


def end_labels(spec: MetricSpec, _: Gettext) -> tuple[str, str]:
    """The words under the two ends of a numbers scale."""
    if spec.metric is Metric.NPS:
        return _("Not at all likely"), _("Extremely likely")
    if spec.metric is Metric.CES:
        return _("Strongly disagree"), _("Strongly agree")
    return _("Very dissatisfied"), _("Very satisfied")


def choices(spec: MetricSpec, presentation: str, _: Gettext, ngettext: Ngettext) -> list[Choice]:
    """The radio buttons of the scale, low to high."""
    scale = spec.scale
    shown = effective_presentation(presentation, scale)
    bottom, top = spec.thresholds.bottom_max, spec.thresholds.top_min
    values = list(scale.values)
    faces: list[str]
    labels: list[str]
    words: list[str] = [""] * len(values)
    if shown == "stars":
        # One star per button, like every star rating: five buttons of 1 to 5 stars would not
        # fit a phone. The page fills the stars up to the chosen one; the label says how many.
        faces = ["★"] * len(values)
        labels = [ngettext("%(n)d star", "%(n)d stars", v) % {"n": v} for v in values]
    elif shown == "emoji":
        faces = list(EMOJI_FACES)
        labels = words = _satisfaction_labels(_)
    elif shown == "thumbs":
        faces = list(THUMB_FACES)
        labels = words = [_("Not good"), _("Good")]
    else:
        faces = [str(v) for v in values]
        agreement = _agreement_labels(scale, _) if spec.metric is Metric.CES else None
        if agreement is not None:
            labels = [f"{v} – {text}" for v, text in zip(values, agreement, strict=True)]
            words = agreement
        else:
            low_end, high_end = end_labels(spec, _)
            labels = [str(v) for v in values]
            labels[0] = f"{values[0]} – {low_end}"
            labels[-1] = f"{values[-1]} – {high_end}"
    return [
        Choice(value=v, face=face, label=label, words=word, low=v <= bottom, top=v >= top)
        for v, face, label, word in zip(values, faces, labels, words, strict=True)
    ]


def has_word_labels(spec: MetricSpec, presentation: str) -> bool:
    """Whether every choice shows its words (agreement, emoji, thumbs) rather than only the
    ends of a numbers scale."""
    shown = effective_presentation(presentation, spec.scale)
    if shown in ("emoji", "thumbs"):
        return True
    return (
        shown == "numbers"
        and spec.metric is Metric.CES
        and (spec.scale.low, spec.scale.high) in ((1, 7), (1, 5))
    )


__all__ = [
    "BANDS",
    "COMMENT_PROMPT",
    "CONSENT_GIVEN",
    "CONSENT_QUESTION",
    "DEFAULT_QUESTIONS",
    "DEFAULT_THANKS",
    "LANGUAGES",
    "Choice",
    "Worded",
    "band",
    "choices",
    "comment_prompt_for",
    "comment_prompt_in",
    "default_question",
    "effective_presentation",
    "end_labels",
    "has_word_labels",
    "in_language",
    "question_for",
    "question_in",
    "thanks_in",
]
