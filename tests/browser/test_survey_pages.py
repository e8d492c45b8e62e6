"""Survey pages in Debian's Chromium on a phone: JavaScript on and off, public and personal
links, one click from an email (also from one really delivered over SMTP), keyboard only,
labels for every input; screenshots saved."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests import browser_support as support
from tests.smtp_server import smtp_server

from cxpulse.act.worker import OutboxWorker
from cxpulse.collect.invitations import InvitationRequest, create_invitations
from cxpulse.config import Settings
from cxpulse.store import accounts, contacts, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.models import Invitation, Response
from cxpulse.web import create_app

sync_api = pytest.importorskip("playwright.sync_api")


PHONE = support.PHONE
LiveServer = support.LiveServer
artifact_dir = support.artifact_dir
launch_chromium = support.launch_chromium


@dataclass
class Site:
    url: str
    db: sessionmaker[Session]
    links: Any
    survey_id: int
    csat_id: int
    invitation_ids: list[int]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("pages") / "cxpulse.db"
    created = create_engine_for(f"sqlite:///{path}")
    migrate(created)
    try:
        yield created
    finally:
        created.dispose()


@pytest.fixture(scope="module")
def site(engine: Engine) -> Iterator[Site]:
    db = session_factory(engine)
    with db() as session:
        org = accounts.create_organisation(session, slug="shop", name="Demo Shop")
        nps = surveys.create_survey(
            session, org.id, slug="nps", name="NPS", metric="nps", status="active"
        )
        nps.collect_options = {"reasons": ["Slow delivery", "Rude staff"]}
        csat = surveys.create_survey(
            session, org.id, slug="csat", name="CSAT", metric="csat", status="active"
        )
        csat.presentation = "emoji"
        invitations = []
        for n in range(4):  # [3]: the low-score thank-you test's own
            contact = contacts.create_contact(session, org.id, email=f"c{n}@example.com")
            invitation = Invitation(
                organisation_id=org.id, survey_id=nps.id, contact_id=contact.id, status="sent"
            )
            session.add(invitation)
            invitations.append(invitation)
        session.commit()
        ids = [i.id for i in invitations]
        survey_id, csat_id = nps.id, csat.id
    settings = Settings(
        database_url=engine.url.render_as_string(False),
        secret_key="test-key",
        public_burst=1000,
        public_per_minute=1000.0,
        # The email test drives its own worker against a test SMTP server; an inline one
        # would race it for the outbox item and try port 25.
        inline_worker=False,
    )
    app = create_app(settings, engine)
    with LiveServer(app) as server:
        yield Site(server.url, db, app.state.cxpulse.links, survey_id, csat_id, ids)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, *, javascript: bool) -> Any:
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(artifact_dir("screenshots") / f"survey-{name}.png"), full_page=True)


def _responses(site: Site, **where: Any) -> list[Response]:
    with site.db() as session:
        query = select(Response)
        for name, value in where.items():
            query = query.where(getattr(Response, name) == value)
        return list(session.scalars(query))


def _check_accessible_form(page: Any) -> None:
    assert page.locator("fieldset legend").count() >= 1
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea')]
            .filter(el => el.labels === null || el.labels.length === 0).map(el => el.id)"""
    )
    assert unlabelled == []
    assert page.evaluate("document.documentElement.lang") == "en"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_public_link_on_a_phone(browser: Any, site: Site, javascript: bool) -> None:
    page = _page(browser, javascript=javascript)
    page.goto(f"{site.url}/s/shop/nps")
    _check_accessible_form(page)
    # Reasons appear only after a low score (CSS, so also without JavaScript).
    assert not page.get_by_label("Slow delivery").is_visible()
    page.get_by_role("radio", name="3", exact=True).check()
    assert page.get_by_label("Slow delivery").is_visible()
    page.get_by_label("Slow delivery").check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill(
        f"Too slow <b>{javascript}</b>"
    )
    _shot(page, f"public-{'js' if javascript else 'nojs'}")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    _shot(page, f"thanks-{'js' if javascript else 'nojs'}")
    stored = _responses(site, comment=f"Too slow <b>{javascript}</b>")
    assert len(stored) == 1
    assert stored[0].score == 3
    assert stored[0].properties == {"reasons": "Slow delivery"}
    page.context.close()


