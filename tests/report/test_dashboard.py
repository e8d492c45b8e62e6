"""The data of a dashboard view (``report/dashboard.py``) on the survey of conftest.py: every
number, the drill-down behind them and the responses an export holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.report import dashboard
from cxpulse.report import filters_url as urls
from cxpulse.store import contacts, drilldown, responses, surveys
from cxpulse.store.errors import Invalid
from cxpulse.store.filters import ResponseFilters
from cxpulse.store.models import Invitation, Organisation, Survey

TODAY = date(2025, 9, 1)
"""After the latest answer of the survey in conftest.py."""


def test_default_view_headlines_and_change(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """The trend keeps its 12 months up to the latest answer; the headline compares the
    last 30 days with the 30 before, ending today: none of the answers lies in them."""
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.window == urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    assert view.headline_window == urls.Window(date(2025, 8, 3), date(2025, 9, 2))
    assert view.previous_window == urls.Window(date(2025, 7, 4), date(2025, 8, 3))
    csat, dsat = view.headlines
    assert (csat.label, dsat.label) == ("CSAT", "DSAT")
    assert (csat.current.n, csat.previous.n) == (0, 0)
    assert csat.tone == "empty"
    # The rest of the view still covers the 60 answers of its window.
    assert view.comment_rate.commented == 13
    assert view.comment_rate.answered == 60
    assert view.benchmark is not None
    assert view.benchmark.industry == "banks"


def test_a_year_compared_on_the_views_last_day(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """With ``to``, the headline ends on that day: a bookmarked past view keeps its meaning."""
    organisation, survey = seeded
    filters = urls.ViewFilters(to=date(2025, 6, 20), compare="year")
    view = dashboard.load_view(session, organisation, survey, filters, today=TODAY)
    assert view.headline_window == urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    csat, dsat = view.headlines
    assert csat.current.n == 60
    assert csat.current.value == pytest.approx(200 / 3)
    assert dsat.current.value == pytest.approx(100 / 3)
    assert csat.previous.n == 30
    assert csat.previous.value == 0
    assert csat.change.difference == pytest.approx(200 / 3)
    assert csat.verdict == "up 66.7 points, significant"
    assert csat.tone == "better"
    # DSAT was 100% (every answer a 2) and is 33.3%: down, and good news.
    assert (dsat.direction, dsat.tone) == ("down", "better")


def test_thirty_days_with_too_few_answers_before(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """The 30 days to 20 June hold the 40 June answers; the 30 before, 20 of May's: too few
    to compare, so no change is offered, however large."""
    organisation, survey = seeded
    filters = urls.ViewFilters(to=date(2025, 6, 20))
    view = dashboard.load_view(session, organisation, survey, filters, today=TODAY)
    csat = view.headlines[0]
    assert (csat.previous.n, csat.current.n) == (20, 40)
    assert csat.verdict == "too few answers to compare (20 before, 40 now)"
    # The headline's numbers link to the answers of its own period, not the view's.
    assert view.headline_filters.start == date(2025, 5, 22)
    assert view.headline_filters.to == date(2025, 6, 20)
    assert view.previous_filters.to == date(2025, 5, 21)


def test_the_compare_switch_keeps_the_other_filters(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    filters = urls.ViewFilters(to=date(2025, 6, 20), where=ResponseFilters(channel="email"))
    view = dashboard.load_view(session, organisation, survey, filters, today=TODAY)
    links = {choice: (query, shown) for choice, _, query, shown in view.compare_links()}
    assert set(links) == {"week", "30d", "mtd", "quarter", "year"}
    assert links["30d"] == ("to=2025-06-20&channel=email", True)
    assert links["quarter"] == ("to=2025-06-20&channel=email&compare=quarter", False)


def test_window_ends_on_the_latest_answer(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    latest = dashboard.latest_day(session, organisation.id, survey.id)
    assert latest == date(2025, 6, 20)
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.window == urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    # The headline does not: its periods end today, whatever the latest answer.
    assert view.headline_window.last_day == TODAY
    assert view.previous_window.end == view.headline_window.start
    assert view.previous_window.days == view.headline_window.days == 30


def test_trend_buckets_cover_the_window(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    labels = [point.label for point in view.trend]
    assert labels[0] == "2024-06"
    assert labels[-1] == "2025-06"
    assert len(labels) == 13
    by_label = {point.label: point for point in view.trend}
    assert by_label["2025-05"].result.n == 20
    assert by_label["2025-05"].result.value == 0
    assert by_label["2025-05"].result.too_small
    assert by_label["2025-06"].result.n == 40
    assert not by_label["2025-06"].result.too_small
    assert by_label["2024-06"].start == date(2024, 6, 21)  # clipped to the window
    assert sum(point.result.n for point in view.trend) == 60


def test_breakdown_sorted_by_impact(session: Session, seeded: tuple[Organisation, Survey]) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert [s.key for s in view.segments] == ["email", "chat"]
    email, chat = view.segments
    assert email.impact == pytest.approx(200 / 3)  # 66.67 overall, 0 without email
    assert chat.impact == pytest.approx(200 / 3 - 100)
    assert chat.result.too_small
    assert not email.result.too_small


def test_filters_change_every_number(session: Session, seeded: tuple[Organisation, Survey]) -> None:
    organisation, survey = seeded
    filters = urls.ViewFilters(
        to=date(2025, 6, 20),
        where=ResponseFilters(properties={"team": "b"}),
        by="property:team",
        grain="week",
        compare="quarter",
    )
    view = dashboard.load_view(session, organisation, survey, filters, today=TODAY)
    assert view.headlines[0].current.n == 20
    assert view.headlines[0].current.value == 0
    assert [s.key for s in view.segments] == ["b"]
    assert view.comment_rate.commented == 5
    assert all(p.label.count("-W") == 1 for p in view.trend)
    assert sum(p.result.n for p in view.trend) == 20
    dist = {row.label: row.count for row in view.distribution}
    assert dist == {"1": 20, "2": 0, "3": 0, "4": 0, "5": 0}
    # The page's rows: the same counts with their words and bands.
    assert [(row.label, row.count, row.band) for row in view.scale_counts] == [
        ("1 Very dissatisfied", 20, "Dissatisfied 1–2"),
        ("2 Dissatisfied", 0, "Dissatisfied 1–2"),
        ("3 Neither satisfied nor dissatisfied", 0, "Neutral 3"),
        ("4 Satisfied", 0, "Satisfied 4–5"),
        ("5 Very satisfied", 0, "Satisfied 4–5"),
    ]


def test_an_nps_view_counts_every_answer_and_has_no_acsi(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """The ACSI stands beside CSAT only; an NPS view's distribution has every answer from 0
    to 10 (from the histogram the view already reads) and its bands' totals."""
    organisation, _ = seeded
    nps = surveys.create_survey(session, organisation.id, slug="nps", name="NPS", metric="nps")
    june = datetime(2025, 6, 2, tzinfo=UTC)
    responses.add_responses(
        session,
        organisation.id,
        [
            responses.NewResponse(survey_id=nps.id, score=score, submitted_at=june)
            for score in [10.0, 10.0, 9.0, 7.0, 0.0, 6.0]
        ],
    )
    session.flush()
    view = dashboard.load_view(session, organisation, nps, urls.ViewFilters(), today=TODAY)
    assert view.benchmark is None
    assert organisation.industry == "banks"  # a CSAT survey of it has one (above)
    assert [row.value for row in view.scale_counts] == list(range(11))
    assert {row.value: row.count for row in view.scale_counts if row.count} == {
        0: 1,
        6: 1,
        7: 1,
        9: 1,
        10: 2,
    }
    assert view.scale_counts[10].label == "10 Extremely likely"
    groups = {g.total.label: g.total.count for g in view.answer_groups}
    assert groups == {"Promoters 9–10": 3, "Passives 7–8": 1, "Detractors 0–6": 2}
    assert [row.label for row in view.distribution] == ["Promoters", "Passives", "Detractors"]


