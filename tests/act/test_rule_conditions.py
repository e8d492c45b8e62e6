"""A rule's conditions (``act.rule_conditions``): the document checked with every problem
named by its field, and an answer matched by the survey's own bands, in any case for
segment values, with "any of" lists and every condition ANDed."""

from __future__ import annotations

import pytest

from cxpulse.act.rule_conditions import (
    Answer,
    InvalidRule,
    band_of,
    matches,
    parse_conditions,
)
from cxpulse.metrics import MetricSpec, Scale

NPS = MetricSpec.default("nps")
CSAT = MetricSpec.default("csat")
CES = MetricSpec.default("ces")


def _answer(score: float, spec: MetricSpec = NPS, **fields: object) -> Answer:
    base: dict[str, object] = {"has_comment": False, "analysed": False}
    base.update(fields)
    return Answer(score=score, spec=spec, **base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "score", "band"),
    [
        (NPS, 0, "bottom"),
        (NPS, 6, "bottom"),
        (NPS, 7, "middle"),
        (NPS, 8, "middle"),
        (NPS, 9, "top"),
        (CSAT, 2, "bottom"),
        (CSAT, 3, "middle"),
        (CSAT, 4, "top"),
        (CES, 3, "bottom"),
        (CES, 4, "middle"),
        (CES, 5, "top"),
        (MetricSpec.default("csat", Scale(1, 10)), 5, "bottom"),
    ],
)
def test_bands_are_the_metrics_own(spec: MetricSpec, score: float, band: str) -> None:
    assert band_of(score, spec) == band


def test_band_words_name_a_position_on_every_scale() -> None:
    detractors = parse_conditions({"band": "detractor"})
    assert matches(detractors, _answer(6))
    assert not matches(detractors, _answer(7))
    # "CSAT 1-2": the bottom band of a 1-5 CSAT survey, by its thresholds.
    unhappy = parse_conditions({"band": ["dissatisfied"]})
    assert matches(unhappy, _answer(2, CSAT))
    assert not matches(unhappy, _answer(3, CSAT))
    hard = parse_conditions({"band": "Hard"})
    assert matches(hard, _answer(3, CES))
    assert not matches(hard, _answer(4, CES))
    either = parse_conditions({"band": ["passive", "promoter"]})
    assert [matches(either, _answer(s)) for s in (6, 7, 10)] == [False, True, True]


def test_every_condition_must_hold() -> None:
    conditions = parse_conditions(
        {
            "band": "detractor",
            "comment": "present",
            "segments": {"channel": ["email", "web"], "contact:vip": "yes"},
            "contact_consent": True,
        }
    )
    good = _answer(
        3,
        has_comment=True,
        segments={"channel": "Email", "contact:vip": "YES"},
        contact_consent=True,
    )
    assert matches(conditions, good)
    assert not matches(conditions, _answer(9, has_comment=True, segments=good.segments))
    assert not matches(
        conditions, _answer(3, has_comment=False, segments=good.segments, contact_consent=True)
    )
    assert not matches(
        conditions,
        _answer(3, has_comment=True, segments={"channel": "email"}, contact_consent=True),
    )
    assert not matches(
        conditions, _answer(3, has_comment=True, segments=good.segments, contact_consent=None)
    )


def test_segment_values_match_by_unicode_case_fold() -> None:
    conditions = parse_conditions({"segments": {"property:city": "STRASSE"}})
    assert matches(conditions, _answer(5, segments={"property:city": "straße"}))
    assert not matches(conditions, _answer(5, segments={"property:town": "straße"}))


def test_themes_sentiment_and_comment() -> None:
    conditions = parse_conditions({"theme": ["delivery", "billing"], "sentiment": "negative"})
    assert conditions.needs_analysis
    hit = _answer(
        4, has_comment=True, analysed=True, sentiment="negative", themes=frozenset({"billing"})
    )
    assert matches(conditions, hit)
    assert not matches(
        conditions,
        _answer(4, has_comment=True, analysed=True, sentiment="negative", themes=frozenset()),
    )
    assert not matches(
        conditions,
        _answer(
            4, has_comment=True, analysed=True, sentiment="neutral", themes=frozenset({"billing"})
        ),
    )
    silent = parse_conditions({"comment": "absent"})
    assert not silent.needs_analysis
    assert matches(silent, _answer(4))
    assert not matches(silent, _answer(4, has_comment=True))


def test_score_range() -> None:
    conditions = parse_conditions({"score": {"min": 1, "max": 2}})
    assert [matches(conditions, _answer(s, CSAT)) for s in (1, 2, 3)] == [True, True, False]


def test_an_empty_document_matches_every_answer() -> None:
    assert matches(parse_conditions({}), _answer(0))
    assert matches(parse_conditions(None), _answer(10))


def test_the_stored_document_is_checked_and_tidy() -> None:
    conditions = parse_conditions(
        {"band": ["Detractor", "detractor"], "theme": " Delivery ", "segments": {"channel": 5}}
    )
    assert conditions.document == {
        "band": ["detractor"],
        "theme": ["delivery"],
        "segments": {"channel": ["5"]},
    }


def test_every_problem_is_named_by_its_field() -> None:
    with pytest.raises(InvalidRule) as caught:
        parse_conditions(
            {
                "band": ["angry"],
                "score": {"min": 5, "max": 2},
                "theme": [""],
                "sentiment": "furious",
                "comment": "maybe",
                "segments": {"colour": "red", "channel": []},
                "contact_consent": "yes",
                "weather": "sunny",
            }
        )
    fields = {p.field: p.message for p in caught.value.problems}
    assert set(fields) == {
        "conditions.band.0",
        "conditions.score.max",
        "conditions.theme.0",
        "conditions.sentiment",
        "conditions.comment",
        "conditions.segments.colour",
        "conditions.segments.channel",
        "conditions.contact_consent",
        "conditions.weather",
    }
    assert "'angry' is not one of" in fields["conditions.band.0"]
    assert caught.value.field == caught.value.problems[0].field


@pytest.mark.parametrize("document", [[], "detractor", 3])
def test_a_document_that_is_no_object_is_refused(document: object) -> None:
    with pytest.raises(InvalidRule) as caught:
        parse_conditions(document)
    assert caught.value.field == "conditions"


def test_control_characters_in_segment_values_are_refused() -> None:
    with pytest.raises(InvalidRule) as caught:
        parse_conditions({"segments": {"property:product": ["Pro\x00"]}})
    assert caught.value.problems[0].field == "conditions.segments.property:product.0"
