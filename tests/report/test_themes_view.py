"""The themes of a survey and period (``report/themes_view.py``) on the survey of
themes_support.py, on SQLite and PostgreSQL: mentions, shares, impacts with intervals,
examples, share lines, the worker's backlog, filters and organisation isolation."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session
from tests.store.analysis_support import analysed, answer, write

from cxpulse.metrics import Histogram, Metric, MetricSpec
from cxpulse.report import themes_view
from cxpulse.report.comment_rate import CommentEstimate, CommentRate
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.report.theme_counts import CountCache
from cxpulse.report.themes_view import ThemeInfo, theme_rows, top_rows
from cxpulse.store.filters import ResponseFilters

from .themes_support import JUNE, JUNE_VIEW, MAY_TO_JUNE, TODAY, Themed, build


@pytest.fixture
def themed(session: Session) -> Themed:
    return build(session)


def _view(
    session: Session,
    themed: Themed,
    *,
    filters: ViewFilters = JUNE_VIEW,
    window: Window = JUNE,
    min_n: int | None = None,
    examples: int = themes_view.EXAMPLES,
    cache: CountCache | None = None,
) -> themes_view.ThemesView:
    return themes_view.themes_view(
        session,
        themed.organisation.id,
        themed.survey,
        filters,
        window,
        today=TODAY,
        cache=cache,
        min_n=min_n,
        examples=examples,
    )


def test_june_by_hand(session: Session, themed: Themed) -> None:
    view = _view(session, themed)
    assert (view.answers, view.analysed, view.waiting, view.waiting_estimated) == (
        105,
        50,
        5,
        False,
    )
    assert view.analysing
    assert view.overall.value == pytest.approx(200 / 3)
    assert view.metric is Metric.CSAT
    assert view.unit == "percentage points"
    delivery, staff = view.themes
    assert (delivery.key, delivery.name, delivery.mentions) == ("delivery", "Delivery", 30)
    assert delivery.share == pytest.approx(60.0)
    assert delivery.share_low < 60 < delivery.share_high
    assert delivery.with_theme.value == 0
    assert delivery.with_theme.n == 30
    assert delivery.without_theme.value == pytest.approx(70 / 75 * 100)
    assert delivery.impact == pytest.approx(200 / 3 - 70 / 75 * 100)
    assert delivery.impact_low <= delivery.impact <= delivery.impact_high < 0
    assert delivery.direction == "costs"
    assert delivery.significant
    assert not delivery.too_few
    assert delivery.impact_text == "\N{MINUS SIGN}26.7"
    assert delivery.size_text == "26.7"
    # 20 mentions: under the minimum n, shown in the table but never called a win.
    assert (staff.key, staff.mentions, staff.direction) == ("staff", 20, "wins")
    assert staff.impact == pytest.approx(200 / 3 - 50 / 85 * 100)
    assert staff.too_few
    assert not staff.significant
    assert view.costs == [delivery]
    assert view.wins == []


def test_examples_are_the_newest_redacted_comments_of_the_band(
    session: Session, themed: Themed
) -> None:
    view = _view(session, themed, min_n=10)
    delivery, staff = view.themes
    assert [e.text for e in delivery.examples] == [
        f"Late delivery {n}, write to [email]" for n in (29, 28, 27)
    ]
    assert delivery.examples_band == "Dissatisfied 1–2"
    assert all(e.score == 1 and e.band_name == "Dissatisfied 1–2" for e in delivery.examples)
    assert (delivery.examples_drill.min_score, delivery.examples_drill.max_score) == (None, 2)
    assert delivery.drill.theme == "delivery"
    # With min_n 10, staff is a win; its examples come from the top band.
    assert view.wins == [staff]
    assert [e.text for e in staff.examples] == [f"Friendly staff {n}" for n in (19, 18, 17)]
    assert staff.examples[0].language == "sv"
    assert staff.examples_drill.min_score == 4
    # Without examples asked (a viewer's page), none are read.
    quiet = _view(session, themed, min_n=10, examples=0)
    assert all(row.examples == () and row.examples_band is None for row in quiet.themes)


def test_the_share_line_runs_month_by_month(session: Session, themed: Themed) -> None:
    view = _view(
        session,
        themed,
        filters=ViewFilters(start=MAY_TO_JUNE.start, to=MAY_TO_JUNE.last_day),
        window=MAY_TO_JUNE,
    )
    assert view.months == (date(2025, 5, 1), date(2025, 6, 1))
    delivery = next(row for row in view.themes if row.key == "delivery")
    may, june = delivery.line.points
    assert (may.mentions, may.comments, may.share) == (20, 40, 50.0)
    assert (june.mentions, june.comments, june.share) == (30, 50, 60.0)
    assert len(delivery.line.segments) == 1
    assert "May 2025 50.0% of 40" in delivery.line.summary
    assert delivery.mentions == 50
    assert delivery.share == pytest.approx(50 / 90 * 100)


def test_segment_filters_and_other_organisations(session: Session, themed: Themed) -> None:
    """The email answers hold no delivery comment; the other organisation's delivery
    mentions never count."""
    email = ViewFilters(start=JUNE.start, to=JUNE.last_day, where=ResponseFilters(channel="email"))
    view = _view(session, themed, filters=email, min_n=10)
    assert view.answers == 70
    assert view.analysed == 20
    assert [row.key for row in view.themes] == ["staff"]
    assert view.themes[0].share == 100.0
    assert view.waiting == 0


def test_a_period_without_comments(session: Session, themed: Themed) -> None:
    empty = Window(date(2024, 1, 1), date(2024, 2, 1))
    view = _view(
        session, themed, filters=ViewFilters(start=empty.start, to=empty.last_day), window=empty
    )
    assert (view.answers, view.analysed, view.themes, view.waiting) == (0, 0, (), 0)
    assert not view.analysing
    assert view.costs == []
    assert view.wins == []


def test_counts_are_remembered_until_more_comments_are_analysed(
    session: Session, themed: Themed
) -> None:
    """The past days' counts come from the cache while the number of analysed comments
    of those days stays the same; one more analysis is seen at once."""
    cache = CountCache()
    first = _view(session, themed, cache=cache)
    again = _view(session, themed, cache=cache)
    assert again.themes == first.themes
    org, sid = themed.organisation.id, themed.survey.id
    late = answer(session, org, sid, 1, "Late delivery again", at=datetime(2025, 6, 9, tzinfo=UTC))
    write(session, org, analysed(late, [(themed.delivery_id, "negative")]))
    session.flush()
    after = _view(session, themed, cache=cache)
    assert after.themes[0].mentions == 31
    assert after.analysed == 51


def test_waiting_from_an_estimated_comment_rate() -> None:
    def estimate(rate: float, low: float) -> CommentRate:
        found = CommentEstimate(rate, low, rate + 1, 0.95, 20_000, 8_000, 40, 100)
        return CommentRate(None, 500_000, estimate=found)

    # 40% of 500,000 answers carry a comment (at least 39%): 150,000 analysed leaves about
    # 50,000; 199,000 analysed is within the estimate's noise, so nothing is said to wait.
    assert themes_view._waiting(estimate(40, 39), 150_000) == (50_000, True)
    assert themes_view._waiting(estimate(40, 39), 199_000) == (0, True)
    assert themes_view._waiting(CommentRate(120, 300), 100) == (20, False)
    assert themes_view._waiting(CommentRate(None, 300, note="unavailable"), 100) == (None, False)
    assert themes_view._waiting(None, 100) == (None, False)


def test_dsat_themes_that_raise_it_cost() -> None:
    """For DSAT a theme that raises the share of dissatisfied answers costs, though its
    impact is positive."""
    spec = MetricSpec.default(Metric.DSAT)
    unhappy = Histogram({1: 40})
    everyone = Histogram({1: 40, 5: 160})
    rows = theme_rows(
        {7: unhappy}, everyone, unhappy, {7: ThemeInfo("billing", "Billing", "custom")}, spec
    )
    (row,) = rows
    assert row.impact == pytest.approx(20.0 - 0.0)
    assert row.direction == "costs"
    assert top_rows(rows, "costs") == [row]
    assert row.examples_drill.max_score == 2


def test_the_bars_share_one_scale(session: Session, themed: Themed) -> None:
    view = _view(session, themed, min_n=10)
    delivery, staff = view.themes
    bar = view.bar(delivery)
    assert bar.length == pytest.approx(1 + 98 * abs(delivery.impact) / view.scale_max, abs=0.1)
    assert 1 <= bar.low <= bar.length <= bar.high <= 99
    assert view.scale_max == pytest.approx(abs(delivery.impact_low))
    assert view.bar(staff).length < bar.length
    assert view.value_text(delivery.with_theme) == "0.0%"
    assert math.isfinite(view.bar(staff).high)