def test_day_grain_over_a_long_period_falls_back_to_weeks(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(
        session, organisation, survey, urls.ViewFilters(grain="day", months=24), today=TODAY
    )
    assert view.grain == "week"
    assert view.notes


def test_drill_down_lists_exactly_the_responses_behind_a_number(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    filters = urls.ViewFilters()
    window = filters.window(dashboard.latest_day(session, organisation.id, survey.id), TODAY)
    satisfied = dashboard.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters(min_score=4)
    )
    assert len(satisfied.rows) == 40
    assert satisfied.next_after is None
    assert {row.score for row in satisfied.rows} == {5.0}
    everything = dashboard.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters()
    )
    assert len(everything.rows) == drilldown.DRILL_PAGE_SIZE
    assert everything.next_after
    rest = dashboard.drill_down(
        session,
        organisation.id,
        survey.id,
        filters,
        window,
        urls.DrillFilters(after=everything.next_after),
    )
    assert len(rest.rows) == 10
    assert rest.next_after is None
    ids = [row.id for row in everything.rows + rest.rows]
    assert len(set(ids)) == 60
    moments = [row.submitted_at for row in everything.rows + rest.rows]
    assert moments == sorted(moments, reverse=True)
    found = dashboard.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters(search="SLOW")
    )
    assert len(found.rows) == 5
    assert all(r.comment == "Slow delivery" for r in found.rows)
    # LIKE wildcards are searched for literally.
    assert (
        dashboard.drill_down(
            session, organisation.id, survey.id, filters, window, urls.DrillFilters(search="%")
        ).rows
        == []
    )
    with pytest.raises(Invalid):
        dashboard.drill_down(
            session, organisation.id, survey.id, filters, window, urls.DrillFilters(after="junk")
        )


