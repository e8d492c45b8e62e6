"""Words, lemmas, stopwords and clauses of a comment, per language.

Everything after language detection works on lemmas (``delivered``, ``deliveries`` ->
``deliver``/``delivery``), so a taxonomy phrase written once matches its inflected forms. The
lemmatiser is simplemma (dictionaries shipped in the package, all eight languages including
Macedonian); each (token, language) pair is looked up once per process through a cache, which
keeps 100,000 comments to a second or two.

simplemma's dictionaries are read from marisa tries kept in cxpulse's cache folder
(:func:`trie_directory`), built once per simplemma version: decoding the shipped dictionaries
of the eight languages costs every process 6-8 CPU seconds and about 500 MB, loading the tries
a few hundredths of a second and 30 MB, with the same lemmas. When that folder cannot be
written, the shipped dictionaries are used as before, after one warning.

Tokens are runs of letters in any script (Latin with diacritics, Cyrillic), with apostrophes
kept inside a word; digits, punctuation and hyphens separate tokens. Two kinds of clitics are
split so that negation survives as a word of its own: English ``n't`` (``didn't`` -> ``do``,
``not``) and the French elided words (``n'est`` -> ``ne``, ``être``; ``l'article`` -> ``le``,
``article``). Negation words are never lemmatised away and never count as stopwords:
sentiment needs "not good", and discovery needs "not received".

Stopwords are stopwordsiso's lists, which have none for Macedonian (so this module keeps a
short list of its own) and which count some customer-experience words as stopwords (English
``order``, ``problem``, ``website``; Portuguese ``tempo``, ``falta``; French ``retour``):
those are kept as content words (see ``_CONTENT_WORDS``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import simplemma
import stopwordsiso
from platformdirs import user_cache_dir
from simplemma.strategies import DefaultStrategy
from simplemma.strategies.dictionaries import DEFAULT_DICTIONARY_FACTORY, TrieDictionaryFactory

from cxpulse.text.comments import LANGUAGES


def _word_set(words: str) -> frozenset[str]:
    """The words of a space-separated list (the data below reads better as prose)."""
    return frozenset(words.split())


NEGATIONS: dict[str, frozenset[str]] = {
    "en": _word_set("not no never nothing none nobody nowhere neither nor without"),
    "sv": _word_set("inte ej icke aldrig ingen inget inga ingenting varken utan"),
    "nl": _word_set("niet geen nooit niets niks niemand nergens noch zonder"),
    "mk": _word_set("не нема ниту никогаш ништо никој ниеден ниедна ниедно без"),
    "de": _word_set(
        "nicht kein keine keinen keinem keiner keines nie niemals nichts niemand weder ohne"
    ),
    "fr": _word_set("ne pas jamais rien aucun aucune personne ni sans non"),
    "es": _word_set("no nunca jamás nada nadie ningún ninguno ninguna ni sin tampoco"),
    "pt": _word_set("não nao nunca jamais nada ninguém nenhum nenhuma nem sem"),
}
"""Words that negate what follows, per language: kept verbatim by :func:`lemmatise` and never
stopwords, so that the sentiment lexicon can turn "not good" around."""

_MACEDONIAN_STOPWORDS = _word_set(
    # stopwordsiso has no Macedonian list: pronouns, possessives, demonstratives,
    # prepositions, conjunctions and the forms of "to be"/"to have"/"will".
    """
    и или а но ама па туку да ќе би се си сум е сме сте беше бев беа бил била било биле
    јас ти тој таа тоа ние вие тие мене ме тебе те него го неа ја нас вас ве нив ги ми му ѝ
    им ни ви мој моја мое мои твој твоја твое твои негов негова негово негови нејзин нејзина
    нејзино нејзини наш наша наше наши ваш ваша ваше ваши нивен нивна нивно нивни свој своја
    свое свои овој оваа ова овие оној онаа она оние кој која кое кои што чиј каде кога како
    зошто колку дали ако дека додека откако пред после по на во со за од до кај низ меѓу
    преку под над околу спроти покрај при кон според заради поради уште веќе само исто
    така многу малку сè сите секој секоја секое некој некоја некое некои тука таму сега
    тогаш вчера денес утре ли нека ете еве ено оти зашто бидејќи иако имам имаш има имаме
    имате имаат биде
    """
)

_CONTENT_WORDS: dict[str, frozenset[str]] = {
    "en": _word_set(
        """order orders ordered ordering problem problems help work worked working works
        website webpage site page pages homepage computer system bill value free early late
        lately later long longer quickly promptly poorly date sent open opened"""
    ),
    "sv": _word_set(
        """länge långsam långsamt långsammare sent senare tidig tidigt tidigare snart dagar
        dagarna dagen nummer"""
    ),
    "nl": _word_set("later vroeg gauw laatst"),
    "mk": frozenset(),
    "de": _word_set("lange lang zeit später tage tagen offen"),
    "fr": _word_set("retour attendu attendre longtemps tardive ouvert pièce"),
    "es": _word_set(
        "tiempo tarde largo valor horas trabajo trabajar lejos pronto despacio deprisa temprano"
    ),
    "pt": _word_set("tempo falta faltar valor hora horas sistema trabalho viagem longe tarde cedo"),
}
"""Customer-experience words that stopwordsiso lists but that name what a comment is about."""

_CONTRAST_CONJUNCTIONS: dict[str, tuple[str, ...]] = {
    "en": ("but",),
    "sv": ("men",),
    "nl": ("maar",),
    "mk": ("но", "ама"),
    "de": ("aber", "sondern"),
    "fr": ("mais",),
    "es": ("pero", "sino"),
    "pt": ("mas",),
}
"""Contrast words that start a new clause wherever they stand."""

_CONTRAST_ADVERBS: dict[str, tuple[str, ...]] = {
    "en": ("however", "although", "though"),
    "sv": ("dock", "däremot"),
    "nl": ("echter", "daarentegen"),
    "mk": ("сепак", "меѓутоа"),
    "de": ("jedoch", "allerdings"),
    "fr": ("cependant", "toutefois", "pourtant"),
    "es": ("sin embargo", "aunque"),
    "pt": ("porém", "contudo", "no entanto", "entretanto"),
}
"""Contrast words that can also sit inside one clause ("The delivery, however, was late"): a
split at one of them is undone when it would leave fewer than :data:`_MIN_ADVERB_SPLIT_WORDS`
words before it."""
_MIN_ADVERB_SPLIT_WORDS = 3

_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_SENTENCE_BREAK = re.compile(r"[!?;\n\r…]+|\.+(?!\d)|(?<!\d)\.+")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_CLAUSE_EDGES = " \t,:-–—()\"'«»“”"

_ENGLISH_NOT = {"can't": "can", "won't": "will", "shan't": "shall", "ain't": "be"}
_ENGLISH_CLITICS = {"'re": "be", "'m": "be", "'ll": "will", "'ve": "have", "'d": "would"}
_FRENCH_ELISIONS = {
    "l": "le", "d": "de", "j": "je", "m": "me", "n": "ne", "s": "se", "t": "te", "c": "ce",
    "qu": "que", "jusqu": "jusque", "lorsqu": "lorsque", "puisqu": "puisque",
}  # fmt: skip


def _normalise(text: str) -> str:
    """NFC (so a decomposed "é" stays one letter) and one kind of apostrophe."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.replace("\u2019", "'").replace("\u02bc", "'")


