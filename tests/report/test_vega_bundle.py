"""The vega-embed bundle the web app serves: committed, current, offline, and drawing."""

from __future__ import annotations

import re

import pytest
from tests import browser_support as support

from cxpulse.report import charts
from cxpulse.report import vega_bundle as bundle
from cxpulse.report.charts import TrendPoint

POINTS = [
    TrendPoint("2026-09", 44.25, 38.0, 50.5, 310, False),
    TrendPoint("2026-10", 47.0, 41.2, 52.8, 402, False),
]


def test_committed_javascript_bundle_matches_the_installed_vl_convert() -> None:
    first_line = bundle.VENDOR_BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first_line == bundle.bundle_versions(), (
        "report/static/vendor/vega-embed.js is stale: run "
        "`python -c 'from cxpulse.report.vega_bundle import write_javascript_bundle as w; w()'`"
    )
    text = bundle.VENDOR_BUNDLE.read_text(encoding="utf-8")
    assert "window.vegaEmbed=" in text
    assert not re.search(r"""import\s*\(?\s*["']https?://""", text)


@pytest.mark.slow
def test_committed_javascript_bundle_is_exactly_what_vl_convert_generates() -> None:
    assert bundle.VENDOR_BUNDLE.read_text(encoding="utf-8") == bundle.javascript_bundle()


@pytest.mark.slow
def test_bundle_draws_a_spec_in_chromium_without_the_network() -> None:
    from playwright.sync_api import Route, sync_playwright

    spec = charts.trend_spec(POINTS, metric_label="NPS", goal=charts.goal_line(50.0))
    requested: list[str] = []

    def refuse(route: Route) -> None:
        requested.append(route.request.url)
        route.abort()

    with sync_playwright() as playwright:
        browser = support.launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.route("**/*", refuse)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.set_content('<main><div id="chart"></div></main>')
            page.add_script_tag(path=str(bundle.VENDOR_BUNDLE))
            page.evaluate(
                "spec => vegaEmbed('#chart', spec, {renderer: 'svg', actions: false})"
                ".then(() => true)",
                spec,
            )
            page.wait_for_selector("#chart svg .mark-text text")
            texts = page.locator("#chart svg text").all_text_contents()
            shots = support.artifact_dir("screenshots")
            page.screenshot(path=str(shots / "charts-trend-embed.png"))
        finally:
            browser.close()
    assert errors == []
    assert requested == []
    for expected in ("n=310", "n=402", "Goal 50.0", "Oct"):
        assert expected in texts, expected


def test_the_bundle_is_a_file_of_the_report_stage() -> None:
    # Nothing below the web stage writes into web/: the web app serves this folder.
    assert bundle.VENDOR_BUNDLE.is_relative_to(bundle.STATIC_DIR)
    assert bundle.STATIC_DIR.parent.name == "report"
    assert bundle.write_javascript_bundle.__defaults__ == (bundle.VENDOR_BUNDLE,)
