"""A sentiment classifier per organisation and language, learnt from its own scored comments.

Weak supervision: a comment whose score fell in the top band is a positive example, one in the
bottom band a negative example (neutral bands teach nothing about the direction and are left
out). The model then labels the comments that have no score of their own - imports, widget
text, reason fields - and the clauses of every comment, so that a theme mention gets the
sentiment of the words around it.

The features, chosen on real reviews (``bench/sentiment_quality.py``) where a plain
bag-of-words classifier is the baseline to beat:

- words and word pairs of the lowercased tokens, each word in the few words after a negator
  marked as negated ("not good" gives ``!good``, which learns the opposite weight);
- character 2-4-grams inside each word, so inflections, compounds and typos the training set
  never saw ("atrazou", "Lieferverzögerung") still share most of their evidence;
- TF-IDF weights and a Naive-Bayes log-count ratio per feature (the "NBSVM" recipe for short
  texts), then a logistic regression with balanced class weights (satisfied customers write
  more comments than unhappy ones in some sources and fewer in others).

Every feature is hashed (:mod:`cxpulse.text.sentiment_features`), so no vocabulary is stored:
a model is the sorted list of the slots it saw with their weight and IDF, about 100 kilobytes
that ``to_bytes`` writes with ``numpy.savez`` (no pickle: a blob from the database cannot run
code). Predicting does not build a document-term matrix: every distinct word of a batch is
scored once and each comment adds up its words' scores, so 100,000 comments take a second or
two.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from cxpulse.text.comments import LANGUAGES, Sentiment
from cxpulse.text.lemmas import NEGATIONS
from cxpulse.text.sentiment_features import HASH_BITS, FeatureSettings, weighted_matrix

__all__ = ["MIN_EXAMPLES_PER_SIDE", "UNSURE_BAND", "SentimentModel", "train_models"]

FORMAT_VERSION = 1
MIN_EXAMPLES_PER_SIDE = 30
"""Below this many negative or positive examples in a language, no model: its answers would
be noise, and the lexicon does better."""
UNSURE_BAND = 0.01
"""A probability of positive within this distance of one half is ``unknown``. Narrow on
purpose: on real reviews the comments near one half are still right more often than the
lexicon is on them, so a wide band would trade right answers for unknowns."""
_REGULARISATION_C = 3.0
_NB_ALPHA = 1.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class SentimentModel:
    """Negative against positive for one language; build with :meth:`train` or
    :meth:`from_bytes`. Immutable, so one instance serves every thread."""

    def __init__(
        self,
        settings: FeatureSettings,
        columns: npt.NDArray[np.int64],
        weights: npt.NDArray[np.float32],
        idf: npt.NDArray[np.float32],
        unseen_idf: float,
        intercept: float,
        examples: tuple[int, int],
    ) -> None:
        self._settings = settings
        self._columns = columns
        self._weights = weights.astype(np.float64)
        self._idf = idf.astype(np.float64)
        self._raw = (weights, idf)
        self._unseen_idf = unseen_idf
        self._intercept = intercept
        self.examples = examples
        """(negative, positive) comments the model learnt from."""

    @property
    def language(self) -> str:
        return self._settings.language

    @classmethod
    def train(
        cls, language: str, texts: Sequence[str], labels: Sequence[Sentiment]
    ) -> SentimentModel | None:
        """A model from ``texts`` labelled by their score band's sentiment, or ``None`` when
        either side has fewer than :data:`MIN_EXAMPLES_PER_SIDE` examples. Neutral and
        unknown labels are ignored. Deterministic: the same examples give the same model."""
        if language not in LANGUAGES:
            raise ValueError(f"no sentiment model for language {language!r}")
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        kept = [
            (text, label is Sentiment.POSITIVE)
            for text, label in zip(texts, labels, strict=True)
            if label in (Sentiment.POSITIVE, Sentiment.NEGATIVE)
        ]
        positive = sum(is_positive for _, is_positive in kept)
        negative = len(kept) - positive
        if min(positive, negative) < MIN_EXAMPLES_PER_SIDE:
            return None
        settings = FeatureSettings(language, tuple(sorted(NEGATIONS[language])))
        features = settings.features([text for text, _ in kept])
        target = np.fromiter((is_positive for _, is_positive in kept), dtype=bool)

        documents = len(kept)
        seen = np.concatenate([features.row_slots, features.pair_slot])
        columns = np.unique(seen)
        presence = weighted_matrix(features, columns, np.ones(len(columns)))
        frequency = np.bincount(presence.indices, minlength=len(columns))
        idf = np.log((1 + documents) / (1 + frequency)) + 1.0
        unseen_idf = float(np.log(1 + documents) + 1.0)
        matrix = weighted_matrix(features, columns, idf)

        # Naive-Bayes log-count ratio per feature: how much more often it occurs in positive
        # than in negative comments; the regression then learns how far to trust it.
        present = matrix.copy()
        present.data[:] = 1.0
        on_positive = np.asarray(present[target].sum(axis=0)).ravel() + _NB_ALPHA
        on_negative = np.asarray(present[~target].sum(axis=0)).ravel() + _NB_ALPHA
        ratio = np.log(on_positive / on_positive.sum()) - np.log(on_negative / on_negative.sum())
        regression = LogisticRegression(
            C=_REGULARISATION_C,
            solver="liblinear",
            class_weight="balanced",
            random_state=0,
            max_iter=1000,
        )
        # liblinear's vector operations go through BLAS, whose threads cost more in hand-offs
        # than they save on vectors this size (seconds instead of a fraction of one when the
        # machine is busy): one thread.
        with threadpool_limits(limits=1, user_api="blas"):
            regression.fit(matrix @ sp.diags(ratio), target)
        weights = (regression.coef_[0] * ratio).astype(np.float32)
        return cls(
            settings,
            columns.astype(np.int64),
            weights,
            idf.astype(np.float32),
            unseen_idf,
            float(regression.intercept_[0]),
            (negative, positive),
        )

    def _lookup(self, slots: IntArray) -> tuple[FloatArray, FloatArray]:
        """(weight, idf) of each slot; slots the training never saw weigh nothing."""
        where = np.searchsorted(self._columns, slots)
        where = np.minimum(where, len(self._columns) - 1)
        known = self._columns[where] == slots
        return (
            np.where(known, self._weights[where], 0.0),
            np.where(known, self._idf[where], self._unseen_idf),
        )

    def _scores(self, texts: Sequence[str]) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """(logit of positive, whether any known feature spoke) per text."""
        features = self._settings.features(texts)
        n = features.documents
        rows = len(features.row_start) - 1
        slot_rows = features.slot_rows()
        weight, idf = self._lookup(features.row_slots)
        row_score = np.bincount(slot_rows, weight * idf, minlength=rows)
        row_square = np.bincount(slot_rows, idf**2, minlength=rows)
        row_known = np.bincount(slot_rows, weight != 0, minlength=rows)
        pair_weight, pair_idf = self._lookup(features.pair_slot)
        doc, row = features.position_doc, features.position_row
        score = np.bincount(doc, row_score[row], minlength=n) + np.bincount(
            features.pair_doc, pair_weight * pair_idf, minlength=n
        )
        norm2 = np.bincount(doc, row_square[row], minlength=n) + np.bincount(
            features.pair_doc, pair_idf**2, minlength=n
        )
        known = np.bincount(doc, row_known[row], minlength=n) > 0
        return score / np.sqrt(np.maximum(norm2, 1e-12)) + self._intercept, known

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        """The probability that each text is positive (balanced classes: 0.5 = no lean)."""
        logits, _ = self._scores(texts)
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def predict_with_confidence(self, texts: Sequence[str]) -> list[tuple[Sentiment, float]]:
        """Each text's sentiment with the model's confidence in it (0.5-1); ``UNKNOWN`` inside
        :data:`UNSURE_BAND` and for texts none of whose words the model has seen."""
        logits, known = self._scores(texts)
        probability = 1.0 / (1.0 + np.exp(-logits))
        confidence = np.maximum(probability, 1.0 - probability)
        # 0 negative, 1 positive, 2 unknown: one vectorised pass, then a lookup per text.
        code = np.where(probability > 0.5, 1, 0)
        code[~known | (confidence < 0.5 + UNSURE_BAND)] = 2
        names = (Sentiment.NEGATIVE, Sentiment.POSITIVE, Sentiment.UNKNOWN)
        return [(names[c], p) for c, p in zip(code.tolist(), confidence.tolist(), strict=True)]

    def predict(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        """Positive, negative or ``UNKNOWN`` per text (see :meth:`predict_with_confidence`).
        ``language``, when given, must be the model's own."""
        if language is not None and language != self.language:
            raise ValueError(f"a {self.language} model cannot read {language} comments")
        if not texts:
            return []
        return [sentiment for sentiment, _ in self.predict_with_confidence(texts)]

    def to_bytes(self) -> bytes:
        """The model as a numpy ``.npz`` archive (no pickled objects)."""
        settings = self._settings
        meta = {
            "format": FORMAT_VERSION,
            "language": settings.language,
            "negators": list(settings.negators),
            "window": settings.window,
            "char_ngrams": [settings.char_low, settings.char_high],
            "hash_bits": settings.bits,
            "unseen_idf": self._unseen_idf,
            "intercept": self._intercept,
            "examples": list(self.examples),
        }
        buffer = io.BytesIO()
        weights, idf = self._raw
        np.savez_compressed(
            buffer,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
            columns=self._columns.astype(np.uint32),
            weights=weights,
            idf=idf,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> SentimentModel:
        """The model ``to_bytes`` wrote; ``ValueError`` for anything else."""
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
                meta = json.loads(str(archive["meta"]))
                columns = archive["columns"].astype(np.int64)
                weights = archive["weights"].astype(np.float32)
                idf = archive["idf"].astype(np.float32)
            if meta["format"] != FORMAT_VERSION:
                raise ValueError(f"sentiment model format {meta['format']} is not {FORMAT_VERSION}")
            low, high = meta["char_ngrams"]
            settings = FeatureSettings(
                language=meta["language"],
                negators=tuple(meta["negators"]),
                window=int(meta["window"]),
                char_low=int(low),
                char_high=int(high),
                bits=int(meta["hash_bits"]),
            )
            negative, positive = meta["examples"]
            model = cls(
                settings,
                columns,
                weights,
                idf,
                float(meta["unseen_idf"]),
                float(meta["intercept"]),
                (int(negative), int(positive)),
            )
        except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as error:
            raise ValueError(f"not a cxpulse sentiment model: {error}") from error
        if (
            settings.language not in LANGUAGES
            or settings.bits != HASH_BITS
            or not len(columns) == len(weights) == len(idf)
            or len(columns) == 0
            or np.any(np.diff(columns) <= 0)
        ):
            raise ValueError("not a cxpulse sentiment model: inconsistent arrays or settings")
        return model


def train_models(examples: Iterable[tuple[str, str, Sentiment]]) -> dict[str, SentimentModel]:
    """One model per language from (language, text, band sentiment) examples, for each
    language with enough of both sides (:data:`MIN_EXAMPLES_PER_SIDE`)."""
    texts: dict[str, list[str]] = {}
    labels: dict[str, list[Sentiment]] = {}
    for language, text, sentiment in examples:
        if language in LANGUAGES:
            texts.setdefault(language, []).append(text)
            labels.setdefault(language, []).append(sentiment)
    models: dict[str, SentimentModel] = {}
    for language in sorted(texts):
        model = SentimentModel.train(language, texts[language], labels[language])
        if model is not None:
            models[language] = model
    return models
