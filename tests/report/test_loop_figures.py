"""The follow-up figures (``report/loop_figures.py``) from counts worked by hand, and the same
figures in the dashboard's view, the overview's cards and the monthly report on SQLite and
PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from tests.case_rows import add_case, answer, answer_with_case

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.metrics.intervals import wilson
from cxpulse.report import dashboard, monthly, overview
from cxpulse.report.filters_url import ViewFilters, Window
from cxpulse.report.loop_figures import Duration, Proportion, loop_figures, quantile
from cxpulse.store import accounts, surveys
from cxpulse.store.case_counts import CaseCounts
from cxpulse.store.models import Organisation, Survey

BUDGET = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
NPS = MetricSpec.default("nps", min_n=5)


# --------------------------------------------------------------------------- pure


def test_quantiles_interpolate_between_cases() -> None:
    assert quantile({10: 1, 20: 1, 30: 1, 40: 1}, 0.5) == 25
    assert quantile({10: 1, 20: 1, 30: 1}, 0.5) == 20
    # 10 cases: the 90th percentile lies 0.1 of the way from the 9th to the 10th.
    assert quantile({0: 9, 100: 1}, 0.9) == pytest.approx(10)
    assert math.isnan(quantile({}, 0.5))
    with pytest.raises(ValueError, match="between 0 and 1"):
        quantile({1: 1}, 1.5)


@BUDGET
@given(
    st.dictionaries(st.integers(0, 100_000), st.integers(1, 20), min_size=1, max_size=30),
    st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]),
)
def test_quantiles_from_counts_are_numpys_of_the_cases(counts: dict[int, int], q: float) -> None:
    cases = [value for value, count in counts.items() for _ in range(count)]
    assert quantile(counts, q) == pytest.approx(float(np.quantile(cases, q)))


def test_a_duration_is_in_hours_and_too_few_below_min_n() -> None:
    found = Duration.of({30: 1, 90: 1, 360: 1, 10: 1}, min_n=5)
    # 10, 30, 90, 360 minutes: the 90th percentile lies 0.7 of the way from 90 to 360.
    assert (found.n, found.median) == (4, 1.0)
    assert found.p90 == pytest.approx((90 + 0.7 * 270) / 60)
    assert found.too_small
    assert found.median_text == "1.0\u00a0h"
    assert not Duration.of({30: 5}, min_n=5).too_small
    empty = Duration.of({}, min_n=5)
    assert empty.median_text == "–"
    assert empty.to_dict()["median_hours"] is None


def test_a_proportion_carries_wilson_interval_in_percent() -> None:
    share = Proportion.of(20, 24, 0.95, 30)
    low, high = wilson(20, 24, 0.95)
    assert share.value == pytest.approx(100 * 20 / 24)
    assert share.ci_low == pytest.approx(100 * low)
    assert share.ci_high == pytest.approx(100 * high)
    assert share.too_small
    assert share.interval_text == f"{100 * low:.0f}–{100 * high:.0f}%"
    none = Proportion.of(0, 0, 0.95, 30)
    assert none.value_text == "–"
    assert none.to_dict()["value"] is None


COUNTS = CaseCounts(
    cases=12,
    open=3,
    with_due=10,
    breached=2,
    to_first_contact={60: 5, 192: 2, 600: 3},
    to_close={120: 4, 1440: 5},
    recovery=Histogram({9: 3, 10: 1, 6: 2}),
    closed_answers=Histogram({0: 10, 3: 6, 6: 4, 8: 2, 10: 1}),
    ever=True,
)
ANSWERS = Histogram({0: 12, 3: 8, 6: 4, 7: 10, 8: 6, 9: 20, 10: 40})


def test_figures_worked_by_hand() -> None:
    figures = loop_figures(COUNTS, ANSWERS, NPS)
    assert figures.first_contact.n == 10
    assert figures.first_contact.median == pytest.approx((60 + 192) / 2 / 60)  # 5th and 6th
    assert figures.breaches.part == 2
    assert figures.breaches.n == 10
    # Unhappy: detractors 0-6 of the period (24); closed: the closed cases' answers 0-6 (20),
    # the passives and promoters with a closed case are no part of it.
    assert (figures.closed_loop.part, figures.closed_loop.n) == (20, 24)
    assert figures.closed_loop.value == pytest.approx(100 * 20 / 24)
    assert figures.unhappy_band == "Detractors 0–6"
    # Recovered: re-survey 9 or 10 (4 of 6); mean re-survey (9*3 + 10 + 6*2) / 6.
    assert (figures.recovery.part, figures.recovery.n) == (4, 6)
    assert figures.good_band == "Promoters 9–10"
    assert figures.recovery_mean.value == pytest.approx(49 / 6)
    assert figures.line() == (
        "12 cases · first contact median 2.1\u00a0h · 2 past SLA · closed loop 83% (64–93%, n=24)"
    )


def test_the_bands_are_the_surveys_own() -> None:
    # A CSAT survey asked 1-5 with the bottom band moved to 1 only.
    spec = MetricSpec.default("csat", bottom_max=1, min_n=5)
    counts = CaseCounts(cases=3, closed_answers=Histogram({1: 2, 2: 1}), ever=True)
    figures = loop_figures(counts, Histogram({1: 4, 2: 6, 5: 10}), spec)
    assert (figures.closed_loop.part, figures.closed_loop.n) == (2, 4)
    assert figures.unhappy_band == "Dissatisfied 1"


def test_the_closed_part_never_exceeds_the_unhappy_answers() -> None:
    # An answer deleted between the two reads.
    counts = CaseCounts(cases=2, closed_answers=Histogram({0: 2}), ever=True)
    figures = loop_figures(counts, Histogram({0: 1}), NPS)
    assert (figures.closed_loop.part, figures.closed_loop.n) == (1, 1)


def test_rows_and_line_say_too_few_and_nothing_without_figures() -> None:
    figures = loop_figures(CaseCounts(cases=1, open=1, ever=True), Histogram(), NPS)
    assert figures.line() == "1 case"
    rows = {row.label: row for row in figures.rows()}
    assert rows["Closed-loop rate"].value == "–"
    assert rows["Mean re-survey score"].value == "–"
    many = {row.label: row for row in loop_figures(COUNTS, ANSWERS, NPS).rows()}
    assert many["Past SLA"].value == "2 (20.0%)"
    assert many["Past SLA"].too_small is False
    assert many["Recovery rate"].too_small is False
    assert many["Closed-loop rate"].base == "20 closed of 24 unhappy answers (Detractors 0–6)"
    assert many["Mean re-survey score"].value == "8.2 of 10"


def test_the_api_form_has_every_figure_with_its_n() -> None:
    found = loop_figures(COUNTS, ANSWERS, NPS).to_dict()
    assert found["closed_loop_rate"]["n"] == 24
    assert found["closed_loop_rate"]["method"] == "wilson"
    assert found["time_to_resolution"]["n"] == 9
    assert found["recovery_mean"]["method"] == "t"


# --------------------------------------------------------------------------- on the databases

TODAY = date(2025, 9, 30)
H = timedelta(hours=1)


@pytest.fixture
def shop(session: Session) -> tuple[Organisation, Survey, Survey]:
    """An NPS survey with 4 unhappy answers in September 2025 (3 with a case, 2 of them
    closed) and 2 promoters; a CSAT survey of the same organisation without any case."""
    organisation = accounts.create_organisation(session, slug="shop", name="Shop")
    org = organisation.id
    nps = surveys.create_survey(session, org, slug="nps", name="NPS", metric="nps")
    quiet = surveys.create_survey(session, org, slug="csat", name="CSAT", metric="csat")

    def at(day: int) -> datetime:
        return datetime(2025, 9, day, 9, tzinfo=UTC)

    answer_with_case(
        session, org, nps.id, 0, at(10), state="resolved", contact_after=H,
        close_after=5 * H, due_after=4 * H, recovery_score=9,
    )  # fmt: skip
    answer_with_case(
        session, org, nps.id, 3, at(11), state="wont_fix", contact_after=3 * H,
        close_after=6 * H, due_after=2 * H,
    )  # fmt: skip
    answer_with_case(session, org, nps.id, 6, at(12), state="new", due_after=4 * H)
    answer(session, org, nps.id, 2, at(13))
    answer(session, org, nps.id, 10, at(14))
    answer(session, org, nps.id, 9, at(15))
    answer(session, org, quiet.id, 1, at(15))
    add_case(session, org, nps.id, datetime(2025, 6, 1, tzinfo=UTC), state="new")
    session.flush()
    return organisation, nps, quiet


def test_the_dashboard_view_holds_its_periods_follow_ups(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, nps, quiet = shop
    view = dashboard.load_view(session, organisation, nps, ViewFilters(), today=TODAY, min_n=5)
    figures = view.follow_ups
    assert figures is not None
    assert (figures.cases, figures.open) == (3, 1)
    assert (figures.closed_loop.part, figures.closed_loop.n) == (2, 4)
    assert (figures.breaches.part, figures.breaches.n) == (2, 3)  # late contact, open past due
    assert figures.first_contact.median == 2.0
    assert figures.recovery.part == 1
    assert figures.recovery_mean.value == 9
    # A view filtered on a channel shows the same follow-ups: cases are not filtered.
    narrowed = dashboard.load_view(
        session, organisation, nps, ViewFilters().narrowed("channel", "email"), today=TODAY, min_n=5
    )
    assert narrowed.follow_ups == figures
    # A survey without any case has none to show.
    assert (
        dashboard.load_view(session, organisation, quiet, ViewFilters(), today=TODAY).follow_ups
        is None
    )


def test_the_overview_card_and_the_monthly_report_say_the_same(
    session: Session, shop: tuple[Organisation, Survey, Survey]
) -> None:
    organisation, nps, quiet = shop
    found = overview.load_overview(session, organisation.id, [nps, quiet], today=TODAY, min_n=5)
    cards = {card.survey_id: card for card in found.cards}
    card = cards[nps.id].follow_ups
    assert card is not None
    assert cards[quiet.id].follow_ups is None
    window = found.windows.current
    assert card == dashboard.follow_ups(session, organisation.id, nps, window, min_n=5)
    assert card.line() == (
        "3 cases · first contact median 2.0\u00a0h · 2 past SLA · closed loop 50% (15–85%, n=4, "
        "too few to read)"
    )
    report = monthly.build_report(session, organisation.id, nps.id, "2025-09", min_n=5)
    assert report.follow_ups is not None
    september = dashboard.follow_ups(
        session, organisation.id, nps, Window(date(2025, 9, 1), date(2025, 10, 1)), min_n=5
    )
    assert report.follow_ups == september
    page = monthly.render_report(report)
    assert 'id="follow-ups"' in page
    assert "Detractors 0–6" in page
    assert "Follow-ups: 3 cases" in monthly.render_text(report)
    # A month before any case: the survey has cases, so the section says there were none.
    june = monthly.build_report(session, organisation.id, nps.id, "2025-06", min_n=5)
    assert june.follow_ups is not None
    assert june.follow_ups.cases == 1
    quiet_report = monthly.build_report(session, organisation.id, quiet.id, "2025-09")
    assert quiet_report.follow_ups is None
    assert 'id="follow-ups"' not in monthly.render_report(quiet_report)
