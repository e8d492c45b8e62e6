"""The monthly report's themes and their movement (``report/theme_moves.py``): pure, from two
``ThemesView`` built by hand."""

from __future__ import annotations

import math
from datetime import date

import pytest

from cxpulse.metrics import Histogram, Metric, MetricSpec, score
from cxpulse.report.filters_url import Window
from cxpulse.report.theme_moves import theme_moves
from cxpulse.report.themes_view import ThemeInfo, ThemesView, theme_rows

SPEC = MetricSpec.default(Metric.CSAT)
CATALOGUE = {
    1: ThemeInfo("delivery", "Delivery", "starter"),
    2: ThemeInfo("staff", "Staff", "custom"),
}


def _month(delivery: int, staff: int, comments: int, others: int) -> ThemesView:
    """A month: ``delivery`` answers of 1 and ``staff`` answers of 5 mention their themes,
    ``comments`` are analysed, ``others`` answers of 4 say nothing."""
    mentioned = {1: Histogram({1: delivery}), 2: Histogram({5: staff})}
    everyone = Histogram({1: delivery, 5: staff, 4: others})
    commented = Histogram({1: delivery, 5: staff, 4: comments - delivery - staff})
    rows = theme_rows(mentioned, everyone, commented, CATALOGUE, SPEC)
    return ThemesView(
        survey_id=1,
        metric=Metric.CSAT,
        window=Window(date(2025, 6, 1), date(2025, 7, 1)),
        overall=score(everyone, SPEC),
        themes=tuple(rows),
        answers=everyone.n,
        analysed=commented.n,
        waiting=0,
        waiting_estimated=False,
        min_n=30,
        level=0.95,
        scale_high=5,
    )


def test_shares_move_with_newcombe_intervals() -> None:
    june = _month(delivery=120, staff=60, comments=400, others=600)
    may = _month(delivery=40, staff=60, comments=400, others=600)
    delivery, staff = theme_moves(june, may)
    assert delivery.row.key == "delivery"
    assert delivery.row.direction == "costs"
    assert (delivery.row.share, delivery.previous_share) == (30.0, 10.0)
    assert delivery.change == pytest.approx(20.0)
    assert delivery.change_low < 20 < delivery.change_high
    assert delivery.change_low > 0
    assert delivery.significant
    assert delivery.change_text == "up 20.0 points, significant"
    assert staff.row.direction == "wins"
    assert staff.change == 0
    assert staff.change_text == "no change"


def test_a_theme_new_this_month_and_too_few_comments() -> None:
    june = _month(delivery=50, staff=40, comments=200, others=100)
    may = _month(delivery=0, staff=40, comments=200, others=100)
    moves = theme_moves(june, may)
    new = next(m for m in moves if m.row.key == "delivery")
    assert new.previous is None
    assert new.previous_share == 0.0
    assert new.change == pytest.approx(25.0)
    quiet = _month(delivery=50, staff=40, comments=200, others=100)
    tiny = ThemesView(**{**quiet.__dict__, "analysed": 10})
    (first, *_) = theme_moves(june, tiny)
    assert math.isnan(first.change)
    assert first.change_text == "too few comments to compare"
