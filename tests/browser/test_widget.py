"""The widget in a real Chromium, embedded in a page of ANOTHER origin (a second live server).

One cxpulse server and two host sites (each a live server on its own port, so its own
origin): ``allowed`` is in the surveys' allowed_origins, ``refused`` is not. The host pages
carry hostile CSS, to show that the Shadow DOM keeps the widget and the page apart.
SQLite is enough here: the API tests cover both databases.
"""

from __future__ import annotations

import html
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker
from tests import browser_support as support

from cxpulse.config import Settings
from cxpulse.store import accounts, surveys
from cxpulse.store.db import create_engine_for, session_factory
from cxpulse.store.models import Response
from cxpulse.web import create_app

pytestmark = pytest.mark.slow


HOSTILE_CSS = """
* { font-size: 40px !important; color: #ff00ff !important; letter-spacing: 6px !important; }
button, input, label, textarea, h2, fieldset { display: none !important; }
section { background: #ff0000 !important; }
#host-button { display: inline-block !important; }
"""


QUESTIONS: dict[str, dict[str, dict[str, str]]] = {
    # Markup in a question is the organisation's text, shown as text.
    "web-csat": {"en": {"question": "How was <b>checkout</b> at <img src=x onerror=alert(1)>?"}},
    "web-nps": {},
}


