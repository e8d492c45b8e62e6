"""A rule's conditions: the JSON document a person writes, checked into typed values, and
whether an answer meets them. Pure logic: no database, no clock.

The document (every key optional; all given keys must hold, and a list means "any of")::

    {
      "band": ["detractor"],             # the survey's score band (see BAND_NAMES)
      "score": {"min": 1, "max": 2},     # the answer's score, inclusive
      "theme": ["delivery", "billing"],  # a theme key of the organisation's taxonomy
      "sentiment": ["negative"],         # the analysed comment's sentiment
      "comment": "present",              # or "absent"
      "segments": {                      # the filters' dimensions, values in any case
        "channel": ["email"],
        "property:product": ["Pro", "Team"],
        "contact:vip": ["yes"]
      },
      "contact_consent": true            # the respondent agreed to be contacted
    }

Bands come from the survey's own thresholds (``metrics.Thresholds``): the same definition
the scores use, so "detractor" here is a detractor in the NPS. Segment values are matched
by the filters' rule (``store.segment_values.fold``: Unicode case fold), so ``"email"``
matches a stored ``"Email"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cxpulse.metrics import MetricSpec
from cxpulse.store import _values as values
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import parse_dimension
from cxpulse.store.segment_values import fold

__all__ = [
    "BAND_NAMES",
    "Answer",
    "Conditions",
    "InvalidRule",
    "Problem",
    "band_of",
    "matches",
    "parse_conditions",
]

Band = Literal["bottom", "middle", "top"]

BAND_NAMES: dict[str, Band] = {
    "bottom": "bottom",
    "middle": "middle",
    "top": "top",
    "detractor": "bottom",
    "passive": "middle",
    "promoter": "top",
    "dissatisfied": "bottom",
    "neutral": "middle",
    "satisfied": "top",
    "hard": "bottom",
    "easy": "top",
}
"""The words a rule may use for a band, by the position they name on every scale: NPS's
detractor/passive/promoter, CSAT's dissatisfied/neutral/satisfied, CES's hard/neutral/easy."""

SENTIMENTS = ("negative", "neutral", "positive")
COMMENT_STATES = ("present", "absent")
KNOWN_KEYS = ("band", "score", "theme", "sentiment", "comment", "segments", "contact_consent")
MAX_CHOICES = 50
"""Values in one "any of" list: a rule is read by people, not a lookup table."""
MAX_SEGMENTS = 10


@dataclass(frozen=True)
class Problem:
    field: str
    """Dotted path inside the rule (``conditions.band.0``)."""
    message: str


class InvalidRule(Invalid):
    """A rule document with problems; ``problems`` lists each, ``field`` is the first's."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(first.field, first.message)
        self.problems = problems


@dataclass(frozen=True)
class Conditions:
    bands: frozenset[Band] = frozenset()
    min_score: float | None = None
    max_score: float | None = None
    themes: frozenset[str] = frozenset()
    sentiments: frozenset[str] = frozenset()
    comment: Literal["present", "absent"] | None = None
    segments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Dimension -> folded values, any of which matches."""
    contact_consent: bool | None = None
    document: Mapping[str, Any] = field(default_factory=dict)
    """The checked document, as stored (lists without repeats, values trimmed)."""

    @property
    def needs_analysis(self) -> bool:
        """Whether the answer's comment must be analysed before this can be decided."""
        return bool(self.themes or self.sentiments)


@dataclass(frozen=True)
class Answer:
    """What the conditions look at in one answer."""

    score: float
    spec: MetricSpec
    has_comment: bool
    analysed: bool
    sentiment: str | None = None
    themes: frozenset[str] = frozenset()
    segments: Mapping[str, str] = field(default_factory=dict)
    """Dimension (``channel``, ``property:product``, ``contact:vip``) -> stored value."""
    contact_consent: bool | None = None


def band_of(score: float, spec: MetricSpec) -> Band:
    """The answer's band by the survey's thresholds (the definition the scores use)."""
    if score >= spec.thresholds.top_min:
        return "top"
    if score <= spec.thresholds.bottom_max:
        return "bottom"
    return "middle"


def matches(conditions: Conditions, answer: Answer) -> bool:
    """Whether ``answer`` meets every condition."""
    if conditions.bands and band_of(answer.score, answer.spec) not in conditions.bands:
        return False
    if conditions.min_score is not None and answer.score < conditions.min_score:
        return False
    if conditions.max_score is not None and answer.score > conditions.max_score:
        return False
    if conditions.comment == "present" and not answer.has_comment:
        return False
    if conditions.comment == "absent" and answer.has_comment:
        return False
    if conditions.themes and not (conditions.themes & answer.themes):
        return False
    if conditions.sentiments and answer.sentiment not in conditions.sentiments:
        return False
    if (
        conditions.contact_consent is not None
        and answer.contact_consent is not conditions.contact_consent
    ):
        return False
    for dimension, wanted in conditions.segments.items():
        stored = answer.segments.get(dimension)
        if stored is None or fold(stored) not in wanted:
            return False
    return True


