"""The team's lexicon of customer-experience words: the last resort before "unknown".

``data/sentiment_lexicon.json`` lists, per language of :data:`~cxpulse.text.comments.LANGUAGES`,
positive words ("fast", "friendly", "recommend" ...), negative words ("slow", "rude",
"broken" ...), a few multi-word phrases ("on time", "antes do prazo", "not received") and
the negators ("not", "inte", "niet", "nicht", "pas", "no", "não", "не" ...). The words are
stored as people write them and lemmatised here when a language is first used, with the same
:func:`~cxpulse.text.lemmas.lemmatise` the comments go through, so "delayed", "delays" and
"delay" all meet at one lemma and the file stays readable.

A comment's lemmas are read left to right: a negator turns the sentiment of what follows it
around for the next :data:`NEGATION_WINDOW` words ("not good", "inte bra", "não chegou no
prazo"); each hit counts one vote; more positive votes than negative is positive, the
reverse negative, and no hit or a tie is ``unknown`` - a guess would be worse than saying so.
There are no intensities: the lexicon only speaks when the model cannot, and then its job is
to get the direction right.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from cxpulse.text.comments import LANGUAGES, Sentiment
from cxpulse.text.lemmas import lemmatise

__all__ = [
    "NEGATION_WINDOW",
    "Lexicon",
    "lexicon",
    "lexicon_sentiment",
    "lexicon_votes",
]

NEGATION_WINDOW = 3
"""How many words after a negator it turns around: enough for "not very good", "não foi
entregue no prazo", "ne ... pas"; short enough that "not sure yet, but great" is not."""

_DATA_FILE = "sentiment_lexicon.json"


@dataclass(frozen=True)
class Lexicon:
    """One language's lexicon, lemmatised.

    ``entries`` maps the first lemma of every entry to its entries (lemma tuple, polarity +1 or
    -1), longest first, so a phrase wins over the single word it starts with.
    """

    language: str
    negators: frozenset[str]
    entries: Mapping[str, tuple[tuple[tuple[str, ...], int], ...]]

    @property
    def size(self) -> int:
        return sum(len(found) for found in self.entries.values())


@cache
def _raw() -> Mapping[str, Mapping[str, list[str]]]:
    text = resources.files("cxpulse.text").joinpath("data", _DATA_FILE).read_text("utf-8")
    languages: Mapping[str, Mapping[str, list[str]]] = json.loads(text)["languages"]
    return languages


@cache
def lexicon(language: str) -> Lexicon | None:
    """The lemmatised lexicon of ``language``, built once per process; ``None`` for a
    language outside the eight.

    An entry whose lemmas come out the same on the positive and on the negative side is left
    out of both (the file's test keeps that from happening).
    """
    if language not in LANGUAGES:
        return None
    raw = _raw()[language]
    polarity: dict[tuple[str, ...], int] = {}
    conflicts: set[tuple[str, ...]] = set()
    for side, sign in (("positive", 1), ("negative", -1)):
        for written in raw[side]:
            lemmas = lemmatise(written, language)
            if not lemmas:
                continue
            if polarity.get(lemmas, sign) != sign:
                conflicts.add(lemmas)
            polarity[lemmas] = sign
    by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    for lemmas, sign in polarity.items():
        if lemmas not in conflicts:
            by_first.setdefault(lemmas[0], []).append((lemmas, sign))
    entries = {
        first: tuple(sorted(found, key=lambda entry: -len(entry[0])))
        for first, found in by_first.items()
    }
    negators = frozenset(
        lemma for written in raw["negators"] for lemma in lemmatise(written, language)
    )
    return Lexicon(language, negators, entries)


def lexicon_votes(lemmas: Sequence[str], language: str) -> tuple[int, int]:
    """(positive, negative) hits of the lexicon in ``lemmas``, after negation.

    A negator opens a window of :data:`NEGATION_WINDOW` words in which each hit counts for the
    other side; a phrase that itself holds a negator ("não recebi", "not received") is one
    hit and opens no window.
    """
    found = lexicon(language)
    if found is None:
        return 0, 0
    entries, negators = found.entries, found.negators
    positive = negative = 0
    window = 0
    position, end = 0, len(lemmas)
    while position < end:
        lemma = lemmas[position]
        length = 0
        for candidate, sign in entries.get(lemma, ()):
            size = len(candidate)
            if tuple(lemmas[position : position + size]) == candidate:
                if (sign > 0) != (window > 0):
                    positive += 1
                else:
                    negative += 1
                length = size
                break
        if length:
            window = max(0, window - length)
            position += length
            continue
        if lemma in negators:
            window = NEGATION_WINDOW
        elif window:
            window -= 1
        position += 1
    return positive, negative


def lexicon_sentiment(lemmas: Sequence[str], language: str) -> Sentiment:
    """Positive or negative by the majority of the lexicon's hits in ``lemmas`` (see
    :func:`lexicon_votes`); ``UNKNOWN`` with no hit, a tie, or a language outside the eight.

    ``lemmas`` are those of :func:`~cxpulse.text.lemmas.lemmatise` (negators kept).
    """
    positive, negative = lexicon_votes(lemmas, language)
    if positive > negative:
        return Sentiment.POSITIVE
    if negative > positive:
        return Sentiment.NEGATIVE
    return Sentiment.UNKNOWN
