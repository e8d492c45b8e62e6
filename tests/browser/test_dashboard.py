"""The dashboard in a real Chromium, on a desktop and a phone viewport.

Log in through the form, open a survey, change a filter and see the chart and the table
change, open the responses behind a number, download an export, open a month's report from
the survey page (and its PDF); keyboard navigation, heading order and text contrast are
checked on the way. SQLite is enough here: the page
tests cover both databases. Screenshots go to test-artifacts/screenshots.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from tests import browser_support as support

from cxpulse.config import Settings
from cxpulse.store import accounts, responses, security, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.models import User
from cxpulse.web import create_app

pytestmark = pytest.mark.slow

EMAIL = "analyst@shop.example"
PASSWORD = "dashboard browser test"


@dataclass(frozen=True)
class Site:
    url: str
    survey_id: int


START = datetime(2025, 1, 1, 8, tzinfo=UTC)
REPORT_MONTH = ("2025-03", "March 2025")


def _answer(n: int) -> tuple[datetime, str, float]:
    """When, by which channel and with what score the n-th answer came."""
    channel = ("email", "chat", "web")[n % 3]
    # Chat answers are worse, so filtering on a channel moves every number.
    score = float(1 + (n * 7) % 5) if channel != "chat" else float(1 + (n // 3) % 3)
    return START + timedelta(hours=11 * n), channel, score


def _march_csat() -> str:
    """The report's headline for March 2025 in its units ("27.9%"), counted here from the
    seed itself."""
    scores = [
        score for when, _, score in map(_answer, range(400)) if (when.year, when.month) == (2025, 3)
    ]
    return f"{sum(score >= 4 for score in scores) / len(scores) * 100:.1f}%"


def _seed(url: str) -> int:
    engine = create_engine_for(url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            org = accounts.create_organisation(
                session, slug="shop", name="Web Shop", industry="e-commerce"
            )
            session.add(
                User(
                    organisation_id=org.id,
                    email=EMAIL,
                    role="analyst",
                    password_hash=security.hash_password(PASSWORD),
                )
            )
            survey = surveys.create_survey(
                session, org.id, slug="csat", name="Delivery CSAT", metric="csat", status="active"
            )
            items = []
            for n in range(400):
                when, channel, score = _answer(n)
                items.append(
                    responses.NewResponse(
                        survey_id=survey.id,
                        score=score,
                        submitted_at=when,
                        channel=channel,
                        comment=f"<b>parcel</b> {n}" if n % 4 == 0 else None,
                        properties={"agent": ("Ann", "Bo", "Cy")[n % 3 if n % 5 else 0]},
                    )
                )
            responses.add_responses(session, org.id, items)
            session.commit()
            return survey.id
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'cxpulse.db'}"
    survey_id = _seed(url)
    engine = create_engine_for(url)
    app = create_app(Settings(database_url=url, secret_key="browser"), engine)
    try:
        with support.LiveServer(app) as server:
            yield Site(server.url, survey_id)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = support.launch_chromium(playwright)
        try:
            yield launched
        finally:
            launched.close()


HEADINGS_JS = """() => Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6'))
  .map(h => Number(h.tagName[1]))"""

# Contrast of every visible text element against the first opaque background behind it.
CONTRAST_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let node = el; node; node = node.parentElement) {
      const c = rgb(getComputedStyle(node).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.99)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg')) continue;
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    const a = lum(rgb(style.color).slice(0, 3)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const large = parseFloat(style.fontSize) >= 24 ||
      (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      bad.push(el.tagName + ' ' + el.textContent.trim().slice(0, 30) + ' ' + ratio.toFixed(2));
    }
  }
  return bad;
}"""


def _check_accessibility(page: Page) -> None:
    levels: list[int] = page.evaluate(HEADINGS_JS)
    assert levels.count(1) == 1, levels
    assert levels[0] == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels
    assert page.evaluate(CONTRAST_JS) == []
    assert page.locator("main").count() == 1
    assert page.locator("header").count() >= 1