def parse_conditions(document: object, prefix: str = "conditions") -> Conditions:
    """Check a conditions document; ``InvalidRule`` naming every problem's field."""
    problems: list[Problem] = []
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise InvalidRule([Problem(prefix, "must be an object")])
    for key in document:
        if key not in KNOWN_KEYS:
            problems.append(
                Problem(f"{prefix}.{key}", f"is not a condition; use {', '.join(KNOWN_KEYS)}")
            )
    stored: dict[str, Any] = {}

    bands = _choices(document, "band", prefix, problems, allowed=tuple(BAND_NAMES))
    if bands:
        stored["band"] = bands
    min_score, max_score = _score_range(document.get("score"), f"{prefix}.score", problems)
    if min_score is not None or max_score is not None:
        stored["score"] = {
            k: v for k, v in (("min", min_score), ("max", max_score)) if v is not None
        }
    themes = _choices(document, "theme", prefix, problems, slugs=True)
    if themes:
        stored["theme"] = themes
    sentiments = _choices(document, "sentiment", prefix, problems, allowed=SENTIMENTS)
    if sentiments:
        stored["sentiment"] = sentiments
    comment = document.get("comment")
    if comment is not None:
        if comment in COMMENT_STATES:
            stored["comment"] = comment
        else:
            problems.append(Problem(f"{prefix}.comment", "must be 'present' or 'absent'"))
    segments = _segments(document.get("segments"), f"{prefix}.segments", problems)
    if segments:
        stored["segments"] = segments
    consent = document.get("contact_consent")
    if consent is not None:
        if isinstance(consent, bool):
            stored["contact_consent"] = consent
        else:
            problems.append(Problem(f"{prefix}.contact_consent", "must be true or false"))
    if problems:
        raise InvalidRule(problems)
    return Conditions(
        bands=frozenset(BAND_NAMES[b] for b in bands),
        min_score=min_score,
        max_score=max_score,
        themes=frozenset(themes),
        sentiments=frozenset(sentiments),
        comment=stored.get("comment"),
        segments={d: frozenset(fold(v) for v in vs) for d, vs in segments.items()},
        contact_consent=stored.get("contact_consent"),
        document=stored,
    )


def _as_list(value: object) -> list[object] | None:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    return None


def _choices(
    document: Mapping[str, Any],
    key: str,
    prefix: str,
    problems: list[Problem],
    *,
    allowed: tuple[str, ...] = (),
    slugs: bool = False,
) -> list[str]:
    where = f"{prefix}.{key}"
    given = _as_list(document.get(key))
    if given is None:
        problems.append(Problem(where, "must be a text or a list of texts"))
        return []
    if len(given) > MAX_CHOICES:
        problems.append(Problem(where, f"has {len(given)} values; at most {MAX_CHOICES}"))
        return []
    out: list[str] = []
    for n, item in enumerate(given):
        here = f"{where}.{n}" if len(given) > 1 or isinstance(document.get(key), list) else where
        if not isinstance(item, str) or not item.strip():
            problems.append(Problem(here, "must be a non-empty text"))
            continue
        text = item.strip().lower() if allowed or slugs else item.strip()
        if allowed and text not in allowed:
            problems.append(Problem(here, f"{item!r} is not one of {', '.join(allowed)}"))
            continue
        if slugs:
            try:
                values.slug(here, text)
            except Invalid as error:
                problems.append(Problem(here, f"{item!r} is not a theme key: {error.message}"))
                continue
        if text not in out:
            out.append(text)
    return out


def _number(value: object, where: str, problems: list[Problem]) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(Problem(where, "must be a number"))
        return None
    return float(value)


def _score_range(
    value: object, where: str, problems: list[Problem]
) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        problems.append(Problem(where, 'must be an object such as {"min": 1, "max": 2}'))
        return None, None
    for key in value:
        if key not in ("min", "max"):
            problems.append(Problem(f"{where}.{key}", "is not 'min' or 'max'"))
    low = _number(value.get("min"), f"{where}.min", problems)
    high = _number(value.get("max"), f"{where}.max", problems)
    if low is not None and high is not None and low > high:
        problems.append(Problem(f"{where}.max", f"is below the minimum {low:g}"))
    return low, high


def _segments(value: object, where: str, problems: list[Problem]) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(
            Problem(where, 'must be an object such as {"channel": ["email"], "contact:vip": "yes"}')
        )
        return {}
    if len(value) > MAX_SEGMENTS:
        problems.append(Problem(where, f"has {len(value)} dimensions; at most {MAX_SEGMENTS}"))
        return {}
    out: dict[str, list[str]] = {}
    for dimension, wanted in value.items():
        here = f"{where}.{dimension}"
        try:
            parse_dimension(str(dimension))
        except Invalid:
            problems.append(
                Problem(
                    here,
                    f"{dimension!r} is not channel, touchpoint, language, source, "
                    "property:<name> or contact:<name>",
                )
            )
            continue
        given = wanted if isinstance(wanted, list) else [wanted]
        if not given or given == [None]:
            problems.append(Problem(here, "needs at least one value"))
            continue
        checked: list[str] = []
        for n, item in enumerate(given):
            if isinstance(item, bool):
                item = "true" if item else "false"
            elif isinstance(item, int):
                item = str(item)
            if not isinstance(item, str):
                problems.append(Problem(f"{here}.{n}", "must be a text"))
                continue
            try:
                text = values.text(f"{here}.{n}", item, values.MAX_TEXT_VALUE_LENGTH)
            except Invalid as error:
                problems.append(Problem(error.field, error.message))
                continue
            if text is None:
                problems.append(Problem(f"{here}.{n}", "must not be blank"))
            elif text not in checked:
                checked.append(text)
        if len(checked) > MAX_CHOICES:
            problems.append(Problem(here, f"has {len(checked)} values; at most {MAX_CHOICES}"))
        elif checked:
            out[str(dimension)] = checked
    return out
