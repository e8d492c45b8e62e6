"""Themes nobody defined: groups of comments that share phrases, with a readable label.

The taxonomy finds what an organisation already knows to look for; discovery finds the rest.
It reads the content lemmas of each comment (``lemmas.content_lemmas``: lowercase lemmas
without stopwords or numbers) and works in five steps:

1. Phrases: the unigrams and the bigrams of neighbouring lemmas of each comment, counted with
   numpy on integer codes (no Python string per bigram). A bigram is kept only when it is a
   collocation: its lemmas stand together more often than their frequencies make likely by
   chance, so "late delivery" is a phrase and two common words that happen to meet are not.
   Phrases in a single comment or in more than half of them are dropped, and the vocabulary
   is capped at the ``MAX_VOCABULARY`` most frequent phrases.
2. TF-IDF of the comment x phrase counts (each comment a vector of length 1).
3. Non-negative matrix factorisation (NMF, scikit-learn, ``init="nndsvd"``: deterministic)
   into ``max_themes`` components, each a weighting of phrases.
4. Each comment provisionally joins the component it leans on most. A component is a theme
   only when one phrase defines it: most of its comments hold that phrase, and most comments
   holding the phrase are its own (``MIN_DEFINING_SHARE``, ``MIN_DEFINING_PRECISION``). One
   built on an everyday word ("product", "order") gathers a fraction of that word's comments,
   and one stitched together from rare words that met by chance has no phrase its comments
   share; both are dropped. Two kept components whose lemmas share comments far more than
   chance (``MERGE_NPMI``) are one theme split in two, and are merged.
5. Each comment joins the one theme it leans on most, if it leans on it enough
   (``MIN_STRENGTH``) and not more on a dropped component; themes left with fewer than
   ``min_docs`` comments are dropped. The top phrases are those that set the members apart
   (class-based TF-IDF), the label is the first three ("late delivery · tracking · refund";
   fewer when fewer set them apart), the key its slug.

``exclude`` takes the lemmas and phrases of the themes already defined; the words they cover are
taken out of each comment before anything is counted (leaving a gap, not new neighbours), so
discovery spends its components on what the taxonomy does not name.

Why NMF rather than clustering plus class-based TF-IDF alone: one deterministic factorisation
gives the groups, surplus components fall out at step 4 instead of cutting real groups apart,
and c-TF-IDF still names each group from its members.

What it cannot see: themes said in words that share no lemma (synonyms are different phrases;
the taxonomy is the place for them). Negations are stopwords in most lists, so "not received"
arrives here as "received"; the phrases still group the comments, but read them as topics, not
as verdicts.

Cost on the two-core machine, 100,000 comments of 14 lemmas: about 2 s of CPU (2 s wall when
the machine is idle, 3.5 to 4 s while other work shares it): a third encoding the lemmas, a
third NMF (learnt on at most ``FIT_SAMPLE`` comments), the rest counting phrases. The
vocabulary cap bounds memory; tests/text/test_discovery.py measures it.

The module is one piece (about 540 lines, a third of them docstrings) because the five steps
share their arrays and none is used elsewhere.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

MAX_VOCABULARY = 4_000
"""Phrases (unigrams and bigrams) kept, the most frequent first; bounds time and memory."""

FIT_SAMPLE = 25_000
"""Comments NMF learns its components from at most (see ``_factorise``)."""

MAX_DOC_SHARE = 0.5
"""A phrase in more than this share of the comments describes all of them, not a group."""

MIN_COLLOCATION_LIFT = 1.5
"""A bigram is kept when its two lemmas stand together at least this many times as often as
two tokens drawn at random with their frequencies would (pointwise mutual information of
neighbours, the classic collocation test): chance neighbours score about 1, phrases far more."""

MIN_DEFINING_SHARE = 0.4
"""A component is a theme only when its defining phrase (the one that best picks its comments
out) is held by at least this share of them ..."""

MIN_DEFINING_PRECISION = 0.5
"""... and at least this share of the comments holding that phrase lean on it most."""

MERGE_LEMMAS = 5
"""Top lemmas of each component compared when deciding whether two components are one theme."""

MERGE_NPMI = 0.15
"""Two components are one theme (split in two because NMF was asked for more components than
the data hold) when their top lemmas share comments this much more than chance: mean
normalised pointwise mutual information (NPMI, -1..1, 0 for independent phrases). Phrases of
different themes rarely share a comment and score below 0."""

MIN_STRENGTH = 0.12
"""How strongly a comment must lean on a theme to join it. Each comment's TF-IDF vector has
length 1 and each component is scaled to length 1, so this is about the share of the
comment's vector that the theme explains: comments made only of other words stay out."""

