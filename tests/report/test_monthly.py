"""The monthly report: numbers from the store, a self-contained document, PDF, schedules."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from cxpulse.act import goals
from cxpulse.metrics import Histogram, MetricSpec, compare
from cxpulse.metrics.scales import Scale
from cxpulse.report import monthly
from cxpulse.report.pdf import PdfError, html_to_pdf
from cxpulse.store import accounts, contacts, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Invitation, Organisation, Survey
from cxpulse.store.responses import NewResponse, add_responses

from .themes_support import build as build_themed

SEPTEMBER = datetime(2026, 9, 10, 12, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 12, 12, tzinfo=UTC)
TODAY = date(2026, 11, 5)
NAME = 'Support <script>alert("x")</script> & co'

# September: e-mail 20 answers, 10 satisfied (50%); chat 20 answers, 16 satisfied (80%).
# October: e-mail 40 answers, 36 satisfied (90%); chat 20 answers, 15 satisfied (75%).
SEPTEMBER_ANSWERS = {"email": [5] * 10 + [1] * 10, "chat": [4] * 16 + [2] * 4}
OCTOBER_ANSWERS = {"email": [5] * 36 + [1] * 4, "chat": [5] * 15 + [3] * 5}


@pytest.fixture
def org(session: Session) -> Organisation:
    return accounts.create_organisation(
        session, slug="shop", name="Shop & Sons", industry="e-commerce"
    )


@pytest.fixture
def survey(session: Session, org: Organisation) -> Survey:
    made = surveys.create_survey(session, org.id, slug="support", name=NAME, metric="csat")
    for when, answers in ((SEPTEMBER, SEPTEMBER_ANSWERS), (OCTOBER, OCTOBER_ANSWERS)):
        add_responses(
            session,
            org.id,
            [
                NewResponse(
                    survey_id=made.id,
                    score=score,
                    submitted_at=when + timedelta(hours=i),
                    channel=channel,
                    properties={"team": "billing" if i % 2 else "tech", "order": f"o-{i}"},
                )
                for channel, scores in answers.items()
                for i, score in enumerate(scores)
            ],
        )
    return made


def _spec() -> MetricSpec:
    return MetricSpec.default("csat", Scale(1, 5))


def _histogram(*groups: list[int]) -> Histogram:
    return Histogram.from_values([float(s) for group in groups for s in group])


def test_report_numbers(session: Session, org: Organisation, survey: Survey) -> None:
    report = monthly.build_report(session, org.id, survey.id, "2026-10", today=TODAY)
    assert report.answers == 60
    assert report.previous_answers == 40
    csat, dsat = report.kpis
    # October: 51 of 60 satisfied = 85%; September 26 of 40 = 65%.
    assert csat.result.value == pytest.approx(85.0)
    assert csat.previous.value == pytest.approx(65.0)
    expected = compare(
        _histogram(*SEPTEMBER_ANSWERS.values()), _histogram(*OCTOBER_ANSWERS.values()), _spec()
    )
    assert csat.comparison is not None
    assert csat.comparison.difference == pytest.approx(20.0)
    assert csat.comparison.p_value == pytest.approx(expected.p_value)
    assert csat.comparison.significant is expected.significant is True
    assert csat.change_text == "+20.0 vs last month (significant at 95%)"
    # DSAT (1-2): 4 of 60 in October (e-mail ones); in September 10 ones and 4 twos of 40.
    assert dsat.result.value == pytest.approx(100 * 4 / 60)
    assert dsat.previous.value == pytest.approx(35.0)

    assert report.trend[0].period == "2025-11"
    assert report.trend[-1].period == "2026-10"
    assert [p.n for p in report.trend][-2:] == [40, 60]
    assert all(p.value is None for p in report.trend[:-2])
    assert [(c.value, c.count) for c in report.scale_counts] == [
        (1, 4),
        (2, 0),
        (3, 5),
        (4, 0),
        (5, 51),
    ]
    assert report.benchmark is not None
    assert report.benchmark.label.startswith("ACSI e-commerce ")

    # E-mail moved 50% -> 90% (significant), chat 80% -> 75% (not); "order" is no segment.
    moves = {(m.dimension, m.value): m for m in report.movers}
    assert moves[("Channel", "email")].comparison.difference == pytest.approx(40.0)
    assert moves[("Channel", "email")].comparison.significant
    assert not moves[("Channel", "chat")].comparison.significant
    assert report.movers[0].value == "email"
    assert ("Team", "billing") in moves
    assert not any(m.dimension == "Order" for m in report.movers)


def test_report_html_is_self_contained_and_escaped(
    session: Session, org: Organisation, survey: Survey
) -> None:
    goals.create_goal(
        session,
        org.id,
        survey.id,
        name="CSAT <b>90</b>",
        target=90,
        baseline=65,
        baseline_date=date(2026, 9, 30),
        due_date=date(2027, 3, 31),
        today=date(2026, 10, 1),
    )
    report = monthly.build_report(session, org.id, survey.id, "2026-10", today=TODAY)
    assert report.goals_as_of == date(2026, 10, 31)
    (goal,) = report.goals
    # As of 31 October the last 30 days hold October's 60 answers: 85%, 80% of the way.
    assert goal.assessment.current == pytest.approx(85.0)
    assert goal.assessment.progress == pytest.approx(80.0)
    html = monthly.render_report(report)

    for text in (
        "85.0",
        "65.0",
        "+20.0 vs last month (significant at 95%)",
        "n=60",
        "October 2026",
    ):
        assert text in html, text
    assert "Channel: email" in html
    assert "80%" in html  # goal progress
    # Two charts, each drawn for desktop/print and for phone.
    assert html.count("<svg") == 4
    assert html.count('<div class="chart-wide">') == 2
    assert html.count('<div class="chart-narrow">') == 2
    # User text is escaped, in the page and inside the charts.
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>90</b>" not in html
    # Nothing is fetched: no external src/href, no stylesheet links, no imports or scripts.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert not re.search(r"<(?:script|link|iframe|img|object|embed)\b", html, re.I)
    assert not re.search(r"@import|url\(", html, re.I)
    # Optional sections of parts that do not exist yet are left out cleanly.
    assert "Response and comment rates" not in html
    assert "Themes" not in html
    assert "Follow-ups" not in html


def test_nps_report_shows_bands(session: Session, org: Organisation) -> None:
    nps = surveys.create_survey(session, org.id, slug="nps", name="NPS", metric="nps")
    add_responses(
        session,
        org.id,
        [
            NewResponse(survey_id=nps.id, score=s, submitted_at=OCTOBER)
            for s in [10] * 6 + [8] * 3 + [2]
        ],
    )
    report = monthly.build_report(session, org.id, nps.id, "2026-10", today=TODAY)
    last = report.nps_bands[-1]
    assert (last.promoters, last.passives, last.detractors) == (6, 3, 1)
    assert report.kpis[0].result.value == pytest.approx(50.0)
    assert report.kpis[0].comparison is None
    assert report.benchmark is None  # ACSI is a 0-100 index: drawn for CSAT only
    html = monthly.render_report(report)
    assert "6 promoters, 3 passives, 1 detractors" in html
    assert "no answers last month to compare with" in html


def test_report_is_scoped_to_the_organisation(
    session: Session, org: Organisation, survey: Survey
) -> None:
    other = accounts.create_organisation(session, slug="other", name="Other")
    with pytest.raises(NotFound):
        monthly.build_report(session, other.id, survey.id, "2026-10")


def test_empty_month_renders(session: Session, org: Organisation) -> None:
    empty = surveys.create_survey(session, org.id, slug="empty", name="Empty", metric="ces")
    html = monthly.render_html(session, org.id, empty.id, "2026-10")
    assert "0 answers this month" in html
    assert "No segment has answers in both months" in html


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_needs_chromium(tmp_path: Path) -> None:
    with pytest.raises(PdfError, match="not found"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf", chromium=str(tmp_path / "no-chromium"))


@pytest.mark.slow
def test_pdf_of_the_report(tmp_path: Path) -> None:
    html = "<!doctype html><html><body><h1>October 2026</h1><p>CSAT 85.0</p></body></html>"
    target = html_to_pdf(html, tmp_path / "out" / "report.pdf")
    data = target.read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"%%EOF" in data[-1024:]
    assert len(data) > 1000


def test_rates_section_when_the_collect_stage_counts_them(
    session: Session, org: Organisation, survey: Survey
) -> None:
    contact = contacts.create_contact(session, org.id, external_id="c-1", email="c@shop.example")
    sent = [
        Invitation(
            organisation_id=org.id,
            survey_id=survey.id,
            contact_id=contact.id,
            channel="email",
            status="sent",
            send_at=OCTOBER + timedelta(minutes=i),
            sent_at=OCTOBER + timedelta(minutes=i),
        )
        for i in range(8)
    ]
    # Invitations of the months around, by another channel too, stay out of October's table.
    others = [
        Invitation(
            organisation_id=org.id,
            survey_id=survey.id,
            contact_id=contact.id,
            channel=channel,
            status="sent",
            send_at=when,
            sent_at=when,
        )
        for when, channel in (
            (datetime(2026, 9, 30, 23, 59, tzinfo=UTC), "sms"),
            (datetime(2026, 11, 1, tzinfo=UTC), "email"),
            (datetime(2025, 10, 12, tzinfo=UTC), "email"),
        )
    ]
    session.add_all(sent + others)
    session.flush()
    add_responses(
        session,
        org.id,
        [
            NewResponse(
                survey_id=survey.id,
                score=5,
                submitted_at=OCTOBER + timedelta(days=1),
                invitation_id=invitation.id,
                comment="Quick and kind" if n == 0 else None,
            )
            for n, invitation in enumerate(sent[:2])
        ],
    )
    report = monthly.build_report(session, org.id, survey.id, "2026-10", today=TODAY)
    (section,) = report.extra_sections
    assert section.title == "Response and comment rates"
    assert len(section.rows) == 1
    channel, sent_count, answered, response_rate, commented, comment_rate = section.rows[0]
    assert (channel, sent_count, answered, commented) == ("email", "8", "2", "1")
    assert response_rate.startswith("25.0% (")
    assert comment_rate.startswith("50.0% (")
    html = monthly.render_report(report)
    assert "Response and comment rates" in html
    assert "25.0% (" in html


def test_report_email_parts(session: Session, org: Organisation, survey: Survey) -> None:
    mail = monthly.report_email(session, org.id, survey.id, "2026-10")
    assert mail.subject == f"{NAME}: monthly report October 2026"
    assert "CSAT (%): 85.0% (n=60;" in mail.text
    assert "+20.0 vs last month (significant at 95%)" in mail.text
    assert "Channel email: 90.0 (n=40), +40.0 vs last month" in mail.text
    assert mail.html.startswith("<!doctype html>")


def test_the_months_themes_and_their_movement(session: Session) -> None:
    """June of themes_support.py: delivery is 60% of the 50 analysed comments against 50%
    of May's 40; 5 comments still wait for the worker."""
    themed = build_themed(session)
    report = monthly.build_report(
        session, themed.organisation.id, themed.survey.id, "2025-06", today=date(2025, 9, 1)
    )
    assert (report.themes_analysed, report.themes_waiting) == (50, 5)
    (move,) = report.themes
    assert move.row.key == "delivery"
    assert (move.row.share, move.previous_share) == (60.0, 50.0)
    assert move.change == pytest.approx(10.0)
    assert not move.significant
    assert move.change_text == "up 10.0 points, not significant"
    html = monthly.render_report(report)
    assert "Themes in the comments" in html
    assert "5 comments of June 2025 were not analysed yet" in html
    assert "Delivery" in monthly.render_text(report)