def _keyboard(page: Page) -> None:
    page.keyboard.press("Tab")
    focused: dict[str, Any] = page.evaluate(
        "() => ({text: document.activeElement.textContent.trim(),"
        " outline: getComputedStyle(document.activeElement).outlineStyle})"
    )
    assert focused["text"] == "Skip to content"
    assert focused["outline"] != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_dashboard_in_chromium(site: Site, browser: Browser, device: str) -> None:
    viewport: ViewportSize = support.DESKTOP if device == "desktop" else support.PHONE
    shots = support.artifact_dir("screenshots")
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/app/surveys/{site.survey_id}")
        assert "/login" in page.url
        _check_accessibility(page)
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**/app/surveys/{site.survey_id}")
        assert page.locator("h1").inner_text() == "Delivery CSAT"
        _keyboard(page)
        # With JavaScript on, vega-embed redraws the server's SVG from the same spec.
        page.wait_for_selector('#trend-chart[data-enhanced="true"] svg')
        page.wait_for_selector('#distribution-chart[data-enhanced="true"] svg')
        _check_accessibility(page)
        assert page.locator("#trend-chart svg").count() == 1
        page.screenshot(path=str(shots / f"dashboard-{device}.png"), full_page=True)

        trend_before = page.locator("#trend-table tbody").text_content()
        chart_before = page.locator("#trend-chart").inner_html()
        # The filters are folded into one line, so the trend is on the first screen.
        summary = page.locator("details.filters > summary")
        assert "last 12 months" in summary.inner_text()
        assert not page.get_by_label("Channel", exact=True).is_visible()
        summary_box = summary.bounding_box()
        assert summary_box is not None
        assert summary_box["height"] < 100  # at most three lines, even on a phone
        if device == "desktop":
            trend_box = page.locator("#trend-chart").bounding_box()
            assert trend_box is not None
            assert trend_box["y"] < viewport["height"]
        summary.click()
        # A picker of the channels present, with their counts; no syntax to type.
        options = page.locator("#f-channel option").all_inner_texts()
        assert any(text.startswith("chat (") for text in options)
        page.get_by_label("Channel", exact=True).select_option("chat")
        page.get_by_label("Trend by", exact=True).select_option("week")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**channel=chat**")
        assert "grain=week" in page.url
        page.wait_for_selector('#trend-chart[data-enhanced="true"] svg')
        assert "months=" not in page.url  # empty fields are left out of shared links
        assert page.locator("#trend-table tbody").text_content() != trend_before
        assert page.locator("#trend-chart").inner_html() != chart_before
        assert "channel = chat" in page.locator("details.filters > summary").inner_text()
        assert page.get_by_label("Channel", exact=True).input_value() == "chat"
        page.screenshot(path=str(shots / f"dashboard-filtered-{device}.png"), full_page=True)

        links = page.locator("#distribution-table tbody a")
        link = next(
            links.nth(i) for i in range(links.count()) if int(links.nth(i).inner_text()) > 0
        )
        expected = int(link.inner_text())
        link.click()
        page.wait_for_url("**/responses?**")
        assert "channel=chat" in page.url
        _check_accessibility(page)
        rows = page.locator("#responses-table tbody tr")
        assert rows.count() == min(expected, 50)
        # Comments are text: the <b> a customer typed is shown, never made an element.
        assert page.locator("#responses-table b").count() == 0
        page.screenshot(path=str(shots / f"dashboard-responses-{device}.png"), full_page=True)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="CSV", exact=True).click()
        download = download_info.value
        saved = Path(shots.parent / f"dashboard-export-{device}.csv")
        download.save_as(saved)
        lines = saved.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("id,survey_id,submitted_at")
        assert len(lines) - 1 == expected

        _open_report(page, site, device)
        if device == "desktop":
            # The PDF is printed by the server's own Chromium: one real print is enough.
            page.go_back()
            page.get_by_label("Month", exact=True).fill(REPORT_MONTH[0])
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download as PDF").click()
            download = download_info.value
            assert download.suggested_filename == f"csat-{REPORT_MONTH[0]}-report.pdf"
            saved = Path(shots.parent / f"report-{REPORT_MONTH[0]}.pdf")
            download.save_as(saved)
            assert saved.read_bytes().startswith(b"%PDF-")
    finally:
        context.close()