BIGRAM_STANDS_FOR = 0.5
"""A bigram replaces its own lemma among a theme's phrases when at least this share of the
theme's comments holding the lemma hold the bigram: the lemma is mostly said in that phrase."""

LABEL_PHRASES = 3
"""Phrases in a label at most."""

TOP_PHRASES = 8
"""Phrases listed per theme."""

SEPARATOR = " · "

_Array = np.ndarray[Any, Any]
_Terms = list[tuple[str, ...]]
"""The vocabulary: each phrase as its lemmas (one for a unigram, two for a bigram)."""


@dataclass(frozen=True)
class DiscoveredTheme:
    """A group of comments that share phrases no defined theme covers."""

    key: str
    """Slug of the label (``late-delivery-tracking``), unique within one discovery run."""
    label: str
    """Up to three of the top phrases joined by " · ", for people to read."""
    top_phrases: tuple[str, ...]
    """The phrases that set the theme's comments apart, strongest first."""
    members: tuple[int, ...]
    """Indexes (into the ``docs`` given) of the comments in this theme, ascending."""

    @property
    def size(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "top_phrases": list(self.top_phrases),
            "members": list(self.members),
            "size": self.size,
        }


def discover_themes(
    docs: Sequence[Sequence[str]],
    *,
    max_themes: int = 8,
    min_docs: int = 5,
    exclude: Collection[str] = (),
) -> list[DiscoveredTheme]:
    """Themes found in ``docs`` (content lemmas per comment), largest first.

    ``max_themes`` bounds the number of themes (fewer come back when the data hold fewer);
    ``min_docs`` is the fewest comments a theme may have, and with fewer usable comments than
    that the answer is an empty list, never an error. ``exclude`` holds lemmas or
    space-separated lemma phrases ("late delivery") whose occurrences are taken out before
    counting. Each comment belongs to at most one theme. The same input gives the same output.
    """
    if max_themes < 1:
        raise ValueError(f"max_themes must be at least 1, got {max_themes}")
    if min_docs < 1:
        raise ValueError(f"min_docs must be at least 1, got {min_docs}")
    tokens = _Tokens.encode(docs, exclude)
    if tokens.usable_docs < max(min_docs, 2):
        return []
    counted = _count_phrases(tokens)
    if counted is None:
        return []
    counts, terms = counted
    presence = counts.tocsc(copy=True)
    presence.data[:] = 1.0
    frequency = np.diff(presence.indptr).astype(float)  # comments holding each phrase
    weights = _factorise(_tfidf(counts), max_themes)
    groups = _themes_among(weights, presence, terms, frequency)
    return _assign(weights, groups, presence, terms, frequency, min_docs)


# --- step 1: phrases -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tokens:
    """Every lemma of every comment as one integer array, in reading order."""

    ids: _Array
    """Word id of each token."""
    doc: _Array
    """Comment index of each token."""
    kept: _Array
    """False for tokens covered by an excluded lemma or phrase."""
    words: list[str]
    """The word of each id."""
    n_docs: int

    @property
    def usable_docs(self) -> int:
        return len(np.unique(self.doc[self.kept]))

    @classmethod
    def encode(cls, docs: Sequence[Sequence[str]], exclude: Collection[str]) -> _Tokens:
        flat = list(chain.from_iterable(docs))
        # Ids in C loops (dict.fromkeys, map): a Python loop per token costs seconds at 100,000
        # comments.
        index = {word: number for number, word in enumerate(dict.fromkeys(flat))}
        ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        # Lowercase and trim once per distinct word, not per token; blank words count as gaps.
        canonical: dict[str, int] = {}
        remap = np.array(
            [canonical.setdefault(w.strip().lower(), len(canonical)) for w in index] or [0],
            dtype=np.int64,
        )
        words = list(canonical)
        token_ids = remap[ids]
        doc_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        blank = canonical.get("")
        kept = token_ids != blank if blank is not None else np.ones(len(token_ids), bool)
        tokens = cls(token_ids, doc_of, kept, words, len(docs))
        tokens._exclude(exclude, canonical)
        return tokens

    def _exclude(self, exclude: Collection[str], canonical: dict[str, int]) -> None:
        """Mark the tokens covered by excluded lemmas and phrases (matched on the original
        sequence, so one phrase's removal never creates another's match)."""
        phrases = [tuple(entry.lower().split()) for entry in exclude]
        singles = [canonical[p[0]] for p in phrases if len(p) == 1 and p[0] in canonical]
        if singles:
            self.kept[np.isin(self.ids, singles)] = False
        longer = [p for p in phrases if len(p) > 1 and all(w in canonical for w in p)]
        if not longer:
            return
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        last = len(self.ids)
        for phrase in longer:
            wanted = [canonical[word] for word in phrase]
            low, high = np.searchsorted(sorted_ids, [wanted[0], wanted[0] + 1])
            starts = order[low:high]
            starts = starts[starts + len(wanted) <= last]
            for offset, word in enumerate(wanted[1:], start=1):
                starts = starts[self.ids[starts + offset] == word]
            starts = starts[self.doc[starts + len(wanted) - 1] == self.doc[starts]]
            for offset in range(len(wanted)):
                self.kept[starts + offset] = False


