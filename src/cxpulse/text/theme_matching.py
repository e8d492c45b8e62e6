"""Finding a taxonomy's themes in a clause, on lemmas.

A :class:`ThemeMatcher` is built once per taxonomy: every phrase is lemmatised with the very
function that lemmatises the comments (:func:`cxpulse.text.lemmas.lemmatise`), so a phrase
written once ("arrived late", "entrega atrasada") matches its inflected forms ("the
deliveries were late", "entregas atrasadas"). The rules:

- a one-word phrase matches that lemma anywhere in the clause;
- a longer phrase matches its lemmas in order, with at most one other word between two of
  them ("not received" matches "not yet received"; "kom fram" matches "kom aldrig fram");
- in Portuguese, Spanish and French, where comments are often typed without accents,
  accents are ignored on both sides ("nao recebi", "entrega rapida"), and each accented word
  of a phrase is also lemmatised as typed without its accents, because the lemmatiser knows
  "rápida" but not "rapida" - unless that spelling is another word ("funcionaria" is a form
  of "funcionar", so it does not stand in for "funcionária");
- a theme counts once per clause, reported with the phrase found first (a longer phrase
  before a one-word one at the same place), and a theme that implies others
  (``delivery-delay`` implies ``delivery``) reports them too, with the same phrase.

Speed: phrases are indexed per language by their first lemma and then their second, so a
clause costs one dictionary look-up per word, two more where a word starts a phrase, and a
check of the few phrases that start with both; 100,000 comments of fifteen words take about
a second.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from cxpulse.text.lemmas import lemmatise
from cxpulse.text.taxonomy import Taxonomy

__all__ = ["ACCENT_FOLDED_LANGUAGES", "ThemeMatcher"]

ACCENT_FOLDED_LANGUAGES = frozenset({"pt", "es", "fr"})
"""Languages matched without accents. Not German, Swedish or Dutch, where an accent or umlaut
tells words apart ("schön"/"schon", "får"/"far"), nor Macedonian, whose ѓ and ќ are letters
of their own."""

_MAX_SPELLINGS = 16
"""At most this many lemma sequences per phrase (two spellings of four accented words)."""

Lemmatiser = Callable[[str, str], Sequence[str]]


@lru_cache(maxsize=1 << 16)
def _strip_accents(word: str) -> str:
    """``word`` without its combining marks ("não" -> "nao", "ç" -> "c")."""
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _fold(lemmas: Sequence[str]) -> tuple[str, ...]:
    # isascii first: most lemmas have no accent, and the check is far cheaper than the cache.
    return tuple([lemma if lemma.isascii() else _strip_accents(lemma) for lemma in lemmas])


@dataclass(frozen=True)
class _Pattern:
    rest: tuple[str, ...]
    """The phrase's lemmas after the two that index it (empty for a two-word phrase)."""
    theme: int
    """Position of the theme in the taxonomy."""
    phrase: str
    """The phrase as written in the taxonomy: what the mention reports."""


@dataclass
class _Entry:
    """The phrases that start with one lemma: one-word phrases, and longer ones by their
    second lemma, so that a clause word costs two dictionary look-ups for the places the
    second word may stand instead of a check of every phrase that starts the same way
    (Portuguese has dozens that start with "não")."""

    single: list[tuple[int, str]] = field(default_factory=list)
    by_second: dict[str, list[_Pattern]] = field(default_factory=dict)


