"""The data of a dashboard view, on SQLite and PostgreSQL, with numbers worked by hand.

The survey (CSAT 1-5) holds, with the latest answer on 2025-06-20:

- 40 answers of 5 by email from 1 to 20 June 2025 (team a), 8 of them commented;
- 20 answers of 1 by chat in May 2025 (team b), 5 of them saying "Slow delivery";
- 30 answers of 2 by email in January 2024 (the previous period).

Default view: the 12 months to 2025-06-20, so CSAT = 40/60 = 66.67%, DSAT = 20/60 = 33.33%,
against a previous period at 0% (30 answers): a significant change.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report import filters_url as urls
from cxpulse.report import views
from cxpulse.store import accounts, contacts, responses, surveys
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Invitation, Organisation, Survey

TODAY = date(2025, 9, 1)


def _add(
    session: Session, org: int, survey: int, day: datetime, count: int, **fields: object
) -> None:
    comments = fields.pop("comments", {})
    assert isinstance(comments, dict)
    responses.add_responses(
        session,
        org,
        [
            responses.NewResponse(
                survey_id=survey,
                submitted_at=day + timedelta(days=n // 2, minutes=n),
                comment=comments.get(n),
                **fields,  # type: ignore[arg-type]
            )
            for n in range(count)
        ],
    )


@pytest.fixture
def seeded(session: Session) -> tuple[Organisation, Survey]:
    organisation = accounts.create_organisation(session, slug="shop", name="Shop", industry="banks")
    survey = surveys.create_survey(
        session, organisation.id, slug="csat", name="Support CSAT", metric="csat"
    )
    org, sid = organisation.id, survey.id
    june = datetime(2025, 6, 1, tzinfo=UTC)
    _add(
        session,
        org,
        sid,
        june,
        40,
        score=5.0,
        channel="email",
        properties={"team": "a"},
        comments={n: f"great service {n}" for n in range(8)},
    )
    _add(
        session,
        org,
        sid,
        datetime(2025, 5, 3, tzinfo=UTC),
        20,
        score=1.0,
        channel="chat",
        properties={"team": "b"},
        comments={n: "Slow delivery" for n in range(5)},
    )
    _add(session, org, sid, datetime(2024, 1, 10, tzinfo=UTC), 30, score=2.0, channel="email")
    other = accounts.create_organisation(session, slug="other", name="Other")
    other_survey = surveys.create_survey(session, other.id, slug="csat", name="X", metric="csat")
    _add(session, other.id, other_survey.id, june, 5, score=5.0, channel="email")
    session.flush()
    return organisation, survey


def test_default_view_headlines_and_change(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.window == urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    csat, dsat = view.headlines
    assert (csat.label, dsat.label) == ("CSAT", "DSAT")
    assert csat.current.n == 60
    assert csat.current.value == pytest.approx(200 / 3)
    assert dsat.current.value == pytest.approx(100 / 3)
    assert csat.previous.n == 30
    assert csat.previous.value == 0
    assert csat.change.difference == pytest.approx(200 / 3)
    assert csat.verdict == "significant"
    assert view.comment_rate.commented == 13
    assert view.comment_rate.answered == 60
    assert view.benchmark is not None
    assert view.benchmark.industry == "banks"


def test_window_ends_on_the_latest_answer(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    latest = views.latest_day(session, organisation.id, survey.id)
    assert latest == date(2025, 6, 20)
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.window == urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    assert view.previous_window.end == view.window.start
    assert view.previous_window.days == view.window.days


def test_trend_buckets_cover_the_window(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
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
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert [s.key for s in view.segments] == ["email", "chat"]
    email, chat = view.segments
    assert email.impact == pytest.approx(200 / 3)  # 66.67 overall, 0 without email
    assert chat.impact == pytest.approx(200 / 3 - 100)
    assert chat.result.too_small
    assert not email.result.too_small


def test_filters_change_every_number(session: Session, seeded: tuple[Organisation, Survey]) -> None:
    organisation, survey = seeded
    filters = urls.ViewFilters(properties={"team": "b"}, by="property:team", grain="week")
    view = views.load_view(session, organisation, survey, filters, today=TODAY)
    assert view.headlines[0].current.n == 20
    assert view.headlines[0].current.value == 0
    assert [s.key for s in view.segments] == ["b"]
    assert view.comment_rate.commented == 5
    assert all(p.label.count("-W") == 1 for p in view.trend)
    assert sum(p.result.n for p in view.trend) == 20
    dist = {row.label: row.count for row in view.distribution}
    assert dist == {"1": 20, "2": 0, "3": 0, "4": 0, "5": 0}


def test_day_grain_over_a_long_period_falls_back_to_weeks(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(
        session, organisation, survey, urls.ViewFilters(grain="day", months=24), today=TODAY
    )
    assert view.grain == "week"
    assert view.notes


def test_drill_down_lists_exactly_the_responses_behind_a_number(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    filters = urls.ViewFilters()
    window = filters.window(views.latest_day(session, organisation.id, survey.id), TODAY)
    satisfied = views.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters(min_score=4)
    )
    assert len(satisfied.rows) == 40
    assert satisfied.next_after is None
    assert {row.score for row in satisfied.rows} == {5.0}
    everything = views.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters()
    )
    assert len(everything.rows) == views.DRILL_PAGE_SIZE
    assert everything.next_after
    rest = views.drill_down(
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
    found = views.drill_down(
        session, organisation.id, survey.id, filters, window, urls.DrillFilters(search="SLOW")
    )
    assert len(found.rows) == 5
    assert all(r.comment == "Slow delivery" for r in found.rows)
    # LIKE wildcards are searched for literally.
    assert (
        views.drill_down(
            session, organisation.id, survey.id, filters, window, urls.DrillFilters(search="%")
        ).rows
        == []
    )
    with pytest.raises(Invalid):
        views.drill_down(
            session, organisation.id, survey.id, filters, window, urls.DrillFilters(after="junk")
        )


def test_metric_rows_carry_every_table(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    rows = views.metric_rows(view)
    tables = {row["table"] for row in rows}
    assert tables == {
        "headline",
        "previous period",
        "trend by month",
        "distribution",
        "breakdown by channel",
    }
    headline = rows[0]
    assert headline["metric"] == "CSAT"
    assert headline["n"] == 60
    assert headline["verdict"] == "significant"
    table = views.metric_table(rows)
    assert table[0] == list(views.METRIC_COLUMNS)
    assert len(table) == len(rows) + 1


def test_headline_of_the_survey_list(session: Session, seeded: tuple[Organisation, Survey]) -> None:
    organisation, survey = seeded
    window, lines = views.load_headline(session, organisation, survey, today=TODAY)
    assert window.end == date(2025, 6, 21)
    assert lines[0].current.n == 60
    assert lines[0].previous.n == 30


def test_invitation_rates_of_the_period(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
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
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    total = view.invitation_rates.total
    assert total is not None
    assert (total.sent, total.answered, total.commented) == (4, 1, 1)
    assert total.response_rate.value == pytest.approx(0.25)
    assert [row.period for row in view.invitation_rates.rows] == ["2025-06"]
    chat = views.load_view(
        session, organisation, survey, urls.ViewFilters(channel="chat"), today=TODAY
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
        view = views.load_view(session, organisation, survey, june, today=TODAY)
        total = view.invitation_rates.total
        assert total is not None
        assert (total.sent, total.answered) == (3, 1), grain
        assert view.invitation_rates.rows[0].period == label
        assert view.invitation_rates.rows[0].sent == (2 if grain == "week" else 3)
        assert sum(row.sent for row in view.invitation_rates.rows) == 3


def test_comment_rate_is_counted_exactly_up_to_the_limit(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    assert view.comment_rate.estimate is None
    assert view.comment_rate.rate == pytest.approx(13 / 60 * 100)


def test_comment_rate_is_estimated_above_the_limit(
    session: Session, seeded: tuple[Organisation, Survey], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the limit the rate comes from slices of the period; here (60 answers, 40
    slices wanted) the slices are the whole period, so the estimate is the count, exactly."""
    organisation, survey = seeded
    monkeypatch.setattr(views, "COMMENT_RATE_MAX_SCAN", 10)
    view = views.load_view(session, organisation, survey, urls.ViewFilters(), today=TODAY)
    rate = view.comment_rate
    assert rate.commented is None
    assert rate.note is None
    assert rate.estimate is not None
    assert (rate.estimate.sampled, rate.estimate.commented) == (60, 13)
    assert rate.estimate.slices == rate.estimate.of_slices
    assert rate.rate == pytest.approx(13 / 60 * 100)
    assert rate.estimate.ci_low == pytest.approx(rate.rate)
    assert rate.estimate.ci_high == pytest.approx(rate.rate)
    # A filter keeps only its own answers in every slice.
    chat = views.load_view(
        session, organisation, survey, urls.ViewFilters(channel="chat"), today=TODAY
    )
    assert chat.comment_rate.estimate is not None
    assert (chat.comment_rate.estimate.sampled, chat.comment_rate.estimate.commented) == (20, 5)