def test_one_click_from_email_with_javascript(browser: Any, site: Site) -> None:
    invitation_id = site.invitation_ids[0]
    token = site.links.issue("answer", invitation_id, site.survey_id)
    page = _page(browser, javascript=True)
    page.goto(f"{site.url}/r/{token}?score=9")
    page.get_by_text("Your answer has been recorded.").wait_for()
    (stored,) = _responses(site, invitation_id=invitation_id)
    assert stored.score == 9
    assert stored.comment is None
    # The comment step: change the score and add a comment on the same page.
    page.get_by_role("radio", name="10 – Extremely likely").check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Great service")
    _shot(page, "one-click-comment-step")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    (stored,) = _responses(site, invitation_id=invitation_id)
    assert (stored.score, stored.comment) == (10, "Great service")
    page.context.close()


def test_personal_link_without_javascript_needs_send(browser: Any, site: Site) -> None:
    invitation_id = site.invitation_ids[1]
    token = site.links.issue("answer", invitation_id, site.survey_id)
    page = _page(browser, javascript=False)
    page.goto(f"{site.url}/r/{token}?score=6")
    _check_accessible_form(page)
    assert page.get_by_role("radio", name="6", exact=True).is_checked()
    assert _responses(site, invitation_id=invitation_id) == []  # GET wrote nothing
    _shot(page, "personal-nojs")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    (stored,) = _responses(site, invitation_id=invitation_id)
    assert stored.score == 6
    page.context.close()


def test_keyboard_only(browser: Any, site: Site) -> None:
    invitation_id = site.invitation_ids[2]
    token = site.links.issue("answer", invitation_id, site.survey_id)
    page = _page(browser, javascript=True)
    page.goto(f"{site.url}/r/{token}")
    page.keyboard.press("Tab")  # the first radio of the group
    assert page.evaluate("document.activeElement.id") == "score-0"
    for _ in range(8):
        page.keyboard.press("ArrowRight")  # arrows move and select within the group
    page.keyboard.press("Space")
    assert page.evaluate("document.activeElement.id") == "score-8"
    # The focused choice has a visible outline.
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('label[for=score-8]')).outlineStyle"
    )
    assert outline == "solid"
    _shot(page, "keyboard-focus")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Thank you!").wait_for()
    (stored,) = _responses(site, invitation_id=invitation_id)
    assert stored.score == 8
    page.context.close()