def _count_phrases(tokens: _Tokens) -> tuple[Any, _Terms] | None:
    """Comment x phrase counts (CSR) and the phrases, or None when no phrase is shared by two
    comments. Columns: the unigrams, then the bigrams, after the filters of step 1."""
    from scipy import sparse

    n_words = len(tokens.words)
    kept = tokens.kept
    unigram_docs = tokens.doc[kept]
    unigram_terms = tokens.ids[kept]
    # A bigram joins two kept neighbours of one comment (a removed word leaves a gap).
    pair = kept[:-1] & kept[1:] & (tokens.doc[:-1] == tokens.doc[1:])
    pair &= tokens.ids[:-1] != tokens.ids[1:]
    codes = tokens.ids[:-1][pair] * n_words + tokens.ids[1:][pair]
    bigram_codes, bigram_terms = np.unique(codes, return_inverse=True)
    rows = np.concatenate([unigram_docs, tokens.doc[:-1][pair]])
    columns = np.concatenate([unigram_terms, n_words + bigram_terms.ravel()])
    n_columns = n_words + len(bigram_codes)
    counts = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)),
        shape=(tokens.n_docs, n_columns),
    )
    counts.sum_duplicates()
    document_frequency = np.bincount(counts.indices, minlength=n_columns).astype(float)
    total = np.bincount(columns, minlength=n_columns)
    wanted = (document_frequency >= 2) & (
        document_frequency <= max(2, int(tokens.n_docs * MAX_DOC_SHARE))
    )
    # Collocations: a bigram's count against the count of the same neighbours by chance
    # (pointwise mutual information over neighbouring token pairs).
    first, second = np.divmod(bigram_codes, n_words)
    word_count = np.bincount(unigram_terms, minlength=n_words).astype(float)
    chance = word_count[first] * word_count[second] * len(codes) / max(1, len(unigram_terms)) ** 2
    wanted[n_words:] &= total[n_words:] >= MIN_COLLOCATION_LIFT * chance
    candidates = np.flatnonzero(wanted)
    if len(candidates) == 0:
        return None
    # The most frequent phrases, ties by column so the choice is deterministic.
    chosen = candidates[np.argsort(-total[candidates], kind="stable")[:MAX_VOCABULARY]]
    chosen.sort()
    terms: _Terms = [
        (tokens.words[c],)
        if c < n_words
        else (tokens.words[first[c - n_words]], tokens.words[second[c - n_words]])
        for c in chosen.tolist()
    ]
    counts = counts[:, chosen]
    if counts.nnz == 0:
        return None
    return counts, terms


# --- steps 2 and 3: TF-IDF and NMF -----------------------------------------------------------


def _tfidf(counts: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfTransformer

    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).astype(np.float32)


def _factorise(matrix: Any, max_themes: int) -> _Array:
    """How much each comment leans on each NMF component, the components scaled to length 1
    (so the weights of different components compare).

    The components are learnt from at most ``FIT_SAMPLE`` comments spread evenly over the input
    (the initialisation's SVD is the cost that grows fastest with rows); every comment is then
    placed on them. A theme shared by very few comments (under about one in 5,000, which is 20
    of 100,000) may go unseen in the sample and so unfound.
    """
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    n_docs, n_terms = matrix.shape
    sample = matrix
    if n_docs > FIT_SAMPLE:
        sample = matrix[np.linspace(0, n_docs - 1, FIT_SAMPLE).astype(np.int64)]
    model = NMF(
        n_components=min(max_themes, sample.shape[0], n_terms),
        init="nndsvd",
        random_state=0,
        max_iter=200,
        tol=1e-3,
    )
    with warnings.catch_warnings():
        # Themes need the rough shape of the factorisation, not its last decimals: stopping at
        # max_iter before the tolerance is met is expected on large inputs, not a fault.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # An exact factorisation (tiny inputs) leaves a reconstruction error of -1e-9 after
        # rounding, whose square root scikit-learn takes for its convergence check.
        with np.errstate(invalid="ignore"):
            model.fit(sample)
            weights: _Array = model.transform(matrix)
    scaled: _Array = weights * np.linalg.norm(model.components_, axis=1)
    return scaled


