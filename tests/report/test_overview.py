"""The overview's cards (``report/overview.py``) on SQLite and PostgreSQL, and its pure parts:
the 12-month line and the order of the cards."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report import overview
from cxpulse.report.filters_url import Window
from cxpulse.store import accounts, responses, surveys
from cxpulse.store.models import Survey

from .themes_support import build as build_themed

TODAY = date(2025, 9, 10)


def _answers(
    session: Session, survey: Survey, day: date, scores: list[float], comments: int = 0
) -> None:
    start = datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    responses.add_responses(
        session,
        survey.organisation_id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=score,
                submitted_at=start + timedelta(minutes=n),
                comment="said something" if n < comments else None,
            )
            for n, score in enumerate(scores)
        ],
    )


@pytest.fixture
def shop(session: Session) -> tuple[int, list[Survey]]:
    """Three surveys of one organisation, worked by hand on ``TODAY`` (2025-09-10):

    - "Billing CSAT": 40 answers of 5 in the last 30 days (12 commented), 40 answers of 1 in
      the 30 before: up 100 points, significant;
    - "Alpha NPS": 35 answers of 10 in the last 30 days, 5 of 0 before: too few to compare;
    - "Zeta CES": its last answers on 2025-03-02, none in either period.
    """
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    org = organisation.id
    csat = surveys.create_survey(session, org, slug="csat", name="Billing CSAT", metric="csat")
    nps = surveys.create_survey(session, org, slug="nps", name="Alpha NPS", metric="nps")
    ces = surveys.create_survey(session, org, slug="ces", name="Zeta CES", metric="ces")
    _answers(session, csat, date(2025, 9, 1), [5.0] * 40, comments=12)
    _answers(session, csat, date(2025, 7, 20), [1.0] * 40, comments=3)
    _answers(session, nps, date(2025, 8, 25), [10.0] * 35)
    _answers(session, nps, date(2025, 8, 1), [0.0] * 5)
    _answers(session, ces, date(2025, 3, 2), [6.0] * 10)
    other = accounts.create_organisation(session, slug="other", name="Other")
    elsewhere = surveys.create_survey(session, other.id, slug="c", name="C", metric="csat")
    _answers(session, elsewhere, date(2025, 9, 1), [1.0] * 50)
    session.flush()
    return org, [csat, nps, ces]


def test_cards_compare_thirty_days_ending_today(
    session: Session, shop: tuple[int, list[Survey]]
) -> None:
    org, found = shop
    view = overview.load_overview(session, org, found, today=TODAY)
    assert view.windows.current == Window(date(2025, 8, 12), date(2025, 9, 11))
    assert view.windows.previous == Window(date(2025, 7, 13), date(2025, 8, 12))
    # Significant first, then by name.
    assert [c.name for c in view.cards] == ["Billing CSAT", "Alpha NPS", "Zeta CES"]
    billing, alpha, zeta = view.cards
    assert billing.headline.verdict == "up 100.0 points, significant"
    assert (billing.answers, billing.comments) == (40, 12)
    assert billing.last_answer is None
    assert alpha.headline.verdict == "too few answers to compare (5 before, 35 now)"
    assert alpha.headline.value_text == "+100.0"
    assert (zeta.answers, zeta.last_answer) == (0, date(2025, 3, 2))
    # The drill-down views cover exactly the two periods.
    assert billing.current_view.start == date(2025, 8, 12)
    assert billing.current_view.to == TODAY
    assert billing.previous_view.to == date(2025, 8, 11)


def test_one_new_answer_moves_nothing_but_its_own_count(
    session: Session, shop: tuple[int, list[Survey]]
) -> None:
    """Windows end today, not on the latest answer: an answer of today adds to the current
    period and leaves the previous one as it was."""
    org, found = shop
    before = overview.load_overview(session, org, found, today=TODAY).cards[0]
    _answers(session, found[0], TODAY, [1.0])
    session.flush()
    after = overview.load_overview(session, org, found, today=TODAY).cards[0]
    assert after.windows == before.windows
    assert after.headline.previous == before.headline.previous
    assert after.headline.current.n == before.headline.current.n + 1


def test_other_comparisons(session: Session, shop: tuple[int, list[Survey]]) -> None:
    org, found = shop
    mtd = overview.load_overview(session, org, found, "mtd", today=TODAY)
    assert mtd.windows.current == Window(date(2025, 9, 1), date(2025, 9, 11))
    assert mtd.windows.previous == Window(date(2025, 8, 1), date(2025, 9, 1))
    billing = next(c for c in mtd.cards if c.name == "Billing CSAT")
    assert (billing.headline.current.n, billing.headline.previous.n) == (40, 0)
    year = overview.load_overview(session, org, found, "year", today=TODAY)
    zeta = next(c for c in year.cards if c.name == "Zeta CES")
    assert zeta.answers == 10
    assert zeta.headline.value_text == "6.0 of 7"


def test_the_line_of_twelve_months(session: Session, shop: tuple[int, list[Survey]]) -> None:
    org, found = shop
    billing = overview.load_overview(session, org, found, today=TODAY).cards[0]
    line = billing.sparkline
    assert line.points[0].month == date(2024, 10, 1)
    assert line.points[-1].month == date(2025, 9, 1)
    shown = [(p.label, p.n, p.value) for p in line.points if p.y is not None]
    assert shown == [("Jul 2025", 40, 0.0), ("Sep 2025", 40, 100.0)]
    # August has no answers: the line breaks there, each lone month a dot.
    assert line.segments == []
    assert [d.label for d in line.dots] == ["Jul 2025", "Sep 2025"]
    assert line.texts == ("0.0% in Jul 2025", "100.0% in Sep 2025")
    assert "lowest 0.0% in Jul 2025 (n = 40)" in line.summary
    assert "10 of 12 months without answers" in line.summary


def test_a_flat_line_is_not_drawn_as_a_cliff() -> None:
    spec = MetricSpec.default("csat")
    months = overview.spark_months(TODAY)
    # 80.0% and 80.5%: within the minimum span of 10 points, drawn near the middle.
    monthly = {months[0]: Histogram({5: 160, 1: 40}), months[1]: Histogram({5: 161, 1: 39})}
    line = overview.sparkline(monthly, months, spec)
    first, second = line.points[0], line.points[1]
    assert first.y is not None
    assert second.y is not None
    assert abs(first.y - second.y) < 0.1 * overview.SPARK_HEIGHT
    assert len(line.segments) == 1
    assert line.segments[0].count(",") == 2
    nps = MetricSpec.default("nps")
    falling = {months[0]: Histogram({10: 70, 0: 30}), months[11]: Histogram({10: 30, 0: 70})}
    drawn = overview.sparkline(falling, months, nps)
    top, bottom = drawn.points[0].y, drawn.points[11].y
    assert top == overview.SPARK_PAD
    assert bottom == overview.SPARK_HEIGHT - overview.SPARK_PAD


def test_spark_months_end_with_this_month() -> None:
    months = overview.spark_months(date(2025, 1, 31))
    assert months[0] == date(2024, 2, 1)
    assert months[-1] == date(2025, 1, 1)
    assert len(months) == 12


def test_past_months_are_remembered_the_current_one_is_not(
    session: Session, shop: tuple[int, list[Survey]]
) -> None:
    org, found = shop
    cache = overview.MonthCache()
    first = overview.load_overview(session, org, found, today=TODAY, cache=cache).cards[0]
    _answers(session, found[0], date(2025, 8, 20), [5.0] * 3)  # August: a past month
    _answers(session, found[0], date(2025, 9, 9), [1.0] * 2)  # September: this month
    session.flush()
    again = overview.load_overview(session, org, found, today=TODAY, cache=cache).cards[0]
    months = {p.label: p.n for p in again.sparkline.points}
    assert months["Aug 2025"] == 0  # remembered as it was
    assert months["Sep 2025"] == 42  # read afresh
    assert again.headline.current.n == first.headline.current.n + 5  # the headline is live
    cache.clear()
    fresh = overview.load_overview(session, org, found, today=TODAY, cache=cache).cards[0]
    assert {p.label: p.n for p in fresh.sparkline.points}["Aug 2025"] == 3
    assert overview.MonthCache(ttl=0).get(("anything",)) is None


def test_new_comments_are_counted_up_to_the_cap(
    session: Session, shop: tuple[int, list[Survey]]
) -> None:
    org, found = shop
    cap = overview.COMMENT_CAP
    _answers(session, found[1], date(2025, 9, 2), [9.0] * (cap + 5), comments=cap + 5)
    session.flush()
    cards = overview.load_overview(session, org, found, today=TODAY).cards
    alpha = next(c for c in cards if c.name == "Alpha NPS")
    assert alpha.comments == cap + 1
    assert alpha.comments_text == f"more than {cap}"
    billing = next(c for c in cards if c.name == "Billing CSAT")
    assert billing.comments_text == "12"


def test_cards_name_their_top_themes(session: Session) -> None:
    """The 30 days to 30 June hold the analysed comments of themes_support.py: delivery
    costs 26.7 points; staff (20 mentions) is too few to name."""
    themed = build_themed(session)
    found = overview.load_overview(
        session, themed.organisation.id, [themed.survey], today=date(2025, 6, 30)
    )
    (card,) = found.cards
    assert [row.key for row in card.themes] == ["delivery"]
    (delivery,) = card.themes
    assert delivery.direction == "costs"
    assert delivery.significant
    assert delivery.impact == pytest.approx(200 / 3 - 70 / 75 * 100)
    assert card.current_view.drill_query(delivery.drill).endswith("theme=delivery")
    later = overview.load_overview(
        session, themed.organisation.id, [themed.survey], today=date(2025, 9, 10)
    )
    assert later.cards[0].themes == ()
