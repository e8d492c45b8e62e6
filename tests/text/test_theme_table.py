"""theme_table: mentions, shares, scores with and without, impact, examples, order, segments."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxpulse.metrics import Histogram, MetricSpec, score
from cxpulse.metrics.intervals import wilson
from cxpulse.text.comments import CommentAnalysis, Sentiment, SentimentSource, ThemeMention
from cxpulse.text.taxonomy import Taxonomy, Theme
from cxpulse.text.theme_table import EXAMPLES, ThemeRow, theme_table

CSAT = MetricSpec.default("csat")
DSAT = MetricSpec.default("dsat")
TAXONOMY = Taxonomy(
    (
        Theme("delivery", "Delivery", {"en": ("delivery", "parcel")}),
        Theme("price", "Price", {"en": ("price", "expensive")}),
        Theme("staff", "Staff friendliness", {"en": ("staff", "rude")}),
    )
)


def comment(
    text: str,
    *mentions: tuple[str, Sentiment] | tuple[str, Sentiment, str],
    sentiment: Sentiment = Sentiment.NEUTRAL,
) -> CommentAnalysis:
    return CommentAnalysis(
        language="en" if text else None,
        sentiment=sentiment if text else Sentiment.UNKNOWN,
        sentiment_source=SentimentSource.SCORE if text else None,
        themes=tuple(
            ThemeMention(found[0], found[1], found[2] if len(found) > 2 else found[0])
            for found in mentions
        ),
        redacted=text,
    )


def no_comment() -> CommentAnalysis:
    return comment("")


def rows_of(table_rows: tuple[ThemeRow, ...]) -> dict[str, ThemeRow]:
    return {row.key: row for row in table_rows}


def test_a_theme_that_costs_points_with_its_figures() -> None:
    # 20 comments about late deliveries scored 1, 60 other comments scored 5, and 20 answers
    # scored 5 without a comment: CSAT 80%, 100% without the delivery answers.
    analyses = [comment(f"parcel late {i}", ("delivery", Sentiment.NEGATIVE)) for i in range(20)]
    analyses += [comment(f"fine {i}") for i in range(60)] + [no_comment()] * 20
    scores = [1.0] * 20 + [5.0] * 80
    table = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, discover=False)
    whole = table.whole
    assert whole.whole
    assert (whole.rows, whole.comments) == (100, 80)
    assert whole.overall.value == pytest.approx(80.0)
    (row,) = whole.themes
    assert (row.key, row.label, row.origin) == ("delivery", "Delivery", "defined")
    assert row.mentions == 20
    assert row.share == pytest.approx(25.0)
    low, high = wilson(20, 80, 0.95)
    assert row.share_low == pytest.approx(low * 100)
    assert row.share_high == pytest.approx(high * 100)
    assert row.with_theme.value == 0.0
    assert row.with_theme.n == 20
    assert row.without_theme.value == 100.0
    assert row.without_theme.n == 80
    assert row.impact == pytest.approx(-20.0)
    assert row.impact_low <= row.impact <= row.impact_high
    assert row.direction == "costs"
    assert row.sentiments == {"negative": 20, "neutral": 0, "positive": 0, "unknown": 0}
    assert row.examples == ("parcel late 0", "parcel late 1", "parcel late 2")
    assert table.segments == ()
    data = row.to_dict()
    assert data["significant"] is True
    assert data["too_small"] is True  # 20 mentioners, fewer than min_n 30
    assert data["score_with"]["n"] == 20
    assert data["share"] == pytest.approx(25.0)


def test_unscored_comments_count_as_mentions_but_not_in_the_scores() -> None:
    analyses = [comment("rude staff", ("staff", Sentiment.NEGATIVE)) for _ in range(3)]
    analyses += [comment("ok"), comment("ok")]
    scores: list[float | None] = [1.0, None, None, 5.0, 4.0]
    (row,) = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    assert row.mentions == 3
    assert row.share == pytest.approx(60.0)
    assert row.with_theme.n == 1
    assert row.without_theme.n == 2
    overall = score(Histogram({1: 1, 4: 1, 5: 1}), CSAT)
    assert row.impact == pytest.approx(overall.value - row.without_theme.value)


def test_a_theme_with_no_scored_mention_has_no_impact_and_comes_last() -> None:
    analyses = [
        comment("expensive", ("price", Sentiment.NEGATIVE)),
        comment("rude", ("staff", Sentiment.NEGATIVE)),
        comment("nice parcel", ("delivery", Sentiment.POSITIVE)),
        comment("fine"),
    ]
    scores: list[float | None] = [None, 1.0, 5.0, 4.0]
    themes = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    assert [row.key for row in themes] == ["staff", "delivery", "price"]
    price = themes[-1]
    assert math.isnan(price.impact)
    assert price.direction == "none"
    assert price.to_dict()["impact"] is None
    assert price.to_dict()["score_with"]["value"] is None


def test_rows_are_sorted_by_impact_and_dsat_reads_the_other_way() -> None:
    analyses = [comment("rude", ("staff", Sentiment.NEGATIVE)) for _ in range(10)]
    analyses += [comment("cheap", ("price", Sentiment.POSITIVE)) for _ in range(10)]
    analyses += [comment("parcel", ("delivery", Sentiment.NEUTRAL)) for _ in range(10)]
    analyses += [comment("fine") for _ in range(30)]
    # CSAT 53.3%: staff 0%, price 100%, delivery 70%, the rest 50%.
    scores = [1.0] * 10 + [5.0] * 10 + [4.0] * 7 + [2.0] * 3 + [4.0] * 15 + [2.0] * 15
    csat = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    assert [row.key for row in csat] == ["staff", "delivery", "price"]
    assert [row.direction for row in csat] == ["costs", "wins", "wins"]
    assert [row.impact for row in csat] == sorted(row.impact for row in csat)
    dsat = theme_table(analyses, scores, DSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    # For DSAT a theme that raises the share of dissatisfied answers costs.
    assert dsat[0].key == "staff"
    assert dsat[0].impact > 0
    assert dsat[0].direction == "costs"
    assert dsat[-1].key == "price"
    assert dsat[-1].direction == "wins"


def test_examples_explain_the_impact_are_short_distinct_and_at_most_three() -> None:
    long_text = "rude " + "x" * 400
    analyses = [
        comment("staff were lovely", ("staff", Sentiment.POSITIVE)),
        comment(long_text, ("staff", Sentiment.NEGATIVE)),
        comment("rude staff", ("staff", Sentiment.NEGATIVE)),
        comment("rude staff", ("staff", Sentiment.NEGATIVE)),
        comment("very rude [email]", ("staff", Sentiment.NEGATIVE)),
        comment("rude again", ("staff", Sentiment.NEGATIVE)),
        comment("fine"),
    ]
    scores = [5.0, 1.0, 1.0, 1.0, 1.0, 2.0, 5.0]
    (row,) = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    assert row.direction == "costs"
    assert len(row.examples) == EXAMPLES
    assert row.examples == ("rude staff", "very rude [email]", "rude again")


def test_top_phrases_are_the_most_matched_first() -> None:
    analyses = [
        comment("parcel", ("delivery", Sentiment.NEUTRAL, "parcel")),
        comment("delivery", ("delivery", Sentiment.NEUTRAL, "delivery")),
        comment("parcel again", ("delivery", Sentiment.NEUTRAL, "parcel")),
    ]
    (row,) = theme_table(
        analyses, [3.0, 3.0, 3.0], CSAT, taxonomy=TAXONOMY, discover=False
    ).whole.themes
    assert row.top_phrases == ("parcel", "delivery")


def test_a_theme_the_taxonomy_no_longer_knows_keeps_its_key() -> None:
    analyses = [comment("old", ("parking", Sentiment.NEGATIVE))]
    (row,) = theme_table(analyses, [1.0], CSAT, taxonomy=TAXONOMY, discover=False).whole.themes
    assert (row.key, row.label) == ("parking", "parking")


def test_segments_partition_the_rows_and_keep_missing_values_last() -> None:
    analyses = [
        comment("rude", ("staff", Sentiment.NEGATIVE)),
        comment("parcel", ("delivery", Sentiment.POSITIVE)),
        comment("rude", ("staff", Sentiment.NEGATIVE)),
        no_comment(),
        comment("fine"),
    ]
    scores = [1.0, 5.0, 2.0, 5.0, 4.0]
    groups = ["web", "shop", None, "web", "shop"]
    table = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, groups=groups, discover=False)
    assert [segment.segment for segment in table.segments] == ["shop", "web", None]
    assert not any(segment.whole for segment in table.segments)
    assert sum(segment.rows for segment in table.segments) == table.whole.rows
    shop, web, blank = table.segments
    assert [row.key for row in shop.themes] == ["delivery"]
    assert shop.overall.value == pytest.approx(100.0)
    assert (web.rows, web.comments) == (2, 1)
    assert rows_of(web.themes)["staff"].with_theme.n == 1
    assert rows_of(web.themes)["staff"].without_theme.n == 1
    assert [row.key for row in blank.themes] == ["staff"]
    assert blank.to_dict()["overall"]["n"] == 1


def test_discovered_themes_find_what_the_taxonomy_does_not_name() -> None:
    parking = [f"the parking lot was full again {i}" for i in range(12)]
    delivery = [f"the delivery parcel was late {i}" for i in range(12)]
    analyses = [comment(text) for text in parking]
    analyses += [comment(text, ("delivery", Sentiment.NEGATIVE)) for text in delivery]
    analyses += [comment("ok"), no_comment()]
    scores = [2.0] * 12 + [1.0] * 12 + [5.0, 5.0]
    themes = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, min_docs=5).whole.themes
    discovered = [row for row in themes if row.origin == "discovered"]
    assert discovered, themes
    # Lemmas: "parking" is read as "park".
    (found,) = [row for row in discovered if "park" in row.label]
    assert found.top_phrases[0] == "park lot"
    assert found.mentions >= 10
    assert all(example.startswith("the parking lot") for example in found.examples)
    # The taxonomy's words are left to the defined theme.
    assert not any("delivery" in row.label for row in discovered)
    assert "delivery" in {row.key for row in themes}
    keys = [row.key for row in themes]
    assert len(keys) == len(set(keys))


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError, match="scores"):
        theme_table([comment("x")], [], CSAT, taxonomy=TAXONOMY)
    with pytest.raises(ValueError, match="group"):
        theme_table([comment("x")], [1.0], CSAT, taxonomy=TAXONOMY, groups=[])


_MENTION = st.sampled_from(["delivery", "price", "staff"])


@settings(deadline=None, max_examples=60)
@given(
    data=st.lists(
        st.tuples(
            st.booleans(),  # has a comment
            st.lists(_MENTION, max_size=3, unique=True),
            st.one_of(st.none(), st.integers(1, 5)),
            st.sampled_from(["a", "b", None]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_counts_always_add_up(
    data: list[tuple[bool, list[str], int | None, str | None]],
) -> None:
    analyses = [
        comment(f"text {i}", *[(key, Sentiment.NEUTRAL) for key in keys])
        if has_text
        else no_comment()
        for i, (has_text, keys, _score, _group) in enumerate(data)
    ]
    scores = [None if value is None else float(value) for _, _, value, _ in data]
    groups = [group for *_, group in data]
    table = theme_table(analyses, scores, CSAT, taxonomy=TAXONOMY, groups=groups, discover=False)
    for segment in [table.whole, *table.segments]:
        assert segment.comments <= segment.rows
        for row in segment.themes:
            assert 0 < row.mentions <= segment.comments
            assert row.with_theme.n + row.without_theme.n == segment.overall.n
            assert sum(row.sentiments.values()) == row.mentions
            assert row.share_low <= row.share <= row.share_high
            if not math.isnan(row.impact):
                assert row.impact == pytest.approx(segment.overall.value - row.without_theme.value)
            if not (math.isnan(row.impact_low) or math.isnan(row.impact_high)):
                assert row.impact_low - 1e-9 <= row.impact <= row.impact_high + 1e-9
    assert sum(segment.rows for segment in table.segments) == table.whole.rows