def tokens(text: str, language: str) -> list[str]:
    """The lowercase word tokens of ``text``, with the clitics of the module docstring split."""
    found = _TOKEN.findall(_normalise(text).lower())
    if "'" not in text and "\u2019" not in text and "\u02bc" not in text:
        return found  # the common case: no clitic to split
    words: list[str] = []
    for word in found:
        words.extend(_split_clitics(word, language))
    return words


def _split_clitics(word: str, language: str) -> Iterator[str]:
    if "'" not in word:
        yield word
        return
    if language == "en":
        if word.endswith("n't"):
            yield _ENGLISH_NOT.get(word, word[:-3])
            yield "not"
            return
        head, _, tail = word.rpartition("'")
        if head and "'" + tail in _ENGLISH_CLITICS:
            yield head
            yield _ENGLISH_CLITICS["'" + tail]
            return
        if head and tail == "s":
            yield head  # possessive or "is": both would be stopwords anyway
            return
    elif language == "fr":
        head, _, tail = word.partition("'")
        if head in _FRENCH_ELISIONS and tail:
            yield _FRENCH_ELISIONS[head]
            yield from _split_clitics(tail, language)
            return
    yield word


logger = logging.getLogger(__name__)

ABANDONED_AFTER_SECONDS = 3600.0
"""How old a temporary trie file must be to count as left by a killed process."""


