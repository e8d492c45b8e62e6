"""Quality of the text stage on real data (issue 12, point 6).

Reads the Olist reviews from ``../shared/datasets/olist`` at run time (licence CC BY-NC-SA 4.0:
never copied into this repository; nothing here prints a review's text) and the team's own
evaluation files in ``bench/data`` (see ``bench/data/README.md``), and reports:

a. **taxonomy**: precision and recall of the starter taxonomy per theme against the 340
   hand-labelled reviews (``olist_theme_labels.csv``), with counts and Wilson intervals, and how
   the matcher treats "not received" against the labelling rule;
b. **low scores**: the defined and the discovered themes of the 1-2 star reviews, against the
   4-5 star ones, and the themes table (defined and discovered, ranked by the CSAT points they
   cost) over every review, as ``cxpulse themes`` would print it;
c. **late delivery**: orders delivered after their estimated date (from the order dates, joined
   on ``order_id``) against those on time: CSAT and mean score of each, the difference with its
   interval, the impact on the overall score in points, and a key-driver table of the delivery
   figures;
d. **languages**: the detector's accuracy on the team-written ``language_samples.tsv`` (eight
   languages, comments of 20 characters or more and shorter ones, with and without the
   survey-language hint) and on every Olist comment (all Portuguese);
e. **sentiment of unscored comments**: the scores of half of the commented reviews hidden, the
   product's own path (``learn_and_analyse``: models trained on the visible half's score bands,
   then model, lexicon or unknown) against a plain bag-of-words logistic regression trained on
   the same half, negative (1-2) against positive (4-5) on the hidden half, "unknown" counted
   as wrong. The hidden half is the labels' evaluation half (even review ids, which nobody
   tuned on) and then ``--splits`` random halves.

    .venv/bin/python bench/text_quality.py                 # all sections, readable text
    .venv/bin/python bench/text_quality.py --json > out.json
    .venv/bin/python bench/text_quality.py --sections taxonomy,languages
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from cxpulse.metrics import Histogram, MetricSpec, compare, score
from cxpulse.metrics.intervals import wilson
from cxpulse.text.analysis import CommentInput, analyse, learn_and_analyse
from cxpulse.text.comments import LANGUAGES, CommentAnalysis, Sentiment
from cxpulse.text.discovery import discover_themes
from cxpulse.text.key_drivers import key_drivers
from cxpulse.text.lemmas import content_lemmas
from cxpulse.text.sentiment import band_sentiment
from cxpulse.text.taxonomy import Taxonomy, starter_taxonomy
from cxpulse.text.theme_impact import theme_impact
from cxpulse.text.theme_matching import ThemeMatcher
from cxpulse.text.theme_table import theme_table

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"
DEFAULT_OLIST = REPO.parent / "shared" / "datasets" / "olist"
LEVEL = 0.95
SHORT_CHARS = 20
"""The issue's length limit: the language target is for comments of 20 characters or more."""
SECTIONS = ("taxonomy", "low-scores", "late-delivery", "languages", "sentiment")
LABEL_ONLY = ("not-received", "other")
"""Labels that exist only in the hand-labelled file, not in the taxonomy."""
CSAT = MetricSpec.default("csat")  # 1-5, 4 and 5 satisfied
MEAN = MetricSpec.default("mean")
HINT = "pt-BR"
"""The survey language an Olist review would carry."""
NOT_RECEIVED_PHRASE = re.compile(
    r"\b(não|nao|n|nunca|nada)\b.*\b(receb\w*|cheg\w*|entreg\w*|produto|env\w*)"
    r"|\bagora nada\b"
)
"""Taxonomy phrases that say the order has not arrived ("não recebi", "ainda não chegou",
"até agora nada", "nada do produto"): how the low-score section counts "not received"."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Review:
    review_id: str
    order_id: str
    score: int
    text: str
    """Title and message joined by a line break (a sentence break for the clause splitter);
    empty when the review has no comment."""


def load_reviews(folder: Path) -> list[Review]:
    """Every review once (two review ids appear twice in the file, on two orders, with the
    same text: the first row is kept)."""
    seen: dict[str, Review] = {}
    path = folder / "olist_order_reviews_dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["review_id"] in seen:
                continue
            parts = (
                (row["review_comment_title"] or "").strip(),
                (row["review_comment_message"] or "").strip(),
            )
            seen[row["review_id"]] = Review(
                row["review_id"],
                row["order_id"],
                int(row["review_score"]),
                "\n".join(part for part in parts if part),
            )
    return list(seen.values())


def load_labels() -> dict[str, set[str]]:
    with (DATA / "olist_theme_labels.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["review_id"]: {key for key in row["themes"].split(";") if key}
            for row in csv.DictReader(handle)
        }


def load_language_samples() -> list[tuple[str, str]]:
    with (DATA / "language_samples.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(language, text) for language, text in rows[1:]]


def interval(successes: int, n: int) -> dict[str, Any]:
    """A share with its Wilson interval, in percent (``None`` when ``n`` is 0)."""
    if n == 0:
        return {"k": successes, "n": n, "value": None, "low": None, "high": None}
    low, high = wilson(successes, n, LEVEL)
    return {
        "k": successes,
        "n": n,
        "value": 100 * successes / n,
        "low": 100 * low,
        "high": 100 * high,
    }


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- a. taxonomy


def taxonomy_quality(reviews: Sequence[Review], matcher: ThemeMatcher) -> dict[str, Any]:
    labels = load_labels()
    by_id = {review.review_id: review for review in reviews}
    missing = sorted(set(labels) - by_id.keys())
    if missing:
        raise SystemExit(f"{len(missing)} labelled review ids are not in the Olist file")
    ids = sorted(labels)
    analyses = analyse(
        [CommentInput(by_id[review_id].text, None, HINT) for review_id in ids],
        matcher=matcher,
        models={},
    )
    found = {
        review_id: {mention.theme for mention in analysis.themes}
        for review_id, analysis in zip(ids, analyses, strict=True)
    }
    rows = []
    total = Counter[str]()
    for key in matcher.taxonomy.keys:
        tp = sum(1 for i in ids if key in found[i] and key in labels[i])
        fp = sum(1 for i in ids if key in found[i] and key not in labels[i])
        fn = sum(1 for i in ids if key not in found[i] and key in labels[i])
        total.update(tp=tp, fp=fp, fn=fn)
        missed = [i for i in ids if key not in found[i] and key in labels[i]]
        extra = [i for i in ids if key in found[i] and key not in labels[i]]
        rows.append(
            {
                "theme": key,
                "labelled": tp + fn,
                "found": tp + fp,
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "precision": interval(tp, tp + fp),
                "recall": interval(tp, tp + fn),
                # Where the disagreements lie: what the matcher found in the reviews it missed,
                # and what the labels say about the reviews it tagged wrongly.
                "missed_found_as": dict(
                    Counter(k for i in missed for k in found[i]).most_common(3)
                ),
                "missed_with_no_theme": sum(1 for i in missed if not found[i]),
                "wrong_labelled_as": dict(
                    Counter(k for i in extra for k in labels[i]).most_common(3)
                ),
            }
        )
    not_received = [i for i in ids if "not-received" in labels[i]]
    delay_only = [i for i in ids if "delivery-delay" in labels[i] and i not in not_received]
    nothing = [i for i in ids if not (labels[i] - set(LABEL_ONLY))]
    return {
        "reviews": len(ids),
        "themes": rows,
        "micro": {
            "precision": interval(total["tp"], total["tp"] + total["fp"]),
            "recall": interval(total["tp"], total["tp"] + total["fn"]),
        },
        "not_received": {
            "labelled": len(not_received),
            "with_delivery": interval(
                sum(1 for i in not_received if "delivery" in found[i]), len(not_received)
            ),
            "with_delivery_delay": interval(
                sum(1 for i in not_received if "delivery-delay" in found[i]), len(not_received)
            ),
            "delay_recall_without_not_received": interval(
                sum(1 for i in delay_only if "delivery-delay" in found[i]), len(delay_only)
            ),
        },
        "unlabelled_with_a_theme": interval(sum(1 for i in nothing if found[i]), len(nothing)),
    }


def print_taxonomy(result: Mapping[str, Any]) -> None:
    print(f"\n== a. Starter taxonomy against {result['reviews']} hand-labelled Olist reviews ==")
    print(
        f"{'theme':<25} {'labelled':>8} {'found':>6} {'TP':>4} {'FP':>4} {'FN':>4}"
        f"  {'precision (95% CI)':<22} recall (95% CI)"
    )
    for row in result["themes"]:
        print(
            f"{row['theme']:<25} {row['labelled']:>8} {row['found']:>6} {row['tp']:>4}"
            f" {row['fp']:>4} {row['fn']:>4}  {_share(row['precision']):<22}"
            f" {_share(row['recall'])}"
        )
    print("Disagreements (misses: what the matcher found instead; wrong tags: the labels):")
    for row in result["themes"]:
        if row["fn"] or row["fp"]:
            print(
                f"  {row['theme']:<25} {row['fn']} missed ({row['missed_with_no_theme']} with no"
                f" theme; found as {row['missed_found_as'] or '-'}), {row['fp']} wrong"
                f" (labelled {row['wrong_labelled_as'] or '-'})"
            )
    micro = result["micro"]
    print(f"{'all themes (micro)':<25} precision {_share(micro['precision'])}", end="")
    print(f", recall {_share(micro['recall'])}")
    nr = result["not_received"]
    print(
        f"Not received ({nr['labelled']} reviews; the labels give each delivery-delay and"
        f" delivery): the matcher gives delivery to {_count(nr['with_delivery'])},"
        f" delivery-delay to {_count(nr['with_delivery_delay'])}."
    )
    print(
        "  delivery-delay recall on the other delivery-delay reviews:"
        f" {_share(nr['delay_recall_without_not_received'])}"
    )
    print(
        "Reviews labelled with no theme that got one anyway:"
        f" {_count(result['unlabelled_with_a_theme'])}"
    )


# --------------------------------------------------------------------------- b. low scores


def low_score_themes(
    reviews: Sequence[Review], matcher: ThemeMatcher, max_themes: int
) -> dict[str, Any]:
    """The themes of the 1-2 star comments (defined, then discovered) and the full themes table
    over every review."""
    taxonomy = matcher.taxonomy
    commented = [review for review in reviews if review.text]
    analyses = analyse(
        [
            CommentInput(review.text, band_sentiment(review.score, CSAT.thresholds), HINT)
            for review in commented
        ],
        matcher=matcher,
        models={},
    )
    low = [i for i, review in enumerate(commented) if review.score <= 2]
    high = [i for i, review in enumerate(commented) if review.score >= 4]
    not_received_phrases = _not_received_phrases(taxonomy)

    def themes_of(i: int) -> set[str]:
        return {mention.theme for mention in analyses[i].themes}

    def says_not_received(i: int) -> bool:
        return any(mention.phrase in not_received_phrases for mention in analyses[i].themes)

    defined: list[dict[str, Any]] = []
    for key in (*taxonomy.keys, "not-received"):

        def has(i: int, key: str = key) -> bool:
            return says_not_received(i) if key == "not-received" else key in themes_of(i)

        in_low = sum(1 for i in low if has(i))
        in_high = sum(1 for i in high if has(i))
        phrases = Counter(
            mention.phrase
            for i in low
            for mention in analyses[i].themes
            if (
                mention.phrase in not_received_phrases
                if key == "not-received"
                else mention.theme == key
            )
        )
        defined.append(
            {
                "theme": key,
                "low": interval(in_low, len(low)),
                "high": interval(in_high, len(high)),
                "ratio": (in_low / len(low)) / (in_high / len(high)) if in_high else None,
                "top_phrases": [phrase for phrase, _ in phrases.most_common(5)],
            }
        )
    defined.sort(key=lambda row: -row["low"]["k"])

    docs = [content_lemmas(analyses[i].redacted, analyses[i].language or "pt") for i in low]
    exclude = _taxonomy_lemmas(taxonomy)
    discovered = {
        "everything": _discovered(docs, (), low, themes_of, says_not_received, max_themes),
        "beyond_the_taxonomy": _discovered(
            docs, exclude, low, themes_of, says_not_received, max_themes
        ),
    }

    # The table cxpulse themes prints, over every review (those without a comment count in
    # "the rest"): defined and discovered themes ranked by the CSAT points they cost.
    everyone = list(analyses)
    scores: list[float | None] = [float(review.score) for review in commented]
    for review in reviews:
        if not review.text:
            everyone.append(CommentAnalysis(None, Sentiment.UNKNOWN, None, (), ""))
            scores.append(float(review.score))
    table = theme_table(everyone, scores, CSAT, taxonomy=taxonomy, max_discovered=max_themes)
    costs = [
        {
            "key": row.key,
            "label": row.label,
            "origin": row.origin,
            "mentions": row.mentions,
            "with": finite(row.with_theme.value),
            "without": finite(row.without_theme.value),
            "impact": finite(row.impact),
            "impact_low": finite(row.impact_low),
            "impact_high": finite(row.impact_high),
            "top_phrases": list(row.top_phrases),
        }
        for row in table.whole.themes
    ]
    return {
        "comments": len(commented),
        "not_received_phrases": sorted(not_received_phrases),
        "low": len(low),
        "high": len(high),
        "defined": defined,
        "discovered": discovered,
        "table": {
            "answers": table.whole.rows,
            "overall": finite(table.whole.overall.value),
            "rows": costs,
        },
    }


def _not_received_phrases(taxonomy: Taxonomy) -> set[str]:
    return {
        phrase
        for key in ("delivery", "delivery-delay", "wrong-or-missing-items")
        for phrase in taxonomy.theme(key).phrases_in("pt")
        if NOT_RECEIVED_PHRASE.search(phrase) and "prazo" not in phrase
    }


def _taxonomy_lemmas(taxonomy: Taxonomy) -> set[str]:
    """The defined themes' Portuguese phrases as content lemmas, as ``cxpulse themes`` excludes
    them from discovery."""
    phrases = set()
    for theme in taxonomy.themes:
        for phrase in theme.phrases_in("pt"):
            lemmas = content_lemmas(phrase, "pt")
            if lemmas:
                phrases.add(" ".join(lemmas))
    return phrases


def _discovered(
    docs: Sequence[Sequence[str]],
    exclude: Iterable[str],
    low: Sequence[int],
    themes_of: Callable[[int], set[str]],
    says_not_received: Callable[[int], bool],
    max_themes: int,
) -> list[dict[str, Any]]:
    found = discover_themes(docs, max_themes=max_themes, min_docs=10, exclude=set(exclude))
    result = []
    for theme in found:
        members = [low[member] for member in theme.members]
        overlap = Counter(key for i in members for key in themes_of(i))
        overlap["not-received"] = sum(1 for i in members if says_not_received(i))
        result.append(
            {
                "label": theme.label,
                "size": theme.size,
                "top_phrases": list(theme.top_phrases),
                "taxonomy_overlap": {
                    key: round(100 * count / theme.size)
                    for key, count in overlap.most_common(3)
                    if count
                },
            }
        )
    return result


def print_low_scores(result: Mapping[str, Any]) -> None:
    print(
        f"\n== b. Themes of the {result['low']} one- and two-star comments"
        f" (of {result['comments']} Olist comments; {result['high']} four- and five-star) =="
    )
    print(f"{'defined theme':<25} {'1-2 stars (95% CI)':<24} {'4-5 stars':<24} ratio  top phrases")
    for row in result["defined"]:
        if not row["low"]["k"]:
            continue
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}x"
        print(
            f"{row['theme']:<25} {_count(row['low']):<24} {_count(row['high']):<24}"
            f" {ratio:>5}  {', '.join(row['top_phrases'][:4])}"
        )
    for name, title in (
        ("everything", "discovered in the 1-2 star comments, all words"),
        ("beyond_the_taxonomy", "discovered beyond the taxonomy's phrases"),
    ):
        print(f"Themes {title}:")
        for theme in result["discovered"][name]:
            overlap = ", ".join(f"{k} {v}%" for k, v in theme["taxonomy_overlap"].items())
            print(
                f"  {theme['label']:<40} {theme['size']:>4} comments;"
                f" also tagged {overlap or '-'}; phrases: {', '.join(theme['top_phrases'][:6])}"
            )
    table = result["table"]
    print(
        f"Themes table over all {table['answers']} reviews (CSAT {table['overall']:.1f}%),"
        " ranked by points of CSAT each costs:"
    )
    print(f"  {'theme':<36} {'origin':<10} {'mentions':>8} {'with':>6} {'without':>7}  impact")
    for row in table["rows"][:12]:
        print(
            f"  {row['label'][:36]:<36} {row['origin']:<10} {row['mentions']:>8}"
            f" {_num(row['with']):>6} {_num(row['without']):>7}  {_num(row['impact'], 2)}"
            f" [{_num(row['impact_low'], 2)}, {_num(row['impact_high'], 2)}]"
        )


# --------------------------------------------------------------------------- c. late delivery


@dataclass(frozen=True)
class Order:
    purchased: datetime
    delivered: datetime | None
    estimated: datetime
    status: str


def load_orders(folder: Path) -> dict[str, Order]:
    def when(text: str) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    orders = {}
    with (folder / "olist_orders_dataset.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            purchased = when(row["order_purchase_timestamp"])
            estimated = when(row["order_estimated_delivery_date"])
            if purchased is None or estimated is None:
                continue
            orders[row["order_id"]] = Order(
                purchased,
                when(row["order_delivered_customer_date"]),
                estimated,
                row["order_status"],
            )
    return orders


def late_delivery(
    reviews: Sequence[Review], folder: Path, matcher: ThemeMatcher, bootstrap: int
) -> dict[str, Any]:
    orders = load_orders(folder)
    joined = [(review, orders[review.order_id]) for review in reviews if review.order_id in orders]
    delivered = [(review, order) for review, order in joined if order.delivered is not None]
    late = [review for review, order in delivered if order.delivered > order.estimated]  # type: ignore[operator]
    on_time = [review for review, order in delivered if order.delivered <= order.estimated]  # type: ignore[operator]
    undelivered = [review for review, order in joined if order.delivered is None]

    def histogram(group: Sequence[Review]) -> Histogram:
        return Histogram.from_values(float(review.score) for review in group)

    comparisons = {}
    everyone, late_scores = histogram([r for r, _ in delivered]), histogram(late)
    for name, spec in (("csat", CSAT), ("mean", MEAN)):
        # Lateness as a "theme" of the delivered orders: its share, the score with and without
        # it and the points it costs, as text.theme_impact computes them for comment themes.
        impact = theme_impact("late delivery", everyone, late_scores, spec, comments=everyone.n)
        comparisons[name] = {
            "late": _result(impact.with_theme),
            "on_time": _result(impact.without_theme),
            "undelivered": _result(score(histogram(undelivered), spec)),
            "difference": impact.difference,
            "difference_low": impact.difference_ci_low,
            "difference_high": impact.difference_ci_high,
            "p_value": compare(impact_rest(everyone, late_scores), late_scores, spec).p_value,
            "method": impact.difference_method,
            "overall": impact.overall.value,
            "impact": impact.impact,
            "impact_low": impact.impact_ci_low,
            "impact_high": impact.impact_ci_high,
        }

    # Do the comments of late orders say so? (Only the reviews with a comment.)
    texts = [(review, review in late) for review, _ in delivered if review.text]
    analyses = analyse(
        [CommentInput(review.text, None, HINT) for review, _ in texts], matcher=matcher, models={}
    )
    says_delay = [
        "delivery-delay" in {mention.theme for mention in analysis.themes} for analysis in analyses
    ]
    late_says = sum(
        1 for (_, is_late), says in zip(texts, says_delay, strict=True) if is_late and says
    )
    late_n = sum(1 for _, is_late in texts if is_late)
    on_time_says = sum(
        1 for (_, is_late), says in zip(texts, says_delay, strict=True) if not is_late and says
    )
    return {
        "reviews": len(reviews),
        "joined": len(joined),
        "delivered": len(delivered),
        "late": len(late),
        "on_time": len(on_time),
        "undelivered": len(undelivered),
        "comparisons": comparisons,
        "comments_saying_delay": {
            "late": interval(late_says, late_n),
            "on_time": interval(on_time_says, len(texts) - late_n),
        },
        "key_drivers": _key_drivers(delivered, bootstrap),
    }


def impact_rest(everyone: Histogram, part: Histogram) -> Histogram:
    """The answers of ``everyone`` that are not in ``part``."""
    counts = dict(everyone.counts)
    for value, count in part.counts.items():
        counts[value] -= count
    return Histogram(counts)


def _key_drivers(delivered: Sequence[tuple[Review, Order]], bootstrap: int) -> dict[str, Any]:
    """Relative weights of the delivery figures on the review score (``text.key_drivers``)."""
    day = 86_400.0
    outcome = np.array([float(review.score) for review, _ in delivered])
    drivers = {
        "late (0/1)": [float(order.delivered > order.estimated) for _, order in delivered],  # type: ignore[operator]
        "days past the estimate": [
            (order.delivered - order.estimated).total_seconds() / day  # type: ignore[operator]
            for _, order in delivered
        ],
        "days promised": [
            (order.estimated - order.purchased).total_seconds() / day for _, order in delivered
        ],
    }
    table = key_drivers(
        outcome,
        {name: np.array(values) for name, values in drivers.items()},
        bootstrap=bootstrap,
        seed=0,
    )
    return table.to_dict()


def _result(result: Any) -> dict[str, Any]:
    return {
        "value": finite(result.value),
        "low": finite(result.ci_low),
        "high": finite(result.ci_high),
        "n": result.n,
    }


def print_late_delivery(result: Mapping[str, Any]) -> None:
    print(
        f"\n== c. Late delivery from the order dates: {result['joined']} of"
        f" {result['reviews']} reviews join an order; {result['delivered']} delivered"
        f" ({result['late']} after the estimated date, {result['on_time']} on time),"
        f" {result['undelivered']} never delivered =="
    )
    for name, unit in (("csat", "%"), ("mean", "")):
        c = result["comparisons"][name]
        late, on_time, undelivered = c["late"], c["on_time"], c["undelivered"]
        print(
            f"{name.upper():<5} late {_num(late['value'])}{unit} [{_num(late['low'])},"
            f" {_num(late['high'])}] (n {late['n']}), on time {_num(on_time['value'])}{unit}"
            f" [{_num(on_time['low'])}, {_num(on_time['high'])}] (n {on_time['n']});"
            f" never delivered {_num(undelivered['value'])}{unit} (n {undelivered['n']})"
        )
        print(
            f"      late minus on time {_num(c['difference'], 2)} [{_num(c['difference_low'], 2)},"
            f" {_num(c['difference_high'], 2)}], p {c['p_value']:.2g} ({c['method']});"
            f" impact on the overall {_num(c['overall'], 2)}: {_num(c['impact'], 2)}"
            f" [{_num(c['impact_low'], 2)}, {_num(c['impact_high'], 2)}]"
        )
    says = result["comments_saying_delay"]
    print(
        f"Comments that name a delay (delivery-delay): late orders {_count(says['late'])},"
        f" on-time orders {_count(says['on_time'])}"
    )
    drivers = result["key_drivers"]
    print(
        f"Key drivers of the review score (1-5) over {drivers['n']} delivered orders"
        f" ({drivers['dropped']} dropped for a blank): R² {_num(drivers['r_squared'], 3)}"
        f" [{_num(drivers['r_squared_ci_low'], 3)}, {_num(drivers['r_squared_ci_high'], 3)}],"
        f" {drivers['bootstrap']} bootstrap resamples"
    )
    print(f"  {'driver':<24} {'weight (95% CI)':<26} {'share':>6} {'Shapley R²':>10} {'r':>6}")
    for row in drivers["rows"]:
        print(
            f"  {row['name']:<24} {_num(row['weight'], 3)} [{_num(row['weight_ci_low'], 3)},"
            f" {_num(row['weight_ci_high'], 3)}]{'':<4} {_num(row['share'], 0):>5}%"
            f" {_num(row['shapley'], 3):>10} {_num(row['correlation'], 2):>6}"
        )
    for note in drivers["notes"]:
        print(f"  note: {note}")


# --------------------------------------------------------------------------- d. languages


def language_quality(reviews: Sequence[Review]) -> dict[str, Any]:
    from cxpulse.text.analysis import prepare

    samples = load_language_samples()
    texts = [text for _, text in samples]
    truth = [language for language, _ in samples]
    plain = prepare([CommentInput(text) for text in texts]).languages
    hinted = prepare([CommentInput(text, None, language) for language, text in samples]).languages
    long = [len(text) >= SHORT_CHARS for text in texts]

    def accuracy(found: Sequence[str | None], keep: Callable[[int], bool]) -> dict[str, Any]:
        chosen = [i for i in range(len(texts)) if keep(i)]
        return interval(sum(1 for i in chosen if found[i] == truth[i]), len(chosen))

    def of(language: str, want_long: bool) -> Callable[[int], bool]:
        return lambda i: truth[i] == language and long[i] == want_long

    per_language = {
        language: {
            "long": accuracy(plain, of(language, True)),
            "short": accuracy(plain, of(language, False)),
            "short_hinted": accuracy(hinted, of(language, False)),
        }
        for language in LANGUAGES
    }
    confusions = Counter(
        f"{truth[i]}->{plain[i]}" for i in range(len(texts)) if long[i] and plain[i] != truth[i]
    )
    commented = [review.text for review in reviews if review.text]
    olist_plain = prepare([CommentInput(text) for text in commented]).languages
    olist_hinted = prepare([CommentInput(text, None, HINT) for text in commented]).languages
    olist_long = [len(text) >= SHORT_CHARS for text in commented]

    def olist(found: Sequence[str | None], keep: Callable[[int], bool]) -> dict[str, Any]:
        chosen = [i for i in range(len(commented)) if keep(i)]
        return interval(sum(1 for i in chosen if found[i] == "pt"), len(chosen))

    return {
        "samples": {
            "long": accuracy(plain, lambda i: long[i]),
            "short": accuracy(plain, lambda i: not long[i]),
            "short_hinted": accuracy(hinted, lambda i: not long[i]),
            "all": accuracy(plain, lambda i: True),
            "per_language": per_language,
            "long_confusions": dict(confusions.most_common()),
        },
        "olist": {
            "long": olist(olist_plain, lambda i: olist_long[i]),
            "short": olist(olist_plain, lambda i: not olist_long[i]),
            "all": olist(olist_plain, lambda i: True),
            "all_hinted": olist(olist_hinted, lambda i: True),
            "short_hinted": olist(olist_hinted, lambda i: not olist_long[i]),
            "other_languages": dict(
                Counter(str(language) for language in olist_plain if language != "pt")
            ),
        },
    }


def print_languages(result: Mapping[str, Any]) -> None:
    samples, olist = result["samples"], result["olist"]
    print("\n== d. Language detection ==")
    print(
        f"Team-written samples: >= {SHORT_CHARS} characters {_share(samples['long'])};"
        f" shorter {_share(samples['short'])} without a hint,"
        f" {_share(samples['short_hinted'])} with the survey-language hint;"
        f" all {_share(samples['all'])}"
    )
    print(f"  {'language':<8} {'>= 20 chars':<26} {'shorter':<26} shorter, hinted")
    for language, row in samples["per_language"].items():
        print(
            f"  {language:<8} {_count(row['long']):<26} {_count(row['short']):<26}"
            f" {_count(row['short_hinted'])}"
        )
    if samples["long_confusions"]:
        print(f"  mistakes on >= 20 characters: {samples['long_confusions']}")
    print(
        f"Olist comments (all Portuguese): >= {SHORT_CHARS} characters {_share(olist['long'])},"
        f" shorter {_share(olist['short'])}, all {_share(olist['all'])} without a hint;"
        f" all {_share(olist['all_hinted'])} and shorter {_share(olist['short_hinted'])} with"
        f" the {HINT} hint; taken for other languages: {olist['other_languages']}"
    )


# --------------------------------------------------------------------------- e. sentiment


def sentiment_quality(
    reviews: Sequence[Review], matcher: ThemeMatcher, splits: int, seed: int
) -> dict[str, Any]:
    commented = [review for review in reviews if review.text]
    halves: list[tuple[str, set[str]]] = [
        (
            "even review ids hidden (the labels' evaluation half)",
            {r.review_id for r in commented if int(r.review_id[:8], 16) % 2 == 0},
        )
    ]
    for n in range(splits):
        rng = random.Random(seed + n)
        chosen = rng.sample(sorted(r.review_id for r in commented), len(commented) // 2)
        halves.append((f"random half, seed {seed + n}", set(chosen)))
    runs = [_sentiment_split(commented, hidden, name, matcher) for name, hidden in halves]
    random_runs = runs[1:]
    summary = {}
    if random_runs:
        for key in ("product", "baseline"):
            values = [run[key]["accuracy"]["value"] for run in random_runs]
            summary[key] = {
                "median": float(np.median(values)),
                "min": min(values),
                "max": max(values),
            }
    return {"comments": len(commented), "runs": runs, "random_halves": summary}


def _sentiment_split(
    commented: Sequence[Review], hidden: set[str], name: str, matcher: ThemeMatcher
) -> dict[str, Any]:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    inputs = [
        CommentInput(
            review.text,
            None if review.review_id in hidden else band_sentiment(review.score, CSAT.thresholds),
            HINT,
        )
        for review in commented
    ]
    started = time.perf_counter()
    analyses, models = learn_and_analyse(inputs, matcher=matcher)
    seconds = time.perf_counter() - started
    tested = [
        (i, Sentiment.NEGATIVE if review.score <= 2 else Sentiment.POSITIVE)
        for i, review in enumerate(commented)
        if review.review_id in hidden and review.score != 3
    ]
    train = [
        (review.text, int(review.score >= 4))
        for review in commented
        if review.review_id not in hidden and review.score != 3
    ]
    sources = Counter(
        "unknown" if analyses[i].sentiment_source is None else str(analyses[i].sentiment_source)
        for i, _ in tested
    )
    product_right = [analyses[i].sentiment is truth for i, truth in tested]
    by_source: dict[str, dict[str, Any]] = {}
    for source in sources:
        picked = [
            right
            for (i, _), right in zip(tested, product_right, strict=True)
            if (
                "unknown"
                if analyses[i].sentiment_source is None
                else str(analyses[i].sentiment_source)
            )
            == source
        ]
        by_source[source] = interval(sum(picked), len(picked))

    # The baseline: lowercase word counts and a logistic regression, scikit-learn's defaults.
    vectoriser = CountVectorizer(lowercase=True)
    features = vectoriser.fit_transform([text for text, _ in train])
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(features, [label for _, label in train])
    predicted = classifier.predict(vectoriser.transform([commented[i].text for i, _ in tested]))
    baseline_right = [
        bool(label) == (truth is Sentiment.POSITIVE)
        for label, (_, truth) in zip(predicted, tested, strict=True)
    ]
    only_product = sum(1 for p, b in zip(product_right, baseline_right, strict=True) if p and not b)
    only_baseline = sum(
        1 for p, b in zip(product_right, baseline_right, strict=True) if b and not p
    )
    negatives = [k for k, (_, truth) in enumerate(tested) if truth is Sentiment.NEGATIVE]
    positives = [k for k, (_, truth) in enumerate(tested) if truth is Sentiment.POSITIVE]
    return {
        "split": name,
        "visible_scored": sum(1 for c in inputs if c.score_sentiment is not None),
        "trained_on": len(train),
        "tested": len(tested),
        "models": sorted(models),
        "seconds": seconds,
        "product": {
            "accuracy": interval(sum(product_right), len(tested)),
            "negative_recall": interval(sum(product_right[k] for k in negatives), len(negatives)),
            "positive_recall": interval(sum(product_right[k] for k in positives), len(positives)),
            "sources": dict(sources),
            "accuracy_by_source": by_source,
        },
        "baseline": {
            "accuracy": interval(sum(baseline_right), len(tested)),
            "negative_recall": interval(sum(baseline_right[k] for k in negatives), len(negatives)),
            "positive_recall": interval(sum(baseline_right[k] for k in positives), len(positives)),
        },
        "only_product_right": only_product,
        "only_baseline_right": only_baseline,
        "mcnemar_p": _mcnemar(only_product, only_baseline),
    }


def _mcnemar(only_a: int, only_b: int) -> float:
    """Exact McNemar test of two classifiers on the same comments: are the comments only one
    of them gets right split more unevenly than a coin would split them?"""
    from scipy.stats import binomtest

    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def _balanced(result: Mapping[str, Any]) -> float:
    """The mean of the recalls on negative and on positive comments (accuracy as if the two
    sides were equally common: Olist has about three positive comments to one negative)."""
    return float((result["negative_recall"]["value"] + result["positive_recall"]["value"]) / 2)


def print_sentiment(result: Mapping[str, Any]) -> None:
    print(
        f"\n== e. Sentiment of unscored comments: half of the {result['comments']} Olist"
        " comments' scores hidden; negative (1-2) against positive (4-5) on the hidden half,"
        " unknown counted as wrong =="
    )
    for run in result["runs"]:
        product, baseline = run["product"], run["baseline"]
        print(
            f"{run['split']}: {run['tested']} tested, models trained on"
            f" {run['visible_scored']} visible scored comments"
            f" ({', '.join(run['models']) or 'none'},"
            f" {run['seconds']:.1f} s)"
        )
        print(
            f"  cxpulse   {_share(product['accuracy'])}"
            f"  negative {_share(product['negative_recall'])},"
            f" positive {_share(product['positive_recall'])}; sources {product['sources']}"
        )
        print(
            f"  bag of words {_share(baseline['accuracy'])}  negative"
            f" {_share(baseline['negative_recall'])},"
            f" positive {_share(baseline['positive_recall'])}"
        )
        print(
            f"  balanced accuracy cxpulse {_balanced(product):.1f}%, bag of words"
            f" {_balanced(baseline):.1f}%; right only by cxpulse {run['only_product_right']},"
            f" only by the baseline {run['only_baseline_right']} (exact McNemar p"
            f" {run['mcnemar_p']:.2g})"
        )
    summary = result["random_halves"]
    if summary:
        print(
            "Random halves: cxpulse median {median:.1f}% (min {min:.1f}, max {max:.1f});".format(
                **summary["product"]
            ),
            "bag of words median {median:.1f}% (min {min:.1f}, max {max:.1f})".format(
                **summary["baseline"]
            ),
        )


# --------------------------------------------------------------------------- output helpers


def _share(value: Mapping[str, Any]) -> str:
    if value["value"] is None:
        return "- (n 0)"
    share = f"{value['value']:.1f}% [{value['low']:.1f}, {value['high']:.1f}]"
    return f"{share} ({value['k']}/{value['n']})"


def _count(value: Mapping[str, Any]) -> str:
    if value["value"] is None:
        return "0/0"
    return f"{value['k']}/{value['n']} ({value['value']:.0f}%)"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--olist", type=Path, default=DEFAULT_OLIST, help="the Olist folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--splits", type=int, default=5, help="random halves for sentiment")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--max-themes", type=int, default=8)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args(argv)
    sections = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    folder: Path = args.olist
    if not (folder / "olist_order_reviews_dataset.csv").is_file():
        print(
            f"The Olist reviews are not in {folder} (olist_order_reviews_dataset.csv missing)."
            " This evaluation reads them at run time and never copies them; point --olist at"
            " the folder of the 'Brazilian E-Commerce Public Dataset by Olist' files.",
            file=sys.stderr,
        )
        return 2

    started = time.perf_counter()
    reviews = load_reviews(folder)
    matcher = ThemeMatcher(starter_taxonomy())
    report: dict[str, Any] = {
        "olist": str(folder),
        "load_average": os.getloadavg(),
        "taxonomy_version": matcher.version,
    }
    steps: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[Mapping[str, Any]], None]]] = {
        "taxonomy": (lambda: taxonomy_quality(reviews, matcher), print_taxonomy),
        "low-scores": (
            lambda: low_score_themes(reviews, matcher, args.max_themes),
            print_low_scores,
        ),
        "late-delivery": (
            lambda: late_delivery(reviews, folder, matcher, args.bootstrap),
            print_late_delivery,
        ),
        "languages": (lambda: language_quality(reviews), print_languages),
        "sentiment": (
            lambda: sentiment_quality(reviews, matcher, args.splits, args.seed),
            print_sentiment,
        ),
    }
    if not args.json:
        print(f"Olist: {folder}; {len(reviews)} reviews, load average {os.getloadavg()[0]:.1f}")
    for name in SECTIONS:
        if name not in sections:
            continue
        compute, show = steps[name]
        report[name] = compute()
        if not args.json:
            show(report[name])
            sys.stdout.flush()
    report["seconds"] = time.perf_counter() - started
    if args.json:
        json.dump(report, sys.stdout, indent=2, default=str)
        print()
    else:
        print(f"\n{report['seconds']:.0f} s, load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