def test_headline_of_the_survey_list(session: Session, seeded: tuple[Organisation, Survey]) -> None:
    organisation, survey = seeded
    window, lines = dashboard.load_headline(session, organisation, survey, today=TODAY)
    assert window == urls.Window(date(2025, 8, 3), date(2025, 9, 2))
    assert lines[0].current.n == 0
    june = date(2025, 6, 20)
    window, lines = dashboard.load_headline(
        session, organisation, survey, today=june, filters=urls.ViewFilters(compare="year")
    )
    assert window.end == date(2025, 6, 21)
    assert lines[0].current.n == 60
    assert lines[0].previous.n == 30


def test_invitation_rates_of_the_period(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.invitation_rates.total is None
    contact = contacts.create_contact(session, organisation.id, email="c@example.com")
    june = datetime(2025, 6, 2, tzinfo=UTC)
    invitations = [
        Invitation(
            organisation_id=organisation.id,
            survey_id=survey.id,
            contact_id=contact.id,
            status="sent",
            send_at=june,
            sent_at=june,
        )
        for _ in range(4)
    ]
    # One more in 2023: outside the view's period.
    invitations.append(
        Invitation(
            organisation_id=organisation.id,
            survey_id=survey.id,
            contact_id=contact.id,
            status="sent",
            send_at=datetime(2023, 1, 5, tzinfo=UTC),
        )
    )
    session.add_all(invitations)
    session.flush()
    responses.add_responses(
        session,
        organisation.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=4.0,
                submitted_at=june,
                comment="ok",
                invitation_id=invitations[0].id,
            )
        ],
    )
    view = dashboard.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    total = view.invitation_rates.total
    assert total is not None
    assert (total.sent, total.answered, total.commented) == (4, 1, 1)
    assert total.response_rate.value == pytest.approx(0.25)
    assert [row.period for row in view.invitation_rates.rows] == ["2025-06"]
    chat = dashboard.load_view(
        session,
        organisation,
        survey,
        urls.ViewFilters(where=ResponseFilters(channel="chat")),
        today=TODAY,
    )
    assert chat.invitation_rates.total is None  # the invitations went out by email


def test_invitation_rates_follow_the_view_dates_not_whole_buckets(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    """The first and last trend buckets are clipped to the view's dates, and so are the
    invitations counted in them; invitations outside the period never count."""
    organisation, survey = seeded
    contact = contacts.create_contact(session, organisation.id, email="c@example.com")
    moments = [
        datetime(2023, 1, 5, tzinfo=UTC),  # long before
        datetime(2025, 6, 9, 8, tzinfo=UTC),  # June and ISO week 24, before the view
        datetime(2025, 6, 11, 0, tzinfo=UTC),  # the view's first instant
        datetime(2025, 6, 15, 8, tzinfo=UTC),
        datetime(2025, 6, 20, 23, 59, tzinfo=UTC),  # its last minute
        datetime(2025, 6, 21, 0, tzinfo=UTC),  # the day after
    ]
    invitations = [
        Invitation(
            organisation_id=organisation.id,
            survey_id=survey.id,
            contact_id=contact.id,
            status="sent",
            send_at=moment,
            sent_at=moment,
        )
        for moment in moments
    ]
    session.add_all(invitations)
    session.flush()
    responses.add_responses(
        session,
        organisation.id,
        [
            responses.NewResponse(
                survey_id=survey.id,
                score=4.0,
                submitted_at=invitation.send_at + timedelta(hours=1),
                invitation_id=invitation.id,
            )
            for invitation in (invitations[1], invitations[3])
        ],
    )
    grains: list[tuple[urls.Grain, str]] = [("month", "2025-06"), ("week", "2025-W24")]
    for grain, label in grains:
        june = urls.ViewFilters(start=date(2025, 6, 11), to=date(2025, 6, 20), grain=grain)
        view = dashboard.load_view(session, organisation, survey, june, today=TODAY)
        total = view.invitation_rates.total
        assert total is not None
        assert (total.sent, total.answered) == (3, 1), grain
        assert view.invitation_rates.rows[0].period == label
        assert view.invitation_rates.rows[0].sent == (2 if grain == "week" else 3)
        assert sum(row.sent for row in view.invitation_rates.rows) == 3


def test_a_view_longer_than_ten_years_is_refused(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    with pytest.raises(Invalid, match="at most 10 years"):
        dashboard.load_view(
            session, organisation, survey, urls.ViewFilters(start=date(1990, 1, 1)), today=TODAY
        )