def _open_report(page: Page, site: Site, device: str) -> None:
    """From the survey page: pick a month, open its report, find its headline KPI."""
    page.goto(f"{site.url}/app/surveys/{site.survey_id}")
    month, name = REPORT_MONTH
    page.get_by_label("Month", exact=True).fill(month)
    page.get_by_role("button", name="Open the report").click()
    page.wait_for_url(f"**/app/surveys/{site.survey_id}/report?month={month}")
    assert page.locator("h1").inner_text() == f"Delivery CSAT — {name}"
    kpi = page.locator(".kpi").first
    assert kpi.locator("h3").inner_text() == "CSAT (%)"
    assert kpi.locator(".value").inner_text() == _march_csat()
    assert page.locator("svg").count() >= 2  # trend and distribution, inline
    _check_accessibility(page)
    page.screenshot(
        path=str(support.artifact_dir("screenshots") / f"report-{device}.png"), full_page=True
    )


def test_dashboard_without_javascript(site: Site, browser: Browser) -> None:
    context = browser.new_context(viewport=support.DESKTOP, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/login")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/app")
        page.get_by_role("link", name="Delivery CSAT").click()
        assert page.locator("#trend-chart svg").count() >= 1  # drawn on the server
        assert page.locator("#trend-chart[data-enhanced]").count() == 0
        # Without JavaScript: open the folded panel, pick "agent = Bo" and add it.
        page.locator("details.filters > summary").click()
        option = page.locator("#f-pick option", has_text="agent = Bo (")
        page.get_by_label("Add a filter").select_option(option.get_attribute("value"))
        page.get_by_role("button", name="Add a filter").click()
        page.wait_for_url("**property.agent=Bo**")  # the plain, shareable form of the link
        assert "agent = Bo" in page.locator("details.filters > summary").inner_text()
        assert page.locator("#trend-table").count() == 1
        # A value typed in another case finds the stored one; one that matches nothing says
        # so, with the values present, instead of empty tables.
        page.goto(page.url.replace("property.agent=Bo", "property.agent=bo"))
        assert "agent = Bo" in page.locator("details.filters > summary").inner_text()
        page.goto(page.url.replace("property.agent=bo", "property.agent=Dee"))
        hint = page.locator("#no-match").inner_text()
        assert "agent = “Dee”" in hint
        assert "“Ann” (" in hint
        assert page.locator("#breakdown-table").count() == 0
        page.screenshot(path=str(support.artifact_dir("screenshots") / "dashboard-no-js.png"))
        # A goal set with the plain form: DSAT down to 5% in six months, from 12%.
        if not page.get_by_label("Name").is_visible():  # open already when there is no goal
            page.locator("details.goal-form summary").click()
        page.get_by_label("Name").fill("Fewer unhappy")
        page.get_by_label("Metric").select_option("dsat")
        page.get_by_label("Target").fill("5")
        page.get_by_label("Due in").select_option("6")
        page.get_by_label("Baseline (optional)").fill("12")
        page.get_by_role("button", name="Save the goal").click()
        page.wait_for_url("**#goals-heading")
        row = page.locator("#goals-table tbody tr").filter(has_text="Fewer unhappy")
        assert row.locator("td").first.inner_text() == "DSAT"
        page.screenshot(
            path=str(support.artifact_dir("screenshots") / "dashboard-goal-no-js.png"),
            full_page=True,
        )
        # The month picker is a plain form: the report opens without JavaScript too.
        _open_report(page, site, "no-js")
    finally:
        context.close()