def test_comment_rate_from_a_sample_of_slices(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    window = urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    filters = urls.ViewFilters()
    # 60 answers, 4 slices of about 5 answers wanted: the period is cut into 12.
    first, again = (
        views.estimate_comment_rate(
            session, organisation.id, survey.id, filters, window, 60, slices=4, target=20
        )
        for _ in range(2)
    )
    assert first == again  # the same slices on every visit
    estimate = first.estimate
    assert estimate is not None
    assert (estimate.slices, estimate.of_slices) == (4, 12)
    assert 0 < estimate.sampled < 60
    assert estimate.commented <= 13
    assert estimate.ci_low <= estimate.rate <= estimate.ci_high
    assert estimate.rate == pytest.approx(estimate.commented / estimate.sampled * 100)


def test_comment_rate_gives_up_on_answers_bunched_in_time(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    window = urls.Window(date(2024, 6, 21), date(2025, 6, 21))
    found = views.estimate_comment_rate(
        session,
        organisation.id,
        survey.id,
        urls.ViewFilters(),
        window,
        60,
        slices=3,
        target=10**9,
        cap=5,
    )
    assert found.estimate is None
    assert found.note is not None
    assert found.note.startswith("unavailable for this view")
    assert math.isnan(found.rate)


# --------------------------------------------------------------------------- pure parts


def test_buckets_by_week_use_iso_labels() -> None:
    window = urls.Window(date(2024, 12, 25), date(2025, 1, 10))
    found = views.buckets(window, "week")
    assert [b[0] for b in found] == ["2024-W52", "2025-W01", "2025-W02"]
    assert found[0][1] == date(2024, 12, 25)
    assert found[-1][2] == date(2025, 1, 10)


def test_nps_distribution_and_drill_ranges() -> None:
    spec = MetricSpec.default("nps")
    rows = views.distribution(Histogram({10: 5, 8: 3, 2: 2}), spec)
    assert [(r.label, r.count) for r in rows] == [
        ("Promoters", 5),
        ("Passives", 3),
        ("Detractors", 2),
    ]
    assert rows[1].drill == urls.DrillFilters(min_score=7, max_score=8)
    assert rows[2].drill.max_score == 6


def test_pick_benchmark() -> None:
    assert views.pick_benchmark(None) is None
    assert views.pick_benchmark("no such industry") is None
    banks = views.pick_benchmark("Banks")
    assert banks is not None
    assert banks.industry == "banks"
    assert "ACSI" in banks.source


def test_url_round_trip_and_errors() -> None:
    parsed = urls.parse(
        [
            ("from", "2025-01-01"),
            ("to", "2025-03-31"),
            ("grain", "week"),
            ("channel", "email"),
            ("property.team", "b"),
            ("segment", "contact:plan"),
            ("segment_value", "pro"),
            ("by", "property:agent"),
            ("min_score", "4"),
            ("has_comment", "true"),
            ("q", "slow"),
        ]
    )
    assert parsed.errors == {}
    view = parsed.view
    assert view.window(None, TODAY) == urls.Window(date(2025, 1, 1), date(2025, 4, 1))
    again = urls.parse(urls.parse([(k, v) for k, v in view.query_pairs()]).view.query_pairs())
    assert again.view == view
    assert view.contact_attributes == {"plan": "pro"}
    assert parsed.drill == urls.DrillFilters(min_score=4, has_comment=True, search="slow")
    bad = urls.parse(
        [
            ("from", "yesterday"),
            ("months", "0"),
            ("grain", "hour"),
            ("by", "colour"),
            ("min_score", "nan"),
            ("has_comment", "maybe"),
            ("channel", "x\x00"),
        ]
    )
    assert set(bad.errors) == {
        "from",
        "months",
        "grain",
        "by",
        "min_score",
        "has_comment",
        "channel",
    }
    assert bad.view == urls.ViewFilters()


def test_nul_characters_are_refused_everywhere() -> None:
    parsed = urls.parse(
        [("by", "property:a\x00"), ("property.x\x00", "1"), ("q", "a\x00"), ("touchpoint", "\x00")]
    )
    assert set(parsed.errors) == {"by", "property.x\x00", "q", "touchpoint"}


def test_periods_are_bounded() -> None:
    assert set(urls.parse([("to", "9999-12-31"), ("from", "0001-01-01")]).errors) == {"to", "from"}
    long = urls.parse([("from", "2000-01-01"), ("to", "2020-01-01")])
    assert long.errors == {"from": "a view covers at most 10 years"}
    assert urls.parse([("from", "2010-01-01"), ("to", "2019-12-31")]).errors == {}


def test_a_view_longer_than_ten_years_is_refused(
    session: Session, seeded: tuple[Organisation, Survey]
) -> None:
    organisation, survey = seeded
    with pytest.raises(Invalid, match="at most 10 years"):
        views.load_view(
            session, organisation, survey, urls.ViewFilters(start=date(1990, 1, 1)), today=TODAY
        )


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert urls.add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert urls.add_months(date(2024, 1, 15), 12) == date(2025, 1, 15)
    assert math.isclose(urls.Window(date(2025, 1, 1), date(2025, 2, 1)).days, 31)


def test_slices_hold_about_equal_numbers_of_answers() -> None:
    window = urls.Window(date(2025, 1, 1), date(2025, 1, 4))
    per_day = {date(2025, 1, 1): 10, date(2025, 1, 2): 30}
    hour = timedelta(hours=1)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    second = first + 24 * hour
    assert views.slice_bounds(window, per_day, 4) == [
        (first, second),
        (second, second + 8 * hour),
        (second + 8 * hour, second + 16 * hour),
        (second + 16 * hour, datetime(2025, 1, 4, tzinfo=UTC)),
    ]
    # Without answers the slices are of equal length.
    assert views.slice_bounds(window, {}, 3) == [
        (first + 24 * n * hour, first + 24 * (n + 1) * hour) for n in range(3)
    ]


def test_ratio_estimate_worked_example() -> None:
    """Two slices of 10 answers (1 and 3 commented) out of 4 slices and 40 answers:
    share 4/20 = 0.2; s² = ((1 - 2)² + (3 - 2)²) / 1 = 2; variance
    (1 - 2/4) · 2 / (2 · 10²) = 0.005; half width 1.96 · 0.0707 = 0.1386."""
    share, low, high = views.ratio_estimate([(1, 10), (3, 10)], 4, 40, 0.95)
    assert share == pytest.approx(0.2)
    assert low == pytest.approx(0.2 - 1.959964 * math.sqrt(0.005), abs=1e-6)
    assert high == pytest.approx(0.2 + 1.959964 * math.sqrt(0.005), abs=1e-6)
    # No comment at all in the sample: Wilson's interval of 0 of 20, not a width of 0.
    share, low, high = views.ratio_estimate([(0, 10), (0, 10)], 4, 40, 0.95)
    assert (share, low) == (0.0, 0.0)
    assert high > 0.1
