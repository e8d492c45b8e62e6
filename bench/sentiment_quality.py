"""Sentiment of unscored comments on real reviews: cxpulse against a plain bag-of-words model.

The protocol of the text issue: take the Olist reviews (Portuguese, scored 1-5, about 2,600
with a comment: title and message joined), hide the scores of half of them (a fixed seed),
let cxpulse learn from the other half as an organisation's scored comments (labels from the
CSAT score bands: 4-5 positive, 1-2 negative, 3 neutral and not used), then say negative or
positive for each hidden comment scored 1-2 or 4-5. ``unknown`` counts as wrong.

Reported per seed and as the mean over seeds:

- **cxpulse**: what an unscored comment gets in the product - the model when it is confident,
  else the lexicon, else unknown (``cxpulse.text.sentiment.clause_sentiments``);
- model alone and lexicon alone (each with its unknown rate), to see where the answers come
  from;
- **bag of words**: scikit-learn's ``CountVectorizer`` with its defaults and a
  ``LogisticRegression`` with its defaults, trained on the same half - the baseline the issue
  says cxpulse must beat;
- timings: training on the visible half, and predicting 100,000 comments (the hidden ones
  repeated), in wall and CPU seconds.

Run from the repository root::

    .venv/bin/python bench/sentiment_quality.py                 # seeds 0-4
    .venv/bin/python bench/sentiment_quality.py --seeds 1 --seed 7

The dataset is read from ../shared/datasets/olist (``--data`` to point elsewhere) and never
copied: its licence is non-commercial, so it stays outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from cxpulse.metrics.scales import FIVE, Metric, default_thresholds
from cxpulse.text.comments import Sentiment
from cxpulse.text.lemmas import lemmatise
from cxpulse.text.sentiment import (
    SentimentModel,
    band_sentiment,
    clause_sentiments,
    lexicon_sentiment,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "olist" / "olist_order_reviews_dataset.csv"
LANGUAGE = "pt"
PREDICTION_ROWS = 100_000


@dataclass(frozen=True)
class Review:
    text: str
    score: int


@dataclass(frozen=True)
class Outcome:
    seed: int
    train: int
    test: int
    cxpulse: float
    unknown: float
    model: float
    model_unknown: float
    lexicon: float
    lexicon_unknown: float
    bag_of_words: float
    train_seconds: float
    train_cpu_seconds: float


def read_reviews(path: Path) -> list[Review]:
    """The reviews with a comment: title and message joined by ". "."""
    reviews: list[Review] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            parts = [
                part.strip()
                for part in (row["review_comment_title"], row["review_comment_message"])
                if part and part.strip()
            ]
            if parts:
                reviews.append(Review(". ".join(parts), int(row["review_score"])))
    return reviews


def accuracy(predicted: Sequence[Sentiment], truth: Sequence[Sentiment]) -> float:
    return sum(p is t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def unknown_rate(predicted: Sequence[Sentiment]) -> float:
    return sum(p is Sentiment.UNKNOWN for p in predicted) / len(predicted)


def run(reviews: Sequence[Review], seed: int) -> tuple[Outcome, SentimentModel, list[str]]:
    bands = default_thresholds(Metric.CSAT, FIVE)
    order = list(range(len(reviews)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    visible = [reviews[i] for i in order[:half]]
    hidden = [reviews[i] for i in order[half:]]
    hidden = [
        review for review in hidden if band_sentiment(review.score, bands) is not Sentiment.NEUTRAL
    ]
    truth = [band_sentiment(review.score, bands) for review in hidden]
    texts = [review.text for review in hidden]

    started, started_cpu = time.perf_counter(), time.process_time()
    model = SentimentModel.train(
        LANGUAGE,
        [review.text for review in visible],
        [band_sentiment(review.score, bands) for review in visible],
    )
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - started_cpu
    if model is None:
        raise SystemExit("too few scored comments to train a model")

    product = [sentiment for sentiment, _ in clause_sentiments(texts, LANGUAGE, model)]
    by_model = model.predict(texts, LANGUAGE)
    by_lexicon = [lexicon_sentiment(lemmatise(text, LANGUAGE), LANGUAGE) for text in texts]

    polar = [
        review for review in visible if band_sentiment(review.score, bands) is not Sentiment.NEUTRAL
    ]
    vectoriser = CountVectorizer()
    baseline = LogisticRegression(max_iter=1000)
    baseline.fit(
        vectoriser.fit_transform([review.text for review in polar]),
        [band_sentiment(review.score, bands) is Sentiment.POSITIVE for review in polar],
    )
    guessed = baseline.predict(vectoriser.transform(texts))
    by_words = [Sentiment.POSITIVE if g else Sentiment.NEGATIVE for g in guessed]

    outcome = Outcome(
        seed=seed,
        train=len(visible),
        test=len(hidden),
        cxpulse=accuracy(product, truth),
        unknown=unknown_rate(product),
        model=accuracy(by_model, truth),
        model_unknown=unknown_rate(by_model),
        lexicon=accuracy(by_lexicon, truth),
        lexicon_unknown=unknown_rate(by_lexicon),
        bag_of_words=accuracy(by_words, truth),
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu_seconds,
    )
    return outcome, model, texts


def time_prediction(model: SentimentModel, texts: Sequence[str]) -> tuple[float, float]:
    """Wall and CPU seconds for the model to read PREDICTION_ROWS comments (``texts``
    repeated), the best of three."""
    batch = [texts[i % len(texts)] for i in range(PREDICTION_ROWS)]
    best = (float("inf"), float("inf"))
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        model.predict(batch, LANGUAGE)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the Olist reviews CSV")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"{args.data} not found (see --data)", file=sys.stderr)
        return 1

    reviews = read_reviews(args.data)
    print(f"{len(reviews)} reviews with a comment in {args.data.name}")
    print()
    print("| seed | train | test | cxpulse | unknown | model | model unknown | lexicon "
          "| lexicon unknown | bag of words | train s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    outcomes: list[Outcome] = []
    last: tuple[SentimentModel, list[str]] | None = None
    for seed in range(args.seed, args.seed + args.seeds):
        outcome, model, texts = run(reviews, seed)
        outcomes.append(outcome)
        last = (model, texts)
        print(
            f"| {seed} | {outcome.train} | {outcome.test} | {outcome.cxpulse:.1%} "
            f"| {outcome.unknown:.1%} | {outcome.model:.1%} | {outcome.model_unknown:.1%} "
            f"| {outcome.lexicon:.1%} | {outcome.lexicon_unknown:.1%} "
            f"| {outcome.bag_of_words:.1%} | {outcome.train_seconds:.2f} |"
        )

    def mean(name: str) -> float:
        return statistics.fmean(getattr(outcome, name) for outcome in outcomes)

    print()
    print(f"cxpulse (model, then lexicon, unknown counted wrong): {mean('cxpulse'):.1%} "
          f"(unknown {mean('unknown'):.1%})")  # fmt: skip
    print(f"plain bag-of-words logistic regression:              {mean('bag_of_words'):.1%}")
    print(f"difference: {100 * (mean('cxpulse') - mean('bag_of_words')):+.1f} points, "
          f"mean of {len(outcomes)} seeds; sd of cxpulse "
          f"{100 * float(np.std([o.cxpulse for o in outcomes])):.1f} points")  # fmt: skip
    if last is not None:
        wall, cpu = time_prediction(*last)
        print(
            f"training on {outcomes[-1].train} comments: {mean('train_seconds'):.2f} s wall, "
            f"{mean('train_cpu_seconds'):.2f} s CPU; "
            f"predicting {PREDICTION_ROWS:,} comments: {wall:.2f} s wall, {cpu:.2f} s CPU"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
