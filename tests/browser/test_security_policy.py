"""The Content-Security-Policy in a real Chromium: every page works under it, and the browser
reports no violation.

The pages allow scripts and styles from the server's own files only: no inline script, no
eval, no inline style (web/security_headers.py). Chromium reports each blocked thing as a
``securitypolicyviolation`` event, which a script added before the page's own collects. Pages:
the login page, the dashboard (its charts redrawn by vega-embed, with a tooltip), the monthly
report, a survey page, the API docs, and the widget on a shop page of another origin whose
own policy is as strict. SQLite is enough: the policy does not depend on the database.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, sync_playwright
from tests import browser_support as support

from cxpulse.config import Settings
from cxpulse.store import accounts, responses, security, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.models import User
from cxpulse.web import create_app

pytestmark = pytest.mark.slow

EMAIL = "analyst@policy.example"
PASSWORD = "content security policy"
START = datetime(2025, 1, 1, 8, tzinfo=UTC)

COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(
    event.violatedDirective + " blocked " + (event.blockedURI || "inline") + " at " +
    event.sourceFile + ":" + event.lineNumber);
});
"""


@dataclass(frozen=True)
class Site:
    url: str
    shop: str
    survey_id: int


def _seed(url: str) -> int:
    engine = create_engine_for(url)
    try:
        migrate(engine)
        with session_factory(engine)() as session:
            org = accounts.create_organisation(session, slug="policy", name="Policy Shop")
            session.add(
                User(
                    organisation_id=org.id,
                    email=EMAIL,
                    role="analyst",
                    password_hash=security.hash_password(PASSWORD),
                )
            )
            survey = surveys.create_survey(
                session, org.id, slug="csat", name="Policy CSAT", metric="csat", status="active"
            )
            responses.add_responses(
                session,
                org.id,
                [
                    responses.NewResponse(
                        survey_id=survey.id,
                        score=float(1 + n % 5),
                        submitted_at=START + timedelta(days=n),
                        channel=("email", "chat")[n % 2],
                        comment="<script>alert(1)</script>" if n % 7 == 0 else None,
                    )
                    for n in range(120)
                ],
            )
            session.commit()
            return survey.id
    finally:
        engine.dispose()


def shop_app(api_url: str) -> FastAPI:
    """A shop's page embedding the widget, under a policy that allows no inline style or
    script: only cxpulse's script and its answers."""
    app = FastAPI()
    policy = (
        f"default-src 'self'; script-src 'self' {api_url}; connect-src {api_url}; "
        "style-src 'self'; frame-ancestors 'none'"
    )

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        tag = f'src="{html.escape(api_url)}/widget.js" data-survey="policy/csat"'
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>'
            f"</head><body><h1>Thank you</h1><script {tag} async></script></body></html>"
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})

    return app


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('policy') / 'cxpulse.db'}"
    survey_id = _seed(url)
    engine = create_engine_for(url)
    app = create_app(Settings(database_url=url, secret_key="policy-browser-test"), engine)
    try:
        with support.LiveServer(app) as server, support.LiveServer(shop_app(server.url)) as shop:
            with session_factory(engine)() as session:
                org = accounts.get_organisation_by_slug(session, "policy")
                survey = surveys.get_survey(session, org.id, survey_id)
                survey.collect_options = {"allowed_origins": [shop.url]}
                session.commit()
            yield Site(server.url, shop.url, survey_id)
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


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=support.DESKTOP)
    context.add_init_script(COLLECT_VIOLATIONS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        yield opened
        assert errors == []
    finally:
        context.close()


def _violations(page: Page) -> list[str]:
    found: list[str] = page.evaluate("() => window.__violations")
    return found


def _log_in(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login")
    assert _violations(page) == []
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/app")
    assert _violations(page) == []


def test_dashboard_charts_draw_under_the_policy(site: Site, page: Page) -> None:
    _log_in(page, site)
    page.goto(f"{site.url}/app/surveys/{site.survey_id}")
    # vega-embed replaced the server's SVG: it ran, without eval and without inline style.
    page.wait_for_selector('#trend-chart[data-enhanced="true"] svg')
    page.wait_for_selector('#distribution-chart[data-enhanced="true"] svg')
    bar = page.locator("#distribution-chart svg .mark-rect path").first
    bar.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element.visible")
    tooltip.wait_for()
    assert "Answers" in tooltip.inner_text()
    # Styled by app.css (the tooltip's own <style> is refused by the policy, so it is off).
    assert tooltip.evaluate("(node) => getComputedStyle(node).position") == "fixed"
    page.screenshot(path=str(support.artifact_dir("screenshots") / "policy-dashboard.png"))
    page.goto(f"{site.url}/app/surveys/{site.survey_id}/responses")
    page.locator("#responses-table").wait_for()
    assert _violations(page) == []


def test_report_and_docs_under_their_policies(site: Site, page: Page) -> None:
    _log_in(page, site)
    page.goto(f"{site.url}/app/surveys/{site.survey_id}/report?month=2025-02")
    assert page.locator("svg").count() >= 2
    page.goto(f"{site.url}/docs")
    # Swagger UI started from /static/api-docs.js, not from an inline script.
    page.locator("#swagger-ui .swagger-ui").wait_for()
    assert _violations(page) == []


def test_survey_page_under_the_policy(site: Site, page: Page) -> None:
    page.goto(f"{site.url}/s/policy/csat")
    page.get_by_role("radio").first.wait_for()
    assert _violations(page) == []


def test_widget_on_a_shop_with_a_strict_policy(site: Site, page: Page) -> None:
    """The widget's styles are a constructed style sheet and CSSOM properties, which a site's
    policy without 'unsafe-inline' still allows: the prompt keeps its looks there."""
    page.goto(site.shop)
    region = page.get_by_role("region")
    region.wait_for()
    panel = page.locator("section.panel")
    assert panel.evaluate("(node) => getComputedStyle(node).position") == "fixed"
    columns = page.locator(".scale").evaluate(
        "(node) => getComputedStyle(node).gridTemplateColumns"
    )
    assert len(columns.split()) == 5  # --count from the CSSOM: one column per choice
    page.locator("label[for=cxpulse-score-4]").click()
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thank you").first.wait_for()
    assert _violations(page) == []