# --- step 4: which components are themes -----------------------------------------------------


def _strongest(weights: _Array) -> tuple[_Array, _Array]:
    """For each comment: the column it leans on most, and whether it leans on it enough."""
    strongest = weights.argmax(axis=1)
    strength = weights[np.arange(weights.shape[0]), strongest]
    return strongest, strength >= MIN_STRENGTH


def _distinctiveness(presence: Any, members: _Array, frequency: _Array) -> tuple[_Array, _Array]:
    """(score, members holding it) of each phrase: class-based TF-IDF of the members.

    A phrase scores its share among the members times the log of how much more common it is
    there than among all comments: everyday words are as common outside as inside and score
    about 0, phrases that set the members apart score high.
    """
    n_docs = presence.shape[0]
    inside = np.asarray(presence[members].sum(axis=0), dtype=float).ravel()
    share = inside / len(members)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(inside > 0, share * np.log(share * n_docs / frequency), 0.0)
    return scores, inside


def _distinctive(
    presence: Any, members: _Array, terms: _Terms, frequency: _Array, limit: int
) -> list[int]:
    """The phrases that set ``members`` apart, best first, without repeating a lemma (see
    ``_show``)."""
    scores, inside = _distinctiveness(presence, members, frequency)
    order = np.argsort(-scores, kind="stable")
    shown: list[int] = []
    for index in order[: limit * 6].tolist():
        if scores[index] <= 0 or len(shown) == limit:
            break
        _show(index, shown, terms, inside)
    return shown[:limit]


def _distinctive_lemmas(
    presence: Any, members: _Array, terms: _Terms, frequency: _Array, limit: int
) -> list[int]:
    """The single lemmas that set ``members`` apart, best first: what two components are
    compared on (bigrams would pair a lemma with itself)."""
    scores, _ = _distinctiveness(presence, members, frequency)
    order = np.argsort(-scores, kind="stable")
    single = [i for i in order[: limit * 20].tolist() if len(terms[i]) == 1 and scores[i] > 0]
    return single[:limit]


def _show(index: int, shown: list[int], terms: _Terms, inside: _Array) -> None:
    """Add phrase ``index`` to ``shown`` unless it repeats what is shown.

    Phrases read better than lone lemmas: a bigram takes the place of its own lemmas shown
    before it when it stands for them (``BIGRAM_STANDS_FOR``: "rude courier" rather than
    "rude", "courier"; "late delivery" rather than "late"). Otherwise a bigram holding a lemma
    already shown adds nothing, nor does a lemma shown inside a bigram.
    """
    words = terms[index]
    shown_words = {word for other in shown for word in terms[other]}
    if not set(words) & shown_words:
        shown.append(index)
        return
    own = [other for other in shown if len(terms[other]) == 1 and terms[other][0] in words]
    if own and inside[index] >= BIGRAM_STANDS_FOR * max(inside[other] for other in own):
        position = shown.index(own[0])
        shown[:] = [other for other in shown if other not in own]
        shown.insert(position, index)


def _npmi(presence: Any, columns_a: list[int], columns_b: list[int]) -> _Array:
    """NPMI of each phrase of ``columns_a`` with each of ``columns_b`` over comments: 1 when
    they always come together, 0 when independent, -1 when never together."""
    n_docs = presence.shape[0]
    a, b = presence[:, columns_a], presence[:, columns_b]
    together = np.asarray((a.T @ b).todense(), dtype=float) / n_docs
    share_a = np.asarray(a.sum(axis=0), dtype=float).ravel() / n_docs
    share_b = np.asarray(b.sum(axis=0), dtype=float).ravel() / n_docs
    result = np.full(together.shape, -1.0)
    seen = together > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(together / np.outer(share_a, share_b)) / -np.log(together)
    # Phrases in every comment: log(1) / -log(1); they are as associated as can be.
    npmi[seen & (together >= 1.0)] = 1.0
    result[seen] = npmi[seen]
    return result


