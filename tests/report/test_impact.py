"""Segment impact: overall score minus the score without the segment, worked by hand."""

from __future__ import annotations

import math

import pytest

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report.impact import holm, impact_text, segment_impacts, subtract

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


# --- how impacts are shown and tested ---------------------------------------------------------

CES = MetricSpec.default("ces")


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.25, 2, "+0.25"),
        (-0.254, 2, "\N{MINUS SIGN}0.25"),
        (0.004, 2, "+<0.01"),  # never "+0.00" for an impact that is not zero
        (-0.04, 1, "\N{MINUS SIGN}<0.1"),
        (0.0, 1, "0.0"),
        (-0.0, 2, "0.00"),
        (math.nan, 1, "–"),
        (12.345, 1, "+12.3"),
    ],
)
def test_impact_text(value: float, digits: int, text: str) -> None:
    assert impact_text(value, digits) == text


def test_holm_adjusts_step_down_and_keeps_nan() -> None:
    # Sorted 0.01, 0.03, 0.04 -> 3*0.01, max(0.03, 2*0.03), max(0.06, 1*0.04).
    assert holm([0.04, math.nan, 0.01, 0.03]) == pytest.approx(
        [0.06, math.nan, 0.03, 0.06], nan_ok=True
    )
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_ces_segments_half_a_point_apart_are_marked_with_welch() -> None:
    # 60 answers a segment: "easy" averages 5.5, "hard" 4.5, "mid" 5.0 (overall 5.0).
    segments = {
        "easy": Histogram({6: 30, 5: 30}),
        "hard": Histogram({5: 30, 4: 30}),
        "mid": Histogram({6: 15, 5: 30, 4: 15}),
    }
    overall, impacts = segment_impacts(segments, CES)
    assert overall.value == pytest.approx(5.0)
    by_key = {i.key: i for i in impacts}
    # Without "hard" the mean is 5.25: its impact is -0.25, shown to two decimals.
    assert by_key["hard"].impact == pytest.approx(-0.25)
    assert by_key["hard"].impact_text == "\N{MINUS SIGN}0.25"
    assert by_key["hard"].digits == 2
    assert by_key["hard"].direction == "lower"
    assert by_key["hard"].verdict == "significantly lower than the rest"
    assert by_key["easy"].direction == "higher"
    assert by_key["mid"].direction is None
    assert by_key["mid"].verdict == "not significantly different from the rest"
    hard = by_key["hard"].comparison
    assert hard is not None
    assert hard.method == "Welch t-test"
    assert hard.difference == pytest.approx(4.5 - 5.25)  # the segment minus the rest
    # Holm over three tests: the adjusted p-value is at least the raw one.
    assert by_key["hard"].p_adjusted >= hard.p_value
    assert "Welch's t-test" in by_key["hard"].method
    assert "Holm-adjusted" in by_key["hard"].method


def test_holm_can_take_a_mark_away_that_a_single_test_would_give() -> None:
    # Twenty segments of 40 answers; one sits a little below. Tested alone it would be
    # marked (p ≈ 0.03); among twenty it is not.
    same = {f"s{i}": Histogram({5: 24, 4: 8, 2: 8}) for i in range(19)}
    low = Histogram({5: 18, 4: 8, 2: 14})
    _, impacts = segment_impacts({**same, "low": low}, CSAT)
    found = next(i for i in impacts if i.key == "low")
    assert found.comparison is not None
    assert found.comparison.p_value < 0.05
    assert found.p_adjusted > 0.05
    assert not found.significant
    assert found.direction is None


def test_segments_under_the_minimum_are_not_tested() -> None:
    _, impacts = segment_impacts({"a": Histogram({5: 5}), "b": Histogram({1: 40, 5: 40})}, CSAT)
    by_key = {i.key: i for i in impacts}
    assert by_key["a"].comparison is None
    assert math.isnan(by_key["a"].p_adjusted)
    assert not by_key["a"].significant
    assert by_key["a"].verdict == "not tested (too few answers)"
    # The rest of "b" is "a": 5 answers, too few as well.
    assert by_key["b"].comparison is None


def test_nps_and_csat_name_their_tests() -> None:
    _, nps = segment_impacts({"x": Histogram({10: 40}), "y": Histogram({0: 40})}, NPS)
    assert nps[0].method.startswith("NPS difference (adjusted Wald or MOVER)")
    assert nps[0].significant
    _, csat = segment_impacts({"x": Histogram({5: 40}), "y": Histogram({1: 40})}, CSAT)
    assert csat[0].method.startswith("Newcombe interval")
    assert {i.direction for i in csat} == {"higher", "lower"}