def host_app(api_url: str) -> FastAPI:
    """A shop's page embedding the widget: /?survey=web-csat&lang=sv&position=bottom-left."""
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def page(survey: str = "web-csat", lang: str | None = None, position: str | None = None) -> str:
        attributes = {
            "src": f"{api_url}/widget.js",
            "data-survey": f"acme/{survey}",
            "data-properties": json.dumps({"plan": "pro", "cart": 3}),
        }
        if lang:
            attributes["data-lang"] = lang
        if position:
            attributes["data-position"] = position
        tag = " ".join(f'{k}="{html.escape(v)}"' for k, v in attributes.items())
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Shop</title><style>{HOSTILE_CSS}</style></head>
<body><h1>Checkout complete</h1>
<p>Thank you for your order.</p>
<button id="host-button" type="button">Host button</button>
<script {tag} async></script>
</body></html>"""

    return app


@dataclass
class Site:
    api: str
    allowed: str
    refused: str
    db: sessionmaker[Any]
    browser: Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("widget") / "cxpulse.db"
    shutil.copyfile(sqlite_template, path)
    engine: Engine = create_engine_for(f"sqlite:///{path}")
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="browser-test-key")
    api = support.LiveServer(create_app(settings, engine))
    allowed = support.LiveServer(host_app(api.url))
    refused = support.LiveServer(host_app(api.url))
    db = session_factory(engine)
    with db() as session:
        organisation = accounts.create_organisation(session, slug="acme", name="Acme")
        for slug, metric in (("web-csat", "csat"), ("web-nps", "nps")):
            survey = surveys.create_survey(
                session,
                organisation.id,
                slug=slug,
                name=slug,
                metric=metric,
                status="active",
                questions=QUESTIONS[slug],
            )
            survey.collect_options = {
                "allowed_origins": [allowed.url],
                "reasons": ["Slow delivery", "Price"],
            }
        session.commit()
    try:
        with api, allowed, refused, sync_playwright() as playwright:
            browser = support.launch_chromium(playwright)
            try:
                yield Site(api.url, allowed.url, refused.url, db, browser)
            finally:
                browser.close()
    finally:
        engine.dispose()


def _responses(site: Site, **where: Any) -> list[Response]:
    with site.db() as session:
        query = select(Response).order_by(Response.id)
        for name, value in where.items():
            query = query.where(getattr(Response, name) == value)
        return list(session.scalars(query))


def _count(site: Site) -> int:
    with site.db() as session:
        return int(session.scalar(select(func.count()).select_from(Response)) or 0)


def _open(site: Site, viewport: ViewportSize, url: str, **context: Any) -> Page:
    page = site.browser.new_context(viewport=viewport, **context).new_page()
    page.goto(url)
    return page


def _channel(rgb: str) -> list[float]:
    numbers = [float(n) for n in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = []
    for value in numbers:
        c = value / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return linear


def _contrast(foreground: str, background: str) -> float:
    def luminance(rgb: str) -> float:
        r, g, b = _channel(rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _colours(page: Page, selector: str) -> tuple[str, str]:
    """Text colour and the first non-transparent background behind an element."""
    result: list[str] = page.locator(selector).first.evaluate(
        """(node) => {
            const colour = getComputedStyle(node).color;
            let at = node;
            while (at) {
                const bg = getComputedStyle(at).backgroundColor;
                if (bg && bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return [colour, bg];
                at = at.parentElement || (at.getRootNode() && at.getRootNode().host) || null;
            }
            return [colour, 'rgb(255, 255, 255)'];
        }"""
    )
    return result[0], result[1]


def _shot(page: Page, name: str) -> None:
    path = support.artifact_dir("screenshots") / f"widget-{name}.png"
    page.screenshot(path=str(path), animations="disabled")  # the prompt's rise, finished


def test_answer_on_a_phone_by_touch(site: Site) -> None:
    page = _open(
        site,
        support.PHONE,
        f"{site.allowed}/?survey=web-nps&lang=sv",
        has_touch=True,
        is_mobile=True,
    )
    region = page.get_by_role("region")
    region.wait_for()
    assert "rekommendera" in page.get_by_role("heading", level=2).inner_text()
    radios = page.get_by_role("radio")
    assert radios.count() == 11
    # Fits the phone: nothing of the prompt is outside the viewport.
    box = page.locator("section.panel").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= support.PHONE["width"]
    # Every choice is at least the 24x24 px target of WCAG 2.2 AA (ours: 44 px high).
    for n in (0, 10):
        label = page.locator(f"label[for=cxpulse-score-{n}]").bounding_box()
        assert label is not None
        assert label["width"] >= 24
        assert label["height"] >= 44
    page.locator("label[for=cxpulse-score-9]").tap()
    assert page.get_by_role("radio", name="9").is_checked()
    page.get_by_label("Något du vill berätta för oss? (valfritt)").fill("Snabb <b>leverans</b>")
    _shot(page, "phone-answering")
    page.get_by_role("button", name="Skicka").tap()
    page.get_by_text("Tack!").wait_for()
    _shot(page, "phone-thanks")
    (stored,) = _responses(site, comment="Snabb <b>leverans</b>")
    assert (stored.score, stored.language, stored.source, stored.channel) == (
        9,
        "sv",
        "widget",
        "web",
    )
    assert stored.properties == {"plan": "pro", "cart": "3", "page": f"{site.allowed}/"}
    page.context.close()


def test_answer_on_a_desktop_with_the_keyboard_only(site: Site) -> None:
    page = _open(site, support.DESKTOP, f"{site.allowed}/?position=bottom-left")
    page.get_by_role("region").wait_for()
    box = page.locator("section.panel").bounding_box()
    assert box is not None
    assert box["x"] < support.DESKTOP["width"] / 2  # data-position
    radio_focused = "() => document.activeElement?.shadowRoot?.activeElement?.name === 'score'"
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate(radio_focused):
            break
    assert page.evaluate(radio_focused), "Tab never reached the scale"
    # The focused choice shows a visible outline.
    outline = page.locator("label[for=cxpulse-score-1]").evaluate(
        "(label) => { const s = getComputedStyle(label); return s.outlineStyle + ' ' + "
        "s.outlineWidth; }"
    )
    assert outline == "solid 3px"
    for key in ("ArrowRight", "ArrowRight", "ArrowRight"):
        page.keyboard.press(key)
    assert page.get_by_role("radio", name="4").is_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("Good, but the <script>alert(1)</script> page was slow")
    page.keyboard.press("Tab")
    _shot(page, "desktop-keyboard")
    page.keyboard.press("Enter")
    page.get_by_text("Thank you!").wait_for()
    (stored,) = _responses(site, comment="Good, but the <script>alert(1)</script> page was slow")
    assert (stored.score, stored.language) == (4, "en")
    page.context.close()


def test_the_page_and_the_widget_keep_their_own_styles(site: Site) -> None:
    page = _open(site, support.DESKTOP, f"{site.allowed}/")
    page.get_by_role("region").wait_for()
    _shot(page, "desktop-hostile-css")
    # The page's CSS (40px magenta text, hidden buttons) does not reach the widget ...
    send = page.get_by_role("button", name="Send")
    assert send.is_visible()
    assert send.evaluate("(b) => getComputedStyle(b).fontSize") == "16px"
    heading = page.locator("section.panel h2")
    assert heading.inner_text() == "How was <b>checkout</b> at <img src=x onerror=alert(1)>?"
    assert heading.locator("b, img").count() == 0
    heading_colour, _ = _colours(page, "section.panel h2")
    assert heading_colour != "rgb(255, 0, 255)"
    # ... the widget's CSS does not reach the page ...
    host_button = page.locator("#host-button")
    assert host_button.evaluate("(b) => getComputedStyle(b).backgroundColor") != (
        "rgb(11, 79, 191)"
    )
    # ... and its texts meet WCAG AA contrast (4.5:1).
    for selector in ("section.panel h2", "label[for=cxpulse-score-3]", "button.send", ".anchors"):
        foreground, background = _colours(page, selector)
        assert _contrast(foreground, background) >= 4.5, (selector, foreground, background)
    page.locator("label[for=cxpulse-score-5]").click()
    foreground, background = _colours(page, "label[for=cxpulse-score-5]")
    assert _contrast(foreground, background) >= 4.5
    page.context.close()


def test_a_low_score_asks_what_went_wrong(site: Site) -> None:
    page = _open(site, support.DESKTOP, f"{site.allowed}/?lang=en")
    page.get_by_role("region").wait_for()
    reasons = page.get_by_role("group", name="What went wrong?")
    assert not reasons.is_visible()
    page.locator("label[for=cxpulse-score-2]").click()
    assert reasons.is_visible()
    page.get_by_label("Price").check()
    page.locator("label[for=cxpulse-score-5]").click()
    assert not reasons.is_visible()
    page.locator("label[for=cxpulse-score-1]").click()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Too dear")
    _shot(page, "desktop-reasons")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Thank you!").wait_for()
    (stored,) = _responses(site, comment="Too dear")
    assert stored.score == 1
    assert stored.properties["reasons"] == "Price"
    page.context.close()


def test_escape_closes_for_the_rest_of_the_session(site: Site) -> None:
    before = _count(site)
    page = _open(site, support.DESKTOP, f"{site.allowed}/")
    page.get_by_role("region").wait_for()
    page.get_by_role("button", name="Send").focus()
    page.keyboard.press("Enter")  # no choice yet
    assert page.get_by_role("status").inner_text() == "Please choose a score first."
    page.keyboard.press("Escape")
    page.get_by_role("region").wait_for(state="detached")
    assert page.evaluate("() => Object.keys(sessionStorage)") == ["cxpulse-widget:acme/web-csat"]
    assert page.evaluate("() => document.cookie") == ""
    assert page.evaluate("() => localStorage.length") == 0
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-cxpulse-widget]").count() == 0
    assert _count(site) == before
    page.context.close()


def test_a_site_not_allowed_shows_nothing_and_stores_nothing(site: Site) -> None:
    before = _count(site)
    page = _open(site, support.DESKTOP, f"{site.refused}/")
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text))
    page.reload()
    page.wait_for_load_state("networkidle")
    deadline = time.monotonic() + 5
    while not any("cxpulse widget" in text for text in warnings) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert page.locator("[data-cxpulse-widget]").count() == 0
    assert any(f"is {site.refused} among its allowed origins" in text for text in warnings), (
        warnings
    )
    # A script on that site posting directly is stopped by the server (and by CORS).
    outcome = page.evaluate(
        """async (url) => {
            try {
                const reply = await fetch(url, {method: 'POST',
                    headers: {'Content-Type': 'application/json'},
                    body: JSON.stringify({score: 5})});
                return 'status ' + reply.status;
            } catch (error) { return 'blocked'; }
        }""",
        f"{site.api}/w/acme/web-csat/responses",
    )
    assert outcome == "blocked"
    assert _count(site) == before
    page.context.close()


# Every presentation fits its buttons, the panel and the screen at 320, 390 and 1366 px

WIDGET_FIT_JS = """() => {
  const host = document.querySelector('[data-cxpulse-widget]');
  const root = host.shadowRoot;
  const panel = root.querySelector('section.panel').getBoundingClientRect();
  const width = window.innerWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > width) problems.push('page scrolls sideways');
  if (panel.left < 0 || panel.right > width + 0.5) problems.push('panel outside the screen');
  const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 &&
    a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
  let glyphs = 0;
  for (const label of root.querySelectorAll('.scale label')) {
    const box = label.getBoundingClientRect();
    if (box.left < panel.left || box.right > panel.right + 0.5) {
      problems.push(label.htmlFor + ' outside the panel');
    }
    for (const part of label.querySelectorAll('span[aria-hidden]')) {
      const range = document.createRange();
      range.selectNodeContents(part);
      for (const glyph of range.getClientRects()) {
        if (glyph.width === 0) continue;
        glyphs += 1;
        if (!inside(glyph, box)) problems.push(label.htmlFor + ' glyph overflows its button');
      }
    }
  }
  if (glyphs === 0) problems.push('no glyphs measured');
  return problems;
}"""

FIT_SURVEYS = {
    "fit-nps": ("nps", 0, 10, "numbers"),
    "fit-stars": ("csat", 1, 5, "stars"),
    "fit-emoji": ("csat", 1, 5, "emoji"),
    "fit-thumbs": ("csat", 0, 1, "thumbs"),
    "fit-ces": ("ces", 1, 7, "numbers"),
}


@pytest.fixture(scope="module")
def fit_surveys(site: Site) -> list[str]:
    with site.db() as session:
        organisation = accounts.get_organisation_by_slug(session, "acme")
        for slug, (metric, low, high, presentation) in FIT_SURVEYS.items():
            survey = surveys.create_survey(
                session,
                organisation.id,
                slug=slug,
                name=slug,
                metric=metric,
                scale_low=low,
                scale_high=high,
                status="active",
            )
            survey.presentation = presentation
            survey.collect_options = {
                "allowed_origins": [site.allowed],
                "reasons": ["Slow answer", "Problem not solved"],
            }
        session.commit()
    return list(FIT_SURVEYS)


@pytest.mark.parametrize("width", [320, 390, 1366])
def test_every_presentation_fits_at_every_width(
    site: Site, fit_surveys: list[str], width: int
) -> None:
    viewport: ViewportSize = {"width": width, "height": 844 if width < 1000 else 900}
    for slug in fit_surveys:
        for language in ("en", "de"):
            # A new context each time: an answered prompt stays away for the session.
            page = _open(site, viewport, f"{site.allowed}/?survey={slug}&lang={language}")
            page.get_by_role("region").wait_for()
            page.locator("label[for^=cxpulse-score-]").first.click()  # a low score
            assert page.evaluate(WIDGET_FIT_JS) == [], (slug, language, width)
            if width in (390, 1366) and language == "en":
                _shot(page, f"fit-{slug}-{width}")
            page.context.close()


def test_stars_fill_up_to_the_chosen_one(site: Site, fit_surveys: list[str]) -> None:
    page = _open(site, support.PHONE, f"{site.allowed}/?survey=fit-stars")
    page.get_by_role("region").wait_for()
    page.locator("label[for=cxpulse-score-4]").click()
    colours = [
        page.locator(f"label[for=cxpulse-score-{n}]").evaluate(
            "(label) => getComputedStyle(label).color"
        )
        for n in range(1, 6)
    ]
    filled = "rgb(138, 90, 0)"
    assert [colour == filled for colour in colours] == [True, True, True, True, False]
    assert page.get_by_role("radio", name="4 stars").is_checked()
    _shot(page, "stars-four-390")
    page.context.close()


def test_a_low_score_asks_consent_and_the_thanks_say_what_happens(
    site: Site, fit_surveys: list[str]
) -> None:
    for viewport, name in ((support.PHONE, "390"), (support.DESKTOP, "1366")):
        page = _open(site, viewport, f"{site.allowed}/?survey=fit-stars")
        page.get_by_role("region").wait_for()
        consent = page.get_by_label("May Acme contact you about this?")
        assert not consent.is_visible()
        page.locator("label[for=cxpulse-score-1]").click()
        consent.check()
        _shot(page, f"consent-{name}")
        page.get_by_role("button", name="Send").click()
        page.get_by_text("We are sorry it was not better.").wait_for()
        assert page.get_by_text("You allowed Acme to contact you").is_visible()
        _shot(page, f"thanks-low-{name}")
        page.context.close()
    with site.db() as session:
        survey = surveys.get_survey_by_slug(
            session, accounts.get_organisation_by_slug(session, "acme").id, "fit-stars"
        )
        stored = session.scalars(
            select(Response).where(
                Response.survey_id == survey.id, Response.contact_consent.is_not(None)
            )
        ).all()
    assert [(r.score, r.contact_consent) for r in stored] == [(1.0, True), (1.0, True)]
