"""The monthly report's layout: units and honest context in its figures, tables that fit a
phone, charts drawn for desktop and phone, and a PDF without half-empty pages.

Printed and measured with the real Chromium (``report.pdf``, ``tests/browser_support``).
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from tests import browser_support as support

from cxpulse.act import goals
from cxpulse.report import monthly
from cxpulse.report.pdf import html_to_pdf
from cxpulse.store import accounts, surveys
from cxpulse.store.models import Organisation, Survey
from cxpulse.store.responses import NewResponse, add_responses

TODAY = date(2026, 11, 5)
CHANNELS = ("email", "chat", "web", "phone")
REGIONS = ("North", "South", "East", "West", "Centre")


@pytest.fixture
def org(session: Session) -> Organisation:
    return accounts.create_organisation(
        session, slug="shop", name="Shop & Sons", industry="e-commerce"
    )


def _year_of_answers(session: Session, org: Organisation, metric: str, scores: list[int]) -> Survey:
    """A survey with answers in each of the 12 months up to October 2026, spread over
    channels and regions, so the report has a full trend, segments and several pages."""
    survey = surveys.create_survey(
        session, org.id, slug=metric, name=f"{metric} survey", metric=metric
    )
    rows = []
    for month in range(12):
        first = datetime(2025, 11, 3, 12, tzinfo=UTC) + timedelta(days=30 * month)
        for i in range(60):
            # October shifts the scores, so segments move.
            score = scores[(i + month) % len(scores)]
            if month == 11 and i % 3 == 0:
                score = scores[0]
            rows.append(
                NewResponse(
                    survey_id=survey.id,
                    score=score,
                    submitted_at=first + timedelta(hours=i * 7),
                    channel=CHANNELS[i % len(CHANNELS)],
                    properties={"region": REGIONS[i % len(REGIONS)]},
                )
            )
    add_responses(session, org.id, rows)
    return survey


def test_csat_report_figures_carry_units_and_the_acsi_as_text(
    session: Session, org: Organisation
) -> None:
    survey = _year_of_answers(session, org, "csat", [1, 2, 3, 4, 5, 5, 4, 4])
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    values = re.findall(r'<p class="value">([^<]+)</p>', html)
    assert len(values) == 2
    assert all(value.endswith("%") for value in values)
    # The ACSI is a sentence on CSAT, labelled as another scale, never a line on the chart.
    assert "ACSI index (0-100), another scale" in html
    assert "Dotted line" not in html
    chart_texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", html))
    assert "ACSI" not in chart_texts


def test_ces_report_says_of_seven_and_which_way_is_better(
    session: Session, org: Organisation
) -> None:
    survey = _year_of_answers(session, org, "ces", [1, 3, 5, 6, 7, 7, 6])
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    (value,) = re.findall(r'<p class="value">([^<]+)</p>', html)
    assert re.fullmatch(r"\d\.\d of 7 \(higher is easier\)", value)
    assert "ACSI" not in html
    # Answers named by their meaning, in the survey's bands.
    assert "7 Strongly agree" in html
    assert "Easy 5–7" in html


def test_tables_are_printed_open_and_their_headers_sit_over_their_numbers(
    session: Session, org: Organisation
) -> None:
    survey = _year_of_answers(session, org, "nps", [0, 6, 7, 8, 9, 10, 10])
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    # No folded table: a closed <details> prints as one line.
    assert "<details" not in html
    assert '<table class="trend-table">' in html
    # Answers per scale value: one row per value (0..10), so it fits a phone, with numeric
    # headers right-aligned like their numbers.
    scale = html[html.index('<table class="scale-table">') :]
    scale = scale[: scale.index("</table>")]
    assert re.search(r'<th scope="col" class="num">Answers</th>', scale)
    assert re.search(r'<th scope="col" class="num">Share</th>', scale)
    assert scale.count('<tr><th scope="row">') == 11
    assert "0 Not at all likely" in scale
    assert "Promoters 9–10" in scale
    # Wide tables turn into cards on a phone: every cell names its column.
    for table in re.findall(r'<table class="cards">(.*?)</table>', html, re.S):
        cells = re.findall(r"<td[^>]*>", table)
        assert cells
        assert all("data-label=" in cell for cell in cells)


def _page_fills(pdf: Path) -> list[float]:
    """How far down each page its lowest text reaches (0..1), with poppler's pdftotext."""
    tool = support.debian_tool("pdftotext", "poppler-utils")
    boxes = subprocess.run(
        [tool, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    fills = []
    for height, page in re.findall(
        r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', boxes, re.S
    ):
        lows = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page)]
        fills.append(max(lows, default=0.0) / float(height))
    return fills


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["nps", "csat"])
def test_pdf_has_no_half_empty_page(
    session: Session, org: Organisation, metric: str, tmp_path: Path
) -> None:
    scores = [0, 6, 7, 8, 9, 10, 10] if metric == "nps" else [1, 2, 3, 4, 5, 5, 4, 4]
    survey = _year_of_answers(session, org, metric, scores)
    goals.create_goal(
        session,
        org.id,
        survey.id,
        name="Better",
        target=60 if metric == "nps" else 90,
        baseline=20 if metric == "nps" else 70,
        baseline_date=date(2026, 9, 30),
        due_date=date(2027, 3, 31),
        today=date(2026, 10, 1),
    )
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    pdf = html_to_pdf(html, tmp_path / "report.pdf", chromium=support.chromium_path())
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    # Key figures, trend, its table, the distribution, segments and goals: four A4 pages at
    # most (a table kept whole used to push the next section over and leave gaps).
    assert 2 <= pages <= 4
    fills = _page_fills(pdf)
    assert len(fills) == pages
    # Every page but the last is filled at least halfway down.
    for number, fill in enumerate(fills[:-1], start=1):
        assert fill >= 0.5, f"page {number} of {pages} ends {fill:.0%} down the page"


@pytest.mark.slow
def test_report_fits_a_phone_with_readable_charts(session: Session, org: Organisation) -> None:
    from playwright.sync_api import sync_playwright

    survey = _year_of_answers(session, org, "nps", [0, 6, 7, 8, 9, 10, 10])
    html = monthly.render_html(session, org.id, survey.id, "2026-10")
    with sync_playwright() as playwright:
        browser = support.launch_chromium(playwright)
        try:
            for viewport in (support.PHONE, support.DESKTOP):
                page = browser.new_page(viewport=viewport)
                page.set_content(html)
                measured = page.evaluate(
                    """() => {
                      let smallest = 1e9, shown = 0;
                      document.querySelectorAll('.chart svg').forEach(svg => {
                        if (!svg.getBoundingClientRect().width) { return; }
                        shown += 1;
                        svg.querySelectorAll('text').forEach(t => {
                          if (!t.textContent.trim()) { return; }
                          const size = parseFloat(t.getAttribute('font-size'));
                          const m = t.getScreenCTM();
                          smallest = Math.min(smallest, size * Math.hypot(m.a, m.b));
                        });
                      });
                      return {scroll: document.documentElement.scrollWidth, smallest, shown};
                    }"""
                )
                shots = support.artifact_dir("screenshots")
                page.screenshot(
                    path=str(shots / f"report-nps-{viewport['width']}.png"), full_page=True
                )
                page.close()
                assert measured["shown"] == 2  # one drawing of each chart, the fitting one
                assert measured["scroll"] <= viewport["width"], measured
                assert measured["smallest"] >= 12, measured
        finally:
            browser.close()
