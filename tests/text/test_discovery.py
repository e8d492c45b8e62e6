"""Discovery of themes nobody defined: planted topics come back, labelled, and nothing breaks.

The corpora are synthetic on purpose: each comment is a few everyday lemmas drawn from a long
Zipf-shaped vocabulary (as real comments are) plus, for most comments, a few lemmas of one of
four planted topics, sometimes as a fixed phrase. Which topic each comment came from is known,
so what discovery finds can be checked against it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.text.discovery import SEPARATOR, DiscoveredTheme, discover_themes

TOPICS: dict[str, list[str]] = {
    "parking": ["parking", "lot", "car", "space", "full", "garage", "park"],
    "app": ["app", "crash", "login", "update", "freeze", "password", "screen"],
    "packaging": ["packaging", "box", "damaged", "broken", "wrap", "torn", "dented"],
    "music": ["music", "loud", "song", "speaker", "noise", "volume", "radio"],
}
EVERYDAY = ["order", "time", "good", "customer", "service", "shop", "week", "day"]


def planted_corpus(
    n: int, seed: int = 0, *, background: int = 400, unplanted: float = 0.2
) -> tuple[list[tuple[str, ...]], list[str | None]]:
    """(comments as lemma tuples, the planted topic of each or None).

    Each comment: 0-2 everyday lemmas and 1-4 Zipf-distributed filler lemmas in random order;
    then, unless unplanted, 2-4 lemmas of one topic inserted at a random place, half the time as
    a fixed phrase (neighbouring lemmas of the topic's list, in order). Every random number is
    drawn up front, so 100,000 comments take a second, not a minute.
    """
    rng = np.random.default_rng(seed)
    words = [f"filler{i}" for i in range(background)]
    cumulative = np.cumsum(1 / np.arange(1, background + 1))
    filler = np.searchsorted(cumulative, rng.random((n, 4)) * cumulative[-1])
    n_filler = rng.integers(1, 5, n)
    everyday = rng.integers(0, len(EVERYDAY), (n, 2))
    n_everyday = rng.integers(0, 3, n)
    order = np.argsort(rng.random((n, 6)), axis=1)
    names = list(TOPICS)
    topic_index = rng.integers(0, len(names), n)
    planted = rng.random(n) >= unplanted
    size = rng.integers(2, 5, n)
    as_phrase = rng.random(n) < 0.5
    start = (rng.random(n) * (8 - size)).astype(int)  # 0 .. 7 - size
    subset = np.argsort(rng.random((n, 7)), axis=1)
    where = rng.random(n)
    docs: list[tuple[str, ...]] = []
    truth: list[str | None] = []
    for row in range(n):
        lemmas = [EVERYDAY[i] for i in everyday[row, : n_everyday[row]]]
        lemmas += [words[i] for i in filler[row, : n_filler[row]]]
        lemmas = [lemmas[i] for i in order[row] if i < len(lemmas)]
        topic = names[topic_index[row]] if planted[row] else None
        if topic is not None:
            vocabulary = TOPICS[topic]
            if as_phrase[row]:
                block = vocabulary[start[row] : start[row] + size[row]]
            else:
                block = [vocabulary[i] for i in subset[row, : size[row]]]
            at = int(where[row] * (len(lemmas) + 1))
            lemmas[at:at] = block
        docs.append(tuple(lemmas))
        truth.append(topic)
    return docs, truth


def topic_of(theme: DiscoveredTheme, truth: Sequence[str | None]) -> tuple[str | None, float]:
    """The planted topic most of the theme's comments came from, and their share."""
    (topic, count), *_ = Counter(truth[i] for i in theme.members).most_common(1)
    return topic, count / theme.size


def check_well_formed(themes: list[DiscoveredTheme], n_docs: int, min_docs: int) -> None:
    seen: set[int] = set()
    for theme in themes:
        assert theme.size == len(theme.members) >= min_docs
        assert list(theme.members) == sorted(set(theme.members))
        assert all(0 <= m < n_docs for m in theme.members)
        assert not seen & set(theme.members), "a comment in two themes"
        seen |= set(theme.members)
        assert theme.top_phrases
        assert theme.label == SEPARATOR.join(theme.top_phrases[:3])
        assert theme.key
        assert " " not in theme.key
        assert theme.key == theme.key.lower()
    assert len({t.key for t in themes}) == len(themes)
    assert [t.size for t in themes] == sorted((t.size for t in themes), reverse=True)


# --- planted topics come back ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_planted_topic_is_one_theme_when_asked_for_as_many(seed: int) -> None:
    docs, truth = planted_corpus(1200, seed)
    themes = discover_themes(docs, max_themes=len(TOPICS))
    check_well_formed(themes, len(docs), 5)
    found = {topic_of(theme, truth)[0]: theme for theme in themes}
    assert set(found) == set(TOPICS)
    for topic, theme in found.items():
        _, purity = topic_of(theme, truth)
        planted = sum(1 for t in truth if t == topic)
        recall = sum(1 for i in theme.members if truth[i] == topic) / planted
        assert purity >= 0.9, (topic, purity)
        assert recall >= 0.85, (topic, recall)
        # The label is made of the topic's own words, and reads as phrases.
        assert topic is not None
        for phrase in theme.top_phrases[:3]:
            assert set(phrase.split(" ")) <= set(TOPICS[topic]), theme.label


@pytest.mark.parametrize("seed", [0, 3])
def test_surplus_components_neither_mix_topics_nor_lose_them(seed: int) -> None:
    # Eight components for four topics: the extra ones may split a topic or fall away, but no
    # theme mixes topics and every topic's comments are still found.
    docs, truth = planted_corpus(1500, seed)
    themes = discover_themes(docs, max_themes=8)
    check_well_formed(themes, len(docs), 5)
    covered: Counter[str | None] = Counter()
    for theme in themes:
        topic, purity = topic_of(theme, truth)
        assert topic is not None, theme.label
        assert purity >= 0.85, (theme.label, topic, purity)
        covered[topic] += sum(1 for i in theme.members if truth[i] == topic)
    for topic in TOPICS:
        planted = sum(1 for t in truth if t == topic)
        assert covered[topic] / planted >= 0.8, topic


def test_comments_with_no_planted_topic_mostly_join_no_theme() -> None:
    docs, truth = planted_corpus(1500, 5)
    themes = discover_themes(docs)
    members = {i for theme in themes for i in theme.members}
    unplanted = [i for i, topic in enumerate(truth) if topic is None]
    assert sum(1 for i in unplanted if i in members) / len(unplanted) < 0.25


def test_a_phrase_labels_its_theme_as_a_bigram() -> None:
    # Every comment of the topic says "rude courier" in that order: the label shows the
    # phrase, not its two words apart.
    rng = np.random.default_rng(4)
    docs = []
    for i in range(400):
        filler = [f"w{int(x)}" for x in rng.integers(0, 300, size=4)]
        if i % 3 == 0:
            filler[1:1] = ["rude", "courier"]
        docs.append(tuple(filler))
    themes = discover_themes(docs)
    assert themes
    rude = themes[0]
    assert rude.top_phrases[0] == "rude courier"
    assert rude.key.startswith("rude-courier")
    planted = set(range(0, 400, 3))
    assert set(rude.members) <= planted
    assert len(rude.members) >= 0.9 * len(planted)


# --- what is excluded stays out ------------------------------------------------------------


def test_excluded_lemmas_are_never_discovered_and_the_rest_still_is() -> None:
    docs, truth = planted_corpus(1200, 1)
    themes = discover_themes(docs, max_themes=6, exclude=TOPICS["parking"])
    excluded = set(TOPICS["parking"])
    for theme in themes:
        for phrase in theme.top_phrases:
            assert not set(phrase.split(" ")) & excluded, theme.label
    found = {topic_of(theme, truth)[0] for theme in themes}
    assert {"app", "packaging", "music"} <= found
    assert "parking" not in found


def test_an_excluded_phrase_removes_only_that_phrase_and_leaves_a_gap() -> None:
    # "late delivery" is a defined phrase; "late" alone elsewhere is not. Removing the phrase
    # must not make its neighbours a new bigram ("slow late delivery box" -> no "slow box").
    docs: list[tuple[str, ...]] = [("slow", "late", "delivery", "box")] * 6
    docs += [("late", "invoice", "fee")] * 6
    docs += [(f"x{i}", f"y{i}") for i in range(30)]
    themes = discover_themes(docs, exclude=["Late Delivery"], min_docs=5)
    phrases = {phrase for theme in themes for phrase in theme.top_phrases}
    assert "slow box" not in phrases
    assert "late delivery" not in phrases
    assert "delivery" not in phrases
    assert any("late invoice" in theme.top_phrases for theme in themes)


# --- determinism and small or odd inputs -----------------------------------------------------


def test_the_same_input_gives_the_same_themes() -> None:
    docs, _ = planted_corpus(2000, 7)
    assert discover_themes(docs) == discover_themes(list(docs))


@pytest.mark.parametrize(
    "docs",
    [
        [],
        [()],
        [("parking", "full")] * 4,  # fewer comments than min_docs
        [(), (), (), (), (), ()],
        [("", " "), ("\t",)] * 5,
        [(f"unique{i}",) for i in range(50)],  # nothing shared by two comments
        [("same", "words", "everywhere")] * 50,  # every phrase in every comment
        [("one",)] * 3 + [("two",)] * 3,
    ],
)
def test_small_or_degenerate_inputs_give_no_theme_and_no_error(
    docs: list[tuple[str, ...]],
) -> None:
    assert discover_themes(docs) == []


def test_arguments_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="max_themes"):
        discover_themes([("a",)], max_themes=0)
    with pytest.raises(ValueError, match="min_docs"):
        discover_themes([("a",)], min_docs=0)