def _mean_npmi(presence: Any, terms: _Terms, a: list[int], b: list[int]) -> float:
    """Mean NPMI over pairs of phrases that share no lemma (a bigram always comes with its own
    lemmas, which says nothing about the theme); -1 without such a pair."""
    scores = _npmi(presence, a, b)
    values = [
        scores[i, j]
        for i, first in enumerate(a)
        for j, second in enumerate(b)
        if not set(terms[first]) & set(terms[second])
    ]
    return math.fsum(values) / len(values) if values else -1.0


def _has_defining_phrase(presence: Any, members: _Array, frequency: _Array) -> bool:
    """Whether one phrase picks the members out of all comments.

    The defining phrase is the one with the highest share among the members times the share of
    its comments that are members (an F-score without the harmonic mean). It must reach both
    ``MIN_DEFINING_SHARE`` and ``MIN_DEFINING_PRECISION``. A component built on an everyday
    word holds that word in nearly every member but gathers only a fraction of the comments
    using it; one stitched together from rare words (chance co-occurrences, which NMF happily
    fits when asked for more components than the data hold) has no phrase most members share.
    """
    inside = np.asarray(presence[members].sum(axis=0), dtype=float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(frequency > 0, inside / frequency, 0.0)
    defining = int(np.argmax(inside * precision))
    return bool(
        inside[defining] >= MIN_DEFINING_SHARE * len(members)
        and precision[defining] >= MIN_DEFINING_PRECISION
    )


def _themes_among(
    weights: _Array, presence: Any, terms: _Terms, frequency: _Array
) -> list[list[int]]:
    """Groups of component indexes, one group per theme (step 4 of the module docstring)."""
    strongest, assigned = _strongest(weights)
    kept: list[tuple[list[int], list[int]]] = []
    for index in range(weights.shape[1]):
        members = np.flatnonzero(assigned & (strongest == index))
        if len(members) < 2:
            continue
        top = _distinctive_lemmas(presence, members, terms, frequency, MERGE_LEMMAS)
        if top and _has_defining_phrase(presence, members, frequency):
            kept.append(([index], top))
    groups: list[tuple[list[int], list[int]]] = []
    for components, top in kept:
        for group, group_top in groups:
            if _mean_npmi(presence, terms, group_top, top) >= MERGE_NPMI:
                group.extend(components)
                break
        else:
            groups.append((components, top))
    return [group for group, _ in groups]


# --- step 5: members, labels and keys --------------------------------------------------------


def _assign(
    weights: _Array,
    groups: list[list[int]],
    presence: Any,
    terms: _Terms,
    frequency: _Array,
    min_docs: int,
) -> list[DiscoveredTheme]:
    """Each comment joins the theme it leans on most; one that leans most on a dropped
    component (made of everyday words) joins none."""
    if not groups:
        return []
    grouped = {index for group in groups for index in group}
    columns = [weights[:, group].sum(axis=1) for group in groups]
    columns += [weights[:, i] for i in range(weights.shape[1]) if i not in grouped]
    strongest, assigned = _strongest(np.stack(columns, axis=1))
    found: list[tuple[tuple[int, ...], tuple[str, ...]]] = []
    for position in range(len(groups)):
        members = np.flatnonzero(assigned & (strongest == position))
        if len(members) < min_docs:
            continue
        top = _distinctive(presence, members, terms, frequency, TOP_PHRASES)
        if top:
            phrases = tuple(" ".join(terms[index]) for index in top)
            found.append((tuple(members.tolist()), phrases))
    found.sort(key=lambda item: (-len(item[0]), item[1]))
    themes: list[DiscoveredTheme] = []
    keys: set[str] = set()
    for members_found, phrases in found:
        label = SEPARATOR.join(phrases[:LABEL_PHRASES])
        themes.append(DiscoveredTheme(_unique(_slug(label), keys), label, phrases, members_found))
    return themes


_NOT_WORD = re.compile(r"[^\w]+")


def _slug(label: str) -> str:
    return _NOT_WORD.sub("-", label.lower()).strip("-_") or "theme"


def _unique(key: str, taken: set[str]) -> str:
    candidate, number = key, 2
    while candidate in taken:
        candidate = f"{key}-{number}"
        number += 1
    taken.add(candidate)
    return candidate