def test_emoji_scale_is_named_for_screen_readers(browser: Any, site: Site) -> None:
    page = _page(browser, javascript=True)
    page.goto(f"{site.url}/s/shop/csat?lang=sv")
    assert page.evaluate("document.documentElement.lang") == "sv"
    assert page.get_by_role("radio", name="Mycket nöjd").count() == 1
    assert page.get_by_role("radio", name="Mycket missnöjd").count() == 1
    _shot(page, "emoji-sv")
    page.context.close()


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def _html_part(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_answer_from_a_delivered_email_on_a_phone(browser: Any, site: Site, engine: Engine) -> None:
    with site.db.begin() as session:
        organisation = accounts.get_organisation_by_slug(session, "shop")
        [made] = create_invitations(
            session,
            organisation.id,
            site.survey_id,
            [InvitationRequest(email="mia@example.com", name="Mia", properties={"order": 77})],
        )
        invitation_id = made.invitation.id
    with smtp_server() as smtp:
        worker = OutboxWorker(engine, smtp.settings(public_url=site.url), site.links)
        try:
            assert worker.drain().sent == 1
        finally:
            worker.connection.close()
        [received] = smtp.wait_for(1)
    assert received.recipients == ["mia@example.com"]
    message = received.parsed()
    assert message["Message-ID"].startswith(f"<cxpulse.invitation.{invitation_id}@")
    parser = _Hrefs()
    parser.feed(_html_part(message))
    scale = [h for h in parser.hrefs if h.startswith(f"{site.url}/r/")]
    assert [h.rsplit("score=", 1)[1] for h in scale] == [str(n) for n in range(11)]
    [link] = [h for h in scale if h.endswith("?score=8")]

    page = _page(browser, javascript=True)
    page.goto(link)
    assert page.get_by_role("radio", name="8", exact=True).is_checked()
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Quick delivery")
    _shot(page, "from-delivered-email")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    (stored,) = _responses(site, invitation_id=invitation_id)
    assert (stored.score, stored.comment) == (8, "Quick delivery")
    assert stored.survey_id == site.survey_id
    assert stored.properties == {"order": "77"}
    page.context.close()


# -- every presentation fits 320, 390 and 1366 px; the low-score thank-you -------------

FIT_WIDTHS = (320, 390, 1366)

# The glyphs inside their buttons, the buttons inside the page, and no sideways scrolling.
GLYPHS_FIT_JS = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) {
    problems.push('page ' + document.documentElement.scrollWidth + ' > ' + width);
  }
  for (const label of document.querySelectorAll('.choice label')) {
    const box = label.getBoundingClientRect();
    if (box.left < 0 || box.right > width + 0.5) problems.push(label.htmlFor + ' outside page');
    for (const part of label.querySelectorAll('.face, .words')) {
      const range = document.createRange();
      range.selectNodeContents(part);
      for (const glyph of range.getClientRects()) {
        if (glyph.width === 0) continue;
        if (glyph.left < box.left - 0.5 || glyph.right > box.right + 0.5 ||
            glyph.top < box.top - 0.5 || glyph.bottom > box.bottom + 0.5) {
          problems.push(label.htmlFor + ' ' + part.className + ' overflows its button');
        }
      }
    }
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def presentations(site: Site) -> dict[str, str]:
    """Slug -> path of a survey per presentation, written in English and Swedish only."""
    made = {
        "fit-nps": ("nps", 0, 10, "numbers"),
        "fit-stars": ("csat", 1, 5, "stars"),
        "fit-emoji": ("csat", 1, 5, "emoji"),
        "fit-thumbs": ("csat", 0, 1, "thumbs"),
        "fit-ces": ("ces", 1, 7, "numbers"),
    }
    with site.db() as session:
        org = accounts.get_organisation_by_slug(session, "shop")
        for slug, (metric, low, high, presentation) in made.items():
            survey = surveys.create_survey(
                session,
                org.id,
                slug=slug,
                name=slug,
                metric=metric,
                scale_low=low,
                scale_high=high,
                status="active",
                questions={
                    "en": {"question": f"How was our customer service ({slug})?"},
                    "sv": {"question": f"Hur var vår kundtjänst ({slug})?"},
                },
            )
            survey.presentation = presentation
            survey.collect_options = {
                "reasons": ["Slow answer", "Problem not solved"],
                "reasons_i18n": {"sv": ["Långsamt svar", "Problemet löstes inte"]},
            }
        session.commit()
    return {slug: f"/s/shop/{slug}" for slug in made}


@pytest.mark.parametrize("width", FIT_WIDTHS)
def test_every_presentation_fits_without_sideways_scrolling(
    browser: Any, site: Site, presentations: dict[str, str], width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    for slug, path in presentations.items():
        for language in ("en", "de", "sv"):
            page.goto(f"{site.url}{path}?lang={language}")
            low = page.locator("input[data-low]").first
            page.locator(f"label[for={low.get_attribute('id')}]").click()  # reasons shown
            assert page.evaluate(GLYPHS_FIT_JS) == [], (slug, language, width)
            assert support.fit_problems(page, f"{slug} {language}") == []
            if width in (390, 1366) and (language != "de" or slug == "fit-stars"):
                _shot(page, f"fit-{slug}-{language}-{width}")
    context.close()


def test_german_page_of_a_customised_survey_asks_its_question(
    browser: Any, site: Site, presentations: dict[str, str]
) -> None:
    page = _page(browser, javascript=True)
    page.goto(f"{site.url}{presentations['fit-stars']}?lang=de")
    question = page.locator("h1.question")
    # No German text of its own: the organisation's question, marked English for readers.
    assert question.inner_text() == "How was our customer service (fit-stars)?"
    assert question.get_attribute("lang") == "en"
    assert page.locator("html").get_attribute("lang") == "de"
    page.context.close()


def test_a_low_score_is_acknowledged_and_consent_stored(browser: Any, site: Site) -> None:
    link = site.links.issue("answer", site.invitation_ids[3], site.survey_id)
    for width in (390, 1366):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{site.url}/r/{link}?score=2&lang=de")
        consent = page.get_by_label("Darf Demo Shop Sie dazu kontaktieren?")
        consent.wait_for()
        page.get_by_role("status").filter(has_text="gespeichert").wait_for()
        consent.check()
        _shot(page, f"consent-de-{width}")
        page.get_by_role("button", name="Senden").click()
        page.get_by_text("Es tut uns leid, dass es nicht besser war.").wait_for()
        assert page.get_by_text("Sie haben Demo Shop erlaubt, Sie").is_visible()
        assert support.fit_problems(page, "thanks") == []
        _shot(page, f"thanks-low-de-{width}")
        context.close()
    (stored,) = _responses(site, invitation_id=site.invitation_ids[3])
    assert (stored.score, stored.contact_consent) == (2, True)