def test_min_docs_and_max_themes_are_respected() -> None:
    docs, _ = planted_corpus(600, 2)
    assert len(discover_themes(docs, max_themes=2)) <= 2
    large = discover_themes(docs, min_docs=100)
    assert all(theme.size >= 100 for theme in large)


def test_lemmas_are_compared_in_lowercase() -> None:
    docs: list[tuple[str, ...]] = [("Rude", "Courier", f"w{i}") for i in range(10)]
    docs += [("rude", "courier", f"v{i}") for i in range(10)]
    docs += [(f"z{i}", f"q{i}") for i in range(30)]
    themes = discover_themes(docs)
    assert themes
    assert themes[0].size == 20
    assert themes[0].to_dict()["size"] == 20


WORDS = st.sampled_from(["a", "b", "c", "d", "e", "late", "delivery", "", "É", "x y"])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    docs=st.lists(st.lists(WORDS, max_size=8), max_size=60),
    max_themes=st.integers(1, 5),
    min_docs=st.integers(1, 6),
    exclude=st.lists(st.sampled_from(["a", "late delivery", "b c", "zzz"]), max_size=3),
)
def test_any_input_gives_well_formed_themes(
    docs: list[list[str]], max_themes: int, min_docs: int, exclude: list[str]
) -> None:
    themes = discover_themes(docs, max_themes=max_themes, min_docs=min_docs, exclude=exclude)
    assert len(themes) <= max_themes
    check_well_formed(themes, len(docs), min_docs)


# --- speed -------------------------------------------------------------------------------------