class ThemeMatcher:
    """The themes of one taxonomy, ready to be found in lemmatised clauses.

    Build it once and share it (it is read-only after construction, so threads may share it
    too); :attr:`version` is the taxonomy's, for the assignments made with it.
    """

    def __init__(self, taxonomy: Taxonomy, lemmatiser: Lemmatiser = lemmatise) -> None:
        self._taxonomy = taxonomy
        self._lemmatise = lemmatiser
        self._keys = taxonomy.keys
        self._implied: tuple[tuple[int, ...], ...] = tuple(
            tuple(self._keys.index(key) for key in taxonomy.implied_keys(theme.key))
            for theme in taxonomy.themes
        )
        # Each language's index is built on its first match: building one lemmatises its
        # phrases, which loads that language's dictionary (seconds and about 70 MB each), so a
        # file or an organisation in two languages never pays for the other six.
        self._index: dict[str, dict[str, _Entry]] = {}
        self._building = threading.Lock()

    def _language_index(self, language: str) -> dict[str, _Entry]:
        index = self._index.get(language)
        if index is not None:
            return index
        with self._building:
            index = self._index.get(language)
            if index is None:
                index = self._build(language)
                self._index[language] = index
        return index

    def _build(self, language: str) -> dict[str, _Entry]:
        by_first: dict[str, _Entry] = {}
        for position, theme in enumerate(self._taxonomy.themes):
            for phrase in theme.phrases.get(language, ()):
                for lemmas in self._phrase_lemmas(phrase, language):
                    entry = by_first.setdefault(lemmas[0], _Entry())
                    if len(lemmas) == 1:
                        if all(theme_at != position for theme_at, _ in entry.single):
                            entry.single.append((position, phrase))
                    else:
                        entry.by_second.setdefault(lemmas[1], []).append(
                            _Pattern(lemmas[2:], position, phrase)
                        )
        for entry in by_first.values():
            for second, patterns in entry.by_second.items():
                entry.by_second[second] = _dedupe(patterns)
        return by_first

    @property
    def taxonomy(self) -> Taxonomy:
        return self._taxonomy

    @property
    def version(self) -> str:
        return self._taxonomy.version

    def phrase_lemmas(self, phrase: str, language: str) -> list[tuple[str, ...]]:
        """The lemma sequences ``phrase`` is matched as: one, or more where its accented words
        may also be typed without accents; none when it has no word. For people who edit
        phrases: it shows what a phrase will match."""
        return self._phrase_lemmas(phrase, language)

    def _phrase_lemmas(self, phrase: str, language: str) -> list[tuple[str, ...]]:
        if language not in ACCENT_FOLDED_LANGUAGES:
            lemmas = tuple(self._lemmatise(phrase, language))
            return [lemmas] if lemmas else []
        # Word by word (lemmas depend on the word alone, so this is the phrase's lemmas): each
        # word as written, and also as typed without accents when the lemmatiser takes that
        # spelling for no other word ("rapida" is left alone, so it joins "rápida";
        # "funcionaria" is a form of "funcionar", so it must not join "funcionária").
        choices: list[list[tuple[str, ...]]] = []
        for word in phrase.split():
            written = _fold(self._lemmatise(word, language))
            options = [written] if written else []
            plain = _strip_accents(word)
            if plain != word and written:
                plain_lemmas = tuple(self._lemmatise(plain, language))
                if plain_lemmas == (plain.lower(),) and plain_lemmas != written:
                    options.append(plain_lemmas)
            if options:
                choices.append(options)
        if not choices:
            return []
        found: list[tuple[str, ...]] = []
        for combination in itertools.islice(itertools.product(*choices), _MAX_SPELLINGS):
            lemmas = tuple(lemma for part in combination for lemma in part)
            if lemmas not in found:
                found.append(lemmas)
        return found

    def match(self, clause_lemmas: Sequence[str], language: str) -> list[tuple[str, str]]:
        """``(theme key, phrase)`` for each theme found in the clause, in the order they
        appear, each theme once; the themes a found theme implies follow it."""
        if not clause_lemmas:
            return []
        by_first = self._language_index(language)
        if not by_first:
            return []
        lemmas = _fold(clause_lemmas) if language in ACCENT_FOLDED_LANGUAGES else clause_lemmas
        if by_first.keys().isdisjoint(lemmas):
            return []  # most clauses: decided without a Python-level loop
        found: dict[int, str] = {}
        end = len(lemmas)
        for start, entry in enumerate(map(by_first.get, lemmas)):
            if entry is None:
                continue
            if entry.by_second:
                # Longer phrases first, so a theme is reported with its most telling phrase.
                for place in (start + 1, start + 2):
                    if place >= end:
                        break
                    patterns = entry.by_second.get(lemmas[place])
                    if patterns is None:
                        continue
                    for pattern in patterns:
                        if pattern.theme not in found and (
                            not pattern.rest or _follows(lemmas, place + 1, pattern.rest)
                        ):
                            found[pattern.theme] = pattern.phrase
            for theme, phrase in entry.single:
                if theme not in found:
                    found[theme] = phrase
        if not found:
            return []
        result: list[tuple[str, str]] = []
        reported: set[int] = set()
        for theme, phrase in found.items():
            for position in (theme, *self._implied[theme]):
                if position not in reported:
                    reported.add(position)
                    result.append((self._keys[position], found.get(position, phrase)))
        return result

    def match_text(self, text: str, language: str) -> list[tuple[str, str]]:
        """The themes of ``text`` taken as one clause: for a short phrase or a test. The
        comment pipeline splits comments into clauses first (:func:`~cxpulse.text.lemmas.
        clauses`), so that each mention gets the sentiment of its own clause."""
        return self.match(self._lemmatise(text, language), language)


def _follows(lemmas: Sequence[str], position: int, rest: tuple[str, ...]) -> bool:
    """Whether ``rest`` occurs in order from ``position``, each word either next or one word
    further on than the previous one. Tries the nearer place first and backtracks, so "not
    not received" still finds "not received"."""
    if not rest:
        return True
    want = rest[0]
    end = len(lemmas)
    for place in (position, position + 1):
        if place < end and lemmas[place] == want and _follows(lemmas, place + 1, rest[1:]):
            return True
    return False


def _dedupe(patterns: list[_Pattern]) -> list[_Pattern]:
    """One pattern per (lemmas, theme), longest phrases first, so a clause reports the most
    specific phrase that names a theme."""
    unique: dict[tuple[tuple[str, ...], int], _Pattern] = {}
    for pattern in patterns:
        unique.setdefault((pattern.rest, pattern.theme), pattern)
    return sorted(unique.values(), key=lambda pattern: -len(pattern.rest))
