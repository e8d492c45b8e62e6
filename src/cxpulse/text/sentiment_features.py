"""Comments as hashed features for the sentiment model, without a vocabulary.

A comment's features are its lowercased words, the pairs of neighbouring words and the
character 2-4-grams inside each word; each word in the few words after a negator is marked
("not good" gives ``!good``, which learns the opposite weight from ``good``). Every feature is
hashed (murmurhash) into one of 2**20 slots, so the model stores the slots it saw and no word
list.

A batch is kept in a compact form (:class:`HashedFeatures`): a table with one row per distinct
(marked) word of the batch - its slot and its character n-gram slots, computed once per word
and cached - and, per word position, the comment it belongs to and its row. Training turns
that into a sparse matrix (:func:`weighted_matrix`); prediction never does: it scores each row
once and adds the rows up per comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.utils import murmurhash3_32

from cxpulse.text.lemmas import tokens
from cxpulse.text.sentiment_lexicon import NEGATION_WINDOW

__all__ = ["CHAR_NGRAMS", "HASH_BITS", "FeatureSettings", "HashedFeatures", "weighted_matrix"]

HASH_BITS = 20
CHAR_NGRAMS = (2, 4)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@lru_cache(maxsize=1 << 17)
def _word_hash(marked: str) -> int:
    return int(murmurhash3_32("w " + marked, positive=True))


@lru_cache(maxsize=1 << 17)
def _char_slots(word: str, low: int, high: int, bits: int) -> tuple[int, ...]:
    mask = (1 << bits) - 1
    padded = f" {word} "
    return tuple(
        murmurhash3_32("c " + padded[start : start + size], positive=True) & mask
        for size in range(low, high + 1)
        for start in range(len(padded) - size + 1)
    )


_BREAK = " zqxcxpulsebreakxqz "
"""Joins a batch for one pass of the tokeniser; a word no comment contains (checked)."""


_APOSTROPHES = ("'", "\u2019", "\u02bc")


def _batch_tokens(texts: Sequence[str], language: str) -> tuple[list[str], IntArray]:
    """All tokens of the batch and the index of the text each comes from.

    The tokens of one text stay together and in order (negation and word pairs look at
    neighbours), but the texts need not be in order: the texts without an apostrophe go
    through the tokeniser in one call, joined by a marker word - one pass of the regular
    expression over a long string costs far less than one per comment - and those with one
    (clitics to split: "didn't", "n'est") one by one.
    """
    plain: list[int] = []
    other: list[int] = []
    for index, text in enumerate(texts):
        (other if any(mark in text for mark in _APOSTROPHES) else plain).append(index)
    words: list[str] = []
    docs: list[IntArray] = []
    marker = _BREAK.strip()
    if len(plain) >= 2:
        joined = np.array(
            tokens(_BREAK.join([texts[index] for index in plain]), language), dtype=object
        )
        breaks = np.flatnonzero(joined == marker)
        if len(breaks) == len(plain) - 1:
            lengths = np.diff(np.concatenate([[-1], breaks, [len(joined)]])) - 1
            words = joined[joined != marker].tolist()
            docs.append(np.repeat(np.asarray(plain, dtype=np.int64), lengths))
        else:  # a comment holds the marker word itself: no shortcut for this batch
            other = list(range(len(texts)))
    else:
        other = list(range(len(texts)))
    lists = [tokens(texts[index], language) for index in other]
    words.extend(chain.from_iterable(lists))
    docs.append(np.repeat(np.asarray(other, dtype=np.int64), [len(found) for found in lists]))
    return words, np.concatenate(docs)


@dataclass(frozen=True)
class HashedFeatures:
    """A batch of comments as hashed features, without a document-term matrix.

    Each word position points at a row of the word table (one row per distinct marked word:
    its own slot and its character n-gram slots); each adjacent pair is one bigram slot.
    """

    documents: int
    position_doc: IntArray
    position_row: IntArray
    row_start: IntArray
    row_slots: IntArray
    pair_doc: IntArray
    pair_slot: IntArray

    def slot_rows(self) -> IntArray:
        """The word-table row of each entry of ``row_slots``."""
        return np.repeat(np.arange(len(self.row_start) - 1), np.diff(self.row_start))


@dataclass(frozen=True)
class FeatureSettings:
    """How a model turns text into slots; stored with the model so that a model keeps reading
    text the way it was trained even when the defaults change."""

    language: str
    negators: tuple[str, ...]
    window: int = NEGATION_WINDOW
    char_low: int = CHAR_NGRAMS[0]
    char_high: int = CHAR_NGRAMS[1]
    bits: int = HASH_BITS

    def features(self, texts: Sequence[str]) -> HashedFeatures:
        """The hashed features of ``texts``, in the compact form of :class:`HashedFeatures`."""
        flat, position_doc = _batch_tokens(texts, self.language)
        vocabulary = dict.fromkeys(flat, 0)
        for number, word in enumerate(vocabulary):
            vocabulary[word] = number
        ids = np.fromiter(map(vocabulary.__getitem__, flat), dtype=np.int64, count=len(flat))
        words = list(vocabulary)
        # A word is negated when a negator of the same comment stands up to `window` words
        # before it; negators themselves stay as they are.
        negators = set(self.negators)
        is_negator = np.fromiter((w in negators for w in words), dtype=bool, count=len(words))
        at_negator = is_negator[ids]
        negated = np.zeros(len(ids), dtype=bool)
        for distance in range(1, self.window + 1):
            negated[distance:] |= at_negator[:-distance] & (
                position_doc[distance:] == position_doc[:-distance]
            )
        negated &= ~at_negator
        marked = ids + len(words) * negated
        # The distinct marked words in id order, and each position's row among them (a
        # counting pass instead of a sort: the ids are dense).
        present = np.bincount(marked, minlength=2 * len(words)) > 0
        used = np.flatnonzero(present)
        row_of = np.cumsum(present) - 1
        position_row = row_of[marked]

        mask = (1 << self.bits) - 1
        word_hashes = np.zeros(len(used), dtype=np.uint64)
        rows: list[tuple[int, ...]] = []
        for row, marked_id in enumerate(used.tolist()):
            word = words[marked_id % len(words)]
            hashed = _word_hash("!" + word if marked_id >= len(words) else word)
            word_hashes[row] = hashed
            rows.append(
                (hashed & mask, *_char_slots(word, self.char_low, self.char_high, self.bits))
            )
        row_start = np.zeros(len(rows) + 1, dtype=np.int64)
        row_start[1:] = np.cumsum([len(row) for row in rows])
        row_slots = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(row_start[-1]))

        same_doc = position_doc[1:] == position_doc[:-1]
        left = word_hashes[position_row[:-1][same_doc]]
        right = word_hashes[position_row[1:][same_doc]]
        # Mixing two 32-bit word hashes into a pair slot: odd multipliers and a shift, in
        # wrapping unsigned arithmetic, so the slot is the same on every machine.
        with np.errstate(over="ignore"):
            mixed = left * np.uint64(0x9E3779B1) + right * np.uint64(0x85EBCA77)
        pair_slot = ((mixed >> np.uint64(7)) & np.uint64(mask)).astype(np.int64)
        return HashedFeatures(
            documents=len(texts),
            position_doc=position_doc,
            position_row=position_row.astype(np.int64),
            row_start=row_start,
            row_slots=row_slots,
            pair_doc=position_doc[1:][same_doc],
            pair_slot=pair_slot,
        )


def weighted_matrix(features: HashedFeatures, columns: IntArray, idf: FloatArray) -> sp.csr_matrix:
    """Documents x ``columns``: IDF-weighted counts, each row divided by its additive norm.

    The additive norm is the square root of the sum, over every occurrence of a slot in the
    comment, of its squared IDF - the length the vector would have if no two occurrences
    shared a slot. Unlike the Euclidean norm it can be added up word by word, which is what
    lets :meth:`SentimentModel._scores` score each distinct word of a batch once; this
    function is the training side of the same arithmetic.
    """
    size = 1 << HASH_BITS
    full_idf = np.zeros(size)
    full_idf[columns] = idf
    rows = len(features.row_start) - 1
    table = sp.csr_matrix(
        (full_idf[features.row_slots], features.row_slots, features.row_start), shape=(rows, size)
    )
    placement = sp.csr_matrix(
        (np.ones(len(features.position_row)), (features.position_doc, features.position_row)),
        shape=(features.documents, rows),
    )
    pairs = sp.csr_matrix(
        (full_idf[features.pair_slot], (features.pair_doc, features.pair_slot)),
        shape=(features.documents, size),
    )
    matrix = (placement @ table + pairs).tocsr()[:, columns]
    row_square = np.bincount(
        features.slot_rows(), full_idf[features.row_slots] ** 2, minlength=rows
    )
    norm2 = np.bincount(
        features.position_doc, row_square[features.position_row], minlength=features.documents
    ) + np.bincount(
        features.pair_doc, full_idf[features.pair_slot] ** 2, minlength=features.documents
    )
    scale = 1.0 / np.sqrt(np.maximum(norm2, 1e-12))
    return sp.csr_matrix(sp.diags(scale) @ matrix)