def trie_directory() -> Path:
    """Where the lemma tries are kept: ``simplemma/VERSION`` in cxpulse's user cache folder
    (``~/.cache/cxpulse/simplemma/2.0.0`` on Linux), so a new simplemma builds its own."""
    return Path(user_cache_dir("cxpulse")) / "simplemma" / simplemma.__version__


class TrieDictionaries(TrieDictionaryFactory):
    """simplemma's trie dictionaries, cached in ``directory``, safe for several processes and
    never a reason for the analysis to fail.

    simplemma saves a new trie straight to its final name, so a second process building or
    loading the same language at that moment could read half a file (and delete it as
    corrupt): here each process writes a file of its own and renames it into place, which is
    atomic, so a trie on disk is always whole. A folder that cannot be written (read-only
    home, full disk) switches the languages whose trie is missing to simplemma's shipped
    dictionaries, with one warning: building a trie that cannot be kept would cost every
    process more than decoding those.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(cache_max_size=len(LANGUAGES), disk_cache_dir=str(directory))
        self.directory = directory
        self._writable: bool | None = None  # probed before the first trie is built

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        if (self.directory / f"{lang}.dic").is_file() or self._can_write():
            try:
                return super()._get_dictionary_uncached(lang)
            except OSError as error:
                # A corrupt trie in a folder that has since become read-only: simplemma
                # cannot delete it to build it again.
                self._give_up(error)
        return DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang)

    def _write_trie_to_disk(self, lang: str, trie: Any) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{lang}-", suffix=".tmp", dir=self.directory
            )
            os.close(handle)
            try:
                trie.save(temporary)
                os.chmod(temporary, 0o644)  # public data; mkstemp made it private
                # On disk before it gets its name: after a power cut a renamed but empty
                # file would be taken for a corrupt trie and built again.
                with open(temporary, "rb") as saved:
                    os.fsync(saved.fileno())
                os.replace(temporary, self.directory / f"{lang}.dic")
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except (OSError, RuntimeError) as error:  # marisa reports a full disk as RuntimeError
            # This language keeps the trie just built; the next ones use the shipped
            # dictionaries.
            self._give_up(error)

    def _can_write(self) -> bool:
        if self._writable is None:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".probe-"):
                    pass
                self._writable = True
            except OSError as error:
                self._give_up(error)
            else:
                self._remove_abandoned()
        return bool(self._writable)

    def _remove_abandoned(self) -> None:
        """Delete the half-written tries of processes killed while saving one: a build takes
        seconds, so a temporary file an hour old has no writer any more."""
        cutoff = time.time() - ABANDONED_AFTER_SECONDS
        for leftover in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):  # another process removed or renamed it
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def _give_up(self, error: BaseException) -> None:
        if self._writable is not False:
            logger.warning(
                "The lemma dictionaries cannot be cached in %s (%s): using simplemma's "
                "shipped dictionaries, which take longer to load and more memory",
                self.directory,
                error,
            )
        self._writable = False


def trie_lemmatizer(directory: Path) -> simplemma.Lemmatizer:
    """simplemma's default lemmatiser (what ``simplemma.lemmatize`` uses) on the tries kept in
    ``directory``. It caches nothing itself: :func:`_lemma` does."""
    strategy = DefaultStrategy(dictionary_factory=TrieDictionaries(directory))
    return simplemma.Lemmatizer(cache_max_size=0, lemmatization_strategy=strategy)


@lru_cache(maxsize=1)
def _lemmatizer() -> simplemma.Lemmatizer:
    return trie_lemmatizer(trie_directory())


_lookup_lock = threading.Lock()
"""Held for a look-up the cache did not have: the first one of a language loads (or builds)
its dictionary, which the threads of a worker must not each do at once."""


@lru_cache(maxsize=1 << 18)
def _lemma(token: str, language: str) -> str:
    if language not in LANGUAGES or token in NEGATIONS[language]:
        return token
    with _lookup_lock:
        return _lemmatizer().lemmatize(token, language).lower()


def lemmatise(text: str, language: str) -> tuple[str, ...]:
    """One lowercase lemma per word of ``text``, in order, stopwords and negations included.

    A language outside the eight gives the lowercase tokens themselves.
    """
    lemma = _lemma
    return tuple([lemma(token, language) for token in tokens(text, language)])


_stopwords: dict[str, frozenset[str]] = {}
_stopwords_lock = threading.Lock()


def _stopword_set(language: str) -> frozenset[str]:
    found = _stopwords.get(language)
    if found is not None:
        return found
    with _stopwords_lock:
        found = _stopwords.get(language)
        if found is None:
            found = _build_stopwords(language)
            _stopwords[language] = found
    return found


def _build_stopwords(language: str) -> frozenset[str]:
    if language not in LANGUAGES:
        return frozenset()
    if language == "mk":
        words: set[str] = set(_MACEDONIAN_STOPWORDS)
    else:
        words = {word.lower() for word in stopwordsiso.stopwords(language)}
    # The lists hold surface forms; is_stopword is asked about lemmas, so both count.
    for word in list(words):
        words.update(_lemma(token, language) for token in tokens(word, language))
    keep = _CONTENT_WORDS[language] | NEGATIONS[language]
    keep_lemmas = {_lemma(word, language) for word in keep}
    return frozenset(words - keep - keep_lemmas)


def is_stopword(lemma: str, language: str) -> bool:
    """Whether ``lemma`` (lowercase) carries no topic in ``language``: articles, pronouns,
    auxiliaries ... Negation words and the customer-experience words of ``_CONTENT_WORDS`` are
    never stopwords."""
    return lemma in _stopword_set(language)


def content_lemmas(text: str, language: str) -> tuple[str, ...]:
    """The lemmas of ``text`` without stopwords (and without numbers, which are never
    tokens): the words that say what a comment is about, as discovery needs them."""
    stop = _stopword_set(language)
    return tuple(lemma for lemma in lemmatise(text, language) if lemma not in stop)


def _contrast_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in words)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


_CONJUNCTION_PATTERNS = {lang: _contrast_pattern(w) for lang, w in _CONTRAST_CONJUNCTIONS.items()}
_ADVERB_PATTERNS = {lang: _contrast_pattern(w) for lang, w in _CONTRAST_ADVERBS.items()}


def clauses(text: str, language: str) -> list[str]:
    """The clauses of ``text``: its sentences (split at . ! ? ; and line breaks, not at the
    point of "19.99"), each split again at the language's contrast words, which are dropped.

    "Fast delivery but rude support" gives ``["Fast delivery", "rude support"]``, so the
    delivery is praised and the support blamed separately. Clauses without letters are left
    out; a language outside the eight splits into sentences only.
    """
    result: list[str] = []
    conjunctions = _CONJUNCTION_PATTERNS.get(language)
    adverbs = _ADVERB_PATTERNS.get(language)
    for sentence in _SENTENCE_BREAK.split(_normalise(text)):
        parts = conjunctions.split(sentence) if conjunctions is not None else [sentence]
        for part in parts:
            pieces = _split_at_adverbs(part, adverbs) if adverbs is not None else [part]
            for piece in pieces:
                clause = piece.strip(_CLAUSE_EDGES)
                if _HAS_LETTER.search(clause):
                    result.append(clause)
    return result


def _split_at_adverbs(part: str, adverbs: re.Pattern[str]) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in adverbs.finditer(part):
        before = part[start : match.start()]
        if len(_TOKEN.findall(before)) >= _MIN_ADVERB_SPLIT_WORDS:
            pieces.append(before)
            start = match.end()
        elif not _TOKEN.search(before):
            start = match.end()  # the sentence opens with it: "However, the support ..."
    pieces.append(part[start:])
    return pieces
