"""Headline numbers and the distribution of a view (``report/headlines.py``)."""

from __future__ import annotations

import math

from cxpulse.metrics import Histogram, Metric, MetricSpec, parse_scale, score
from cxpulse.report import filters_url as urls
from cxpulse.report import headlines
from cxpulse.report.scale_labels import scale_bands, scale_labels


def test_nps_distribution_and_drill_ranges() -> None:
    spec = MetricSpec.default("nps")
    rows = headlines.distribution(Histogram({10: 5, 8: 3, 2: 2}), spec)
    assert [(r.label, r.count) for r in rows] == [
        ("Promoters", 5),
        ("Passives", 3),
        ("Detractors", 2),
    ]
    assert rows[1].drill == urls.DrillFilters(min_score=7, max_score=8)
    assert rows[2].drill.max_score == 6


def _csat(before: dict[float, int], now: dict[float, int], min_n: int = 30) -> headlines.Headline:
    spec = MetricSpec.default("csat", min_n=min_n)
    return headlines.headlines(
        [("CSAT", spec, urls.DrillFilters(min_score=4))], Histogram(now), Histogram(before)
    )[0]


def test_a_significant_rise_says_up_with_its_size() -> None:
    # 50 of 100 satisfied before, 80 of 100 now: +30 points, far beyond chance.
    line = _csat({5: 50, 1: 50}, {5: 80, 1: 20})
    assert line.verdict == "up 30.0 points, significant"
    assert line.tone == "better"
    assert line.direction == "up"
    assert line.value_text == "80.0%"
    assert line.previous_text == "50.0%"
    assert line.change_text.startswith("+30.0 (95% interval +")


def test_a_significant_fall_says_down_and_is_worse_news() -> None:
    line = _csat({5: 80, 1: 20}, {5: 50, 1: 50})
    assert line.verdict == "down 30.0 points, significant"
    assert line.tone == "worse"
    assert line.change_text.startswith("\u221230.0 (95% interval \u2212")


def test_a_rise_in_dsat_is_worse_news() -> None:
    spec = MetricSpec.default("dsat")
    line = headlines.headlines(
        [("DSAT", spec, urls.DrillFilters(max_score=2))],
        Histogram({1: 50, 5: 50}),
        Histogram({1: 10, 5: 90}),
    )[0]
    assert line.verdict == "up 40.0 points, significant"
    assert line.tone == "worse"


def test_a_change_within_chance_is_quiet() -> None:
    line = _csat({5: 50, 1: 50}, {5: 53, 1: 47})
    assert line.verdict == "no significant change"
    assert line.tone == "quiet"
    assert line.comparable


def test_too_few_answers_in_either_period_say_so_instead_of_a_number() -> None:
    # A change of 70 points, which a test would call significant, is not shown: 12 answers
    # before are under min_n.
    line = _csat({1: 12}, {5: 40})
    assert line.verdict == "too few answers to compare (12 before, 40 now)"
    assert line.tone == "too-few"
    assert not line.comparable
    assert "%" not in line.verdict
    assert _csat({5: 40}, {1: 29}).tone == "too-few"
    assert _csat({5: 40}, {1: 29}, min_n=20).tone == "worse"


def test_no_answers_at_all() -> None:
    line = _csat({}, {})
    assert line.tone == "empty"
    assert line.value_text == "\u2013"


def test_values_in_their_units() -> None:
    nps = MetricSpec.default("nps")
    ces = MetricSpec.default("ces")
    nps_line = headlines.headlines(
        [("NPS", nps, urls.DrillFilters())], Histogram({10: 30, 0: 10}), Histogram({10: 1})
    )[0]
    assert nps_line.value_text == "+50.0"
    assert nps_line.note == "from \u2212100 to 100"
    negative = headlines.headlines(
        [("NPS", nps, urls.DrillFilters())], Histogram({0: 30, 10: 10}), Histogram({10: 1})
    )[0]
    assert negative.value_text == "\u221250.0"
    ces_line = headlines.headlines(
        [("CES", ces, urls.DrillFilters())], Histogram({5: 20, 6: 20}), Histogram({5: 40})
    )[0]
    assert ces_line.value_text == "5.5 of 7"
    assert ces_line.note == "higher is easier"
    # CES moves in tenths: its change keeps two decimals and no "points".
    assert ces_line.change_size == "0.50"
    assert headlines.scale_note(MetricSpec.default("csat")) == "answers of 4 or more of 5"


def test_every_nps_answer_with_its_words_under_its_band() -> None:
    spec = MetricSpec.default("nps")
    bands = scale_bands(spec)
    rows = headlines.answer_rows(Histogram({10: 5, 8: 3, 2: 2}), spec, scale_labels(spec), bands)
    assert [r.value for r in rows] == list(range(11))
    assert (rows[0].label, rows[0].band, rows[0].count) == (
        "0 Not at all likely",
        "Detractors 0–6",
        0,
    )
    assert (rows[10].label, rows[10].band, rows[10].share) == (
        "10 Extremely likely",
        "Promoters 9–10",
        50.0,
    )
    assert rows[8].drill == urls.DrillFilters(min_score=8, max_score=8)
    groups = headlines.answer_groups(rows, bands)
    # The band totals are the promoters, passives and detractors, highest band first.
    assert [(g.total.label, g.total.count, g.total.share) for g in groups] == [
        ("Promoters 9–10", 5, 50.0),
        ("Passives 7–8", 3, 30.0),
        ("Detractors 0–6", 2, 20.0),
    ]
    assert [r.value for r in groups[2].rows] == [6, 5, 4, 3, 2, 1, 0]
    assert groups[1].total.drill == urls.DrillFilters(min_score=7, max_score=8)
    assert groups[2].total.drill == urls.DrillFilters(min_score=0, max_score=6)
    legacy = {
        row.label: row.count for row in headlines.distribution(Histogram({10: 5, 8: 3, 2: 2}), spec)
    }
    assert {g.total.label.split()[0]: g.total.count for g in groups} == legacy


def test_a_scale_without_a_middle_band_and_an_empty_window() -> None:
    """CSAT on 1-3 with "satisfied" from 2 and "dissatisfied" up to 1: no middle band; no
    answers give shares of "no value", not zeros."""
    spec = MetricSpec.default("csat", parse_scale("1-3"), top_min=2, bottom_max=1)
    bands = scale_bands(spec)
    rows = headlines.answer_rows(Histogram(), spec, scale_labels(spec), bands)
    groups = headlines.answer_groups(rows, bands)
    assert [g.total.label for g in groups] == [bands.names[2], bands.names[0]]
    assert all(math.isnan(g.total.share) for g in groups)
    assert [r.count for r in rows] == [0, 0, 0]


def test_the_report_and_the_pages_write_a_score_alike() -> None:
    """One way to write a score with its unit, for the dashboard, overview and report."""
    nps = MetricSpec.default(Metric.NPS, parse_scale("0-10"))
    result = score(Histogram({10: 3, 9: 1, 3: 1}), nps)
    assert headlines.shown_value(result, nps) == "+60.0"
    assert headlines.value_with_unit(result, Metric.NPS, 10) == "+60.0"
    ces = MetricSpec.default(Metric.CES, parse_scale("1-7"))
    effort = score(Histogram({5: 1, 6: 1}), ces)
    assert headlines.value_with_unit(effort, Metric.CES, 7) == "5.5 of 7"
    assert headlines.value_with_unit(effort, Metric.CES, None) == "5.5"
    empty = score(Histogram(), ces)
    assert headlines.value_with_unit(empty, Metric.CES, 7) == "–"
