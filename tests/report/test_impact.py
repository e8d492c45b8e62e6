"""Segment impact: overall score minus the score without the segment, worked by hand."""

from __future__ import annotations

import math

import pytest

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report.impact import segment_impacts, subtract

CSAT = MetricSpec.default("csat")
NPS = MetricSpec.default("nps")


def test_csat_impacts_worked_example() -> None:
    # A: 10 answers, all 5 (100% satisfied); B: 30 answers, 15 at 4 and 15 at 2 (50%).
    # Overall 25/40 = 62.5%. Without A: 15/30 = 50% -> impact +12.5.
    # Without B: 10/10 = 100% -> impact -37.5. B moves the score more, so it comes first.
    overall, impacts = segment_impacts(
        {"A": Histogram({5: 10}), "B": Histogram({4: 15, 2: 15})}, CSAT
    )
    assert overall.value == pytest.approx(62.5)
    assert [i.key for i in impacts] == ["B", "A"]
    assert impacts[0].impact == pytest.approx(-37.5)
    assert impacts[1].impact == pytest.approx(12.5)
    assert impacts[0].share == pytest.approx(0.75)
    assert impacts[1].rest.value == pytest.approx(50.0)
    assert impacts[1].result.value == pytest.approx(100.0)


def test_nps_impacts_worked_example() -> None:
    # email: 50 promoters, 30 passives, 20 detractors (NPS 30)
    # chat: 10 promoters, 10 passives, 30 detractors (NPS -40)
    # overall: 60 promoters, 50 detractors of 150 -> 6.67. Without chat: NPS 30, so chat's
    # impact is 6.67 - 30 = -23.33. Without email: -40, so email's is 6.67 + 40 = +46.67.
    overall, impacts = segment_impacts(
        {
            "email": Histogram({10: 50, 8: 30, 3: 20}),
            "chat": Histogram({9: 10, 7: 10, 0: 30}),
        },
        NPS,
    )
    assert overall.value == pytest.approx(20 / 3)
    by_key = {i.key: i.impact for i in impacts}
    assert by_key["chat"] == pytest.approx(20 / 3 - 30)
    assert by_key["email"] == pytest.approx(20 / 3 + 40)
    assert [i.key for i in impacts] == ["email", "chat"]


def test_a_segment_holding_every_answer_has_no_defined_impact() -> None:
    overall, impacts = segment_impacts({None: Histogram({5: 3}), "x": Histogram()}, CSAT)
    assert overall.n == 3
    # Without the only segment nothing is left: no score to compare with.
    assert math.isnan(impacts[-1].impact) or math.isnan(impacts[0].impact)
    assert all(math.isnan(i.impact) for i in impacts if i.key is None)


def test_subtract_refuses_a_part_bigger_than_the_total() -> None:
    assert subtract(Histogram({1: 3, 2: 1}), Histogram({1: 2})) == Histogram({1: 1, 2: 1})
    with pytest.raises(ValueError, match="fewer"):
        subtract(Histogram({1: 1}), Histogram({1: 2}))


def test_undefined_impacts_sort_last() -> None:
    _, impacts = segment_impacts({"all": Histogram({5: 5, 1: 5}), "empty": Histogram()}, CSAT)
    # "empty" has no answers: removing it changes nothing (impact 0); "all" leaves nothing.
    assert [i.key for i in impacts] == ["empty", "all"]
    assert impacts[0].impact == 0.0
    assert math.isnan(impacts[1].impact)
