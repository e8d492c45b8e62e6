"""Every page a person sees fits a 1366 px screen and a 390 px phone, with the demo data.

The demo shop (``cxpulse.demo.seed_demo``: three surveys, a year of answers, contacts and
invitations, and the closed loop of its last month: rules, a team, cases, the alert scan)
is written into a temporary SQLite file and served by a real uvicorn; a second
live server on another origin is the shop page that embeds the widget. Chromium opens each
page at both widths and checks, with ``browser_support.fit_problems``:

- neither the document nor the body is wider than the window (the widest element that
  reaches past its right edge is named when it is), and no table or box scrolls sideways;
- no visible text, chart text included, is drawn smaller than 12 px.

Signed-in pages are visited without a goal, with filters and breakdowns, and with a goal
made through the goal form (a goal adds the widest tables); the closed loop's pages (cases,
rules, alerts) with the demo's own; the workspace's pages (the survey builder with the NPS
survey's follow-up questions, contacts, invitations, imports with the mapping steps of an
upload, settings, team, account, keys, audit log) too. The set-up page needs an empty
database: tests/browser/test_first_hour.py visits it. Each page leaves a full-page
screenshot in test-artifacts/screenshots/<page>-<width>.png, to be looked at, and the
problems of all pages are reported together, so one run lists everything left to fix.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, FilePayload, Page, ViewportSize, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select
from tests import browser_support as support

from cxpulse.collect.links import LinkSigner
from cxpulse.config import Settings
from cxpulse.demo.seed import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, seed_demo
from cxpulse.store.db import create_engine_for, session_factory
from cxpulse.store.models import (
    Alert,
    Contact,
    FollowUpCase,
    Invitation,
    Rule,
    Survey,
    SurveyQuestion,
)
from cxpulse.web import create_app

pytestmark = pytest.mark.slow

SECRET = "page-widths"
VIEWPORTS: dict[str, ViewportSize] = {"desktop": support.DESKTOP, "phone": support.PHONE}
# A view narrowed every way the filter form offers: a finer trend, a channel, a response
# property and a contact attribute. The demo has answers in all of them.
FILTERED = {
    "grain": "week",
    "channel": "email",
    "property.region": "Nordics",
    "contact.plan": "pro",
}


@dataclass(frozen=True)
class DemoSurvey:
    id: int
    slug: str
    metric: str


@dataclass(frozen=True)
class DemoLoop:
    """Ids of the demo's closed loop whose pages are visited."""

    case_ids: dict[str, int]
    """A case of each state, by state."""
    rule_ids: list[int]
    alert_id: int | None
    """The alert the scan raised, if its detector found something."""


@dataclass(frozen=True)
class DemoWorkspace:
    """Ids of the demo's objects whose workspace pages are visited."""

    contact_id: int
    question_ids: list[int]
    """The follow-up questions of the NPS survey, in asking order."""


@dataclass
class Site:
    url: str
    widget_host: str
    surveys: list[DemoSurvey]
    unsubscribe_token: str
    loop: DemoLoop
    workspace: DemoWorkspace
    browser: Browser
    shots: Path = field(default_factory=lambda: support.artifact_dir("screenshots"))


def widget_host(api_url: str) -> FastAPI:
    """A shop's page of another origin, embedding the widget of ``/?survey=<slug>``."""
    app = FastAPI()

    @app.get("/", response_class=HTMLResponse)
    def page(survey: str = "support-csat") -> str:
        script = html.escape(f"{api_url}/widget.js")
        properties = html.escape(json.dumps({"plan": "pro"}))
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Shop order</title></head>
<body><h1>Thank you for your order</h1><p>Your parcel leaves our warehouse tomorrow.</p>
<script src="{script}" data-survey="demo-shop/{html.escape(survey)}"
 data-properties="{properties}" async></script>
</body></html>"""

    return app


def _seed(url: str, host_origin: str) -> tuple[list[DemoSurvey], str, DemoLoop, DemoWorkspace]:
    """The demo shop, its surveys open to the widget host; an unsubscribe link's token; the
    pages of its closed loop and of its workspace."""
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            summary = seed_demo(session, months=12, seed=7)
            for survey in session.scalars(select(Survey)):
                options = dict(survey.collect_options or {})
                options["allowed_origins"] = [host_origin]
                survey.collect_options = options
            invitation = session.scalars(select(Invitation).order_by(Invitation.id)).first()
            assert invitation is not None, "the demo sends invitations"
            token = LinkSigner(SECRET).issue("unsubscribe", invitation.id, invitation.survey_id)
            cases: dict[str, int] = {}
            for row in session.scalars(select(FollowUpCase).order_by(FollowUpCase.id)):
                cases.setdefault(row.state, row.id)
            loop = DemoLoop(
                case_ids=cases,
                rule_ids=list(session.scalars(select(Rule.id).order_by(Rule.position))),
                alert_id=session.scalar(select(Alert.id).order_by(Alert.id).limit(1)),
            )
            contact_id = session.scalar(select(Contact.id).order_by(Contact.id).limit(1))
            assert contact_id is not None, "the demo has contacts"
            questions = session.scalars(
                select(SurveyQuestion.id).order_by(SurveyQuestion.position)
            ).all()
            workspace = DemoWorkspace(contact_id, list(questions))
            session.commit()
        found = [DemoSurvey(s.id, s.slug, s.metric) for s in summary.surveys]
        return found, token, loop, workspace
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path_factory.mktemp('page-widths') / 'cxpulse.db'}"
    engine = create_engine_for(url)
    app = create_app(Settings(database_url=url, secret_key=SECRET), engine)
    api = support.LiveServer(app)
    host = support.LiveServer(widget_host(api.url))
    try:
        with api, host:  # the app's start-up migrates the database the seed then fills
            surveys, token, loop, workspace = _seed(url, host.url)
            with sync_playwright() as playwright:
                browser = support.launch_chromium(playwright)
                try:
                    yield Site(api.url, host.url, surveys, token, loop, workspace, browser)
                finally:
                    browser.close()
    finally:
        engine.dispose()


class Visits:
    """One browser context at one width: opens pages, screenshots them, collects problems."""

    def __init__(self, site: Site, device: str) -> None:
        self.site = site
        self.viewport = VIEWPORTS[device]
        self.context = site.browser.new_context(viewport=self.viewport)
        self.page: Page = self.context.new_page()
        self.problems: list[str] = []
        self.seen: list[str] = []

    def check(self, name: str) -> None:
        """The page now open: wait for its charts, screenshot it, and note what does not fit."""
        page = self.page
        page.wait_for_load_state("load")
        # With JavaScript, vega-embed redraws each server-drawn chart: measure what a person
        # then sees. A chart it cannot redraw keeps the server's SVG, which is measured instead.
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "() => !document.querySelector('[data-spec]:not([data-enhanced])')",
                timeout=8_000,
            )
        width = self.viewport["width"]
        page.screenshot(path=str(self.site.shots / f"{name}-{width}.png"), full_page=True)
        self.problems.extend(support.fit_problems(page, name))
        self.seen.append(name)

    def visit(self, name: str, path: str, **query: str) -> None:
        target = self.site.url + path if path.startswith("/") else path
        if query:
            target += "?" + urlencode(query)
        answer = self.page.goto(target)
        assert answer is not None
        assert answer.status < 500, f"{name}: {target} answered {answer.status}"
        self.check(name)

    def log_in(self) -> None:
        self.visit("login", "/login")
        self.page.get_by_label("Email address").fill(DEMO_ADMIN_EMAIL)
        self.page.get_by_label("Password").fill(DEMO_ADMIN_PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url("**/app")

    def finish(self, what: str) -> None:
        report = support.artifact_dir() / f"page-widths-{what}-{self.viewport['width']}.txt"
        report.write_text("\n".join(self.problems or ["all pages fit"]) + "\n", encoding="utf-8")
        assert self.seen, "no page was visited"
        assert not self.problems, (
            f"{len(self.problems)} problems on {len(self.seen)} pages at "
            f"{self.viewport['width']} px:\n" + "\n".join(self.problems)
        )


@pytest.fixture(params=list(VIEWPORTS))
def visits(site: Site, request: pytest.FixtureRequest) -> Iterator[Visits]:
    opened = Visits(site, request.param)
    try:
        yield opened
    finally:
        opened.context.close()


def _survey_pages(visits: Visits, survey: DemoSurvey, suffix: str = "") -> None:
    base = f"/app/surveys/{survey.id}"
    visits.visit(f"{survey.slug}{suffix}", base)
    visits.visit(f"{survey.slug}-filtered{suffix}", base, **FILTERED)
    visits.visit(f"{survey.slug}-by-product{suffix}", base, by="property:product")


def test_signed_in_pages_without_goals(visits: Visits) -> None:
    site = visits.site
    visits.log_in()
    visits.visit("overview", "/app")
    # The demo's cases: each survey's card has its follow-up figures.
    assert visits.page.locator(".ov-follow-ups").count() == len(site.surveys)
    for survey in site.surveys:
        _survey_pages(visits, survey)
        assert visits.page.locator("#goals-table tbody tr").count() == 0, "no goal yet"
        assert visits.page.locator("#follow-ups-table").is_visible(), survey.slug
        base = f"/app/surveys/{survey.id}"
        visits.visit(f"{survey.slug}-responses", f"{base}/responses")
        visits.visit(
            f"{survey.slug}-responses-filtered",
            f"{base}/responses",
            channel="email",
            has_comment="true",
        )
        visits.visit(f"{survey.slug}-report", f"{base}/report")
    csat = site.surveys[0]
    visits.visit(f"{csat.slug}-by-team", f"/app/surveys/{csat.id}", by="property:team")
    visits.visit("sessions", "/app/sessions")
    visits.visit("problem", "/app/surveys/999999")
    visits.finish("signed-in")


def test_closed_loop_pages(visits: Visits) -> None:
    loop = visits.site.loop
    assert set(loop.case_ids) == {"new", "contacted", "resolved", "wont_fix"}
    visits.log_in()
    visits.visit("cases", "/app/cases")
    visits.visit("cases-overdue", "/app/cases", view="overdue")
    visits.visit("cases-resolved", "/app/cases", state="resolved")
    for state, case_id in sorted(loop.case_ids.items()):
        visits.visit(f"case-{state}", f"/app/cases/{case_id}")
    visits.visit("rules", "/app/rules")
    visits.visit("rule-new", "/app/rules/new")
    for index, rule_id in enumerate(loop.rule_ids):
        visits.visit(f"rule-{index + 1}", f"/app/rules/{rule_id}")
    visits.visit("alerts", "/app/alerts")
    if loop.alert_id is not None:
        visits.visit("alert", f"/app/alerts/{loop.alert_id}")
    visits.finish("closed-loop")


def _nps(site: Site) -> DemoSurvey:
    return next(survey for survey in site.surveys if survey.metric == "nps")


def _upload(visits: Visits, path: str, name: str, text: str) -> None:
    """Upload ``text`` as a CSV through the form of ``path``, as a person would."""
    page = visits.page
    page.goto(visits.site.url + path)
    chosen: FilePayload = {"name": name, "mimeType": "text/csv", "buffer": text.encode()}
    page.locator("input[type=file]").set_input_files(files=chosen)
    page.locator("form[enctype='multipart/form-data'] button[type=submit]").first.click()
    page.wait_for_load_state("load")


def _press(visits: Visits, button: str) -> None:
    visits.page.get_by_role("button", name=button, exact=True).click()
    visits.page.wait_for_load_state("load")


CONTACTS_CSV = (
    "email,name,external_id,language,plan,region\n"
    "ann.lindqvist@example.com,Ann Lindqvist,cust-90001,sv,pro,Nordics\n"
    "bo.berg@example.com,Bo Berg,cust-90002,en,free,Benelux\n"
)
ANSWERS_CSV = (
    "ticket,rating,comment,date,channel,agent\n"
    "T-1,5,Quick and friendly help with my parcel,2025-03-01 10:00,email,Ann\n"
    "T-2,2,The delivery was late and nobody told me why,2025-03-02 11:00,chat,Bob\n"
)


def test_workspace_pages(visits: Visits) -> None:
    site = visits.site
    nps = _nps(site)
    workspace = site.workspace
    assert workspace.question_ids, "the demo's NPS survey has follow-up questions"
    base = f"/app/surveys/{nps.id}"
    visits.log_in()
    visits.visit("surveys", "/app/surveys")
    visits.visit("survey-new", "/app/surveys/new")
    visits.visit(f"{nps.slug}-edit", f"{base}/edit")
    visits.visit(f"{nps.slug}-questions", f"{base}/questions")
    visits.visit(f"{nps.slug}-question", f"{base}/questions/{workspace.question_ids[0]}")
    visits.visit(f"{nps.slug}-share", f"{base}/share")
    visits.visit("contacts", "/app/contacts")
    visits.visit("contact", f"/app/contacts/{workspace.contact_id}")
    visits.visit("contact-edit", f"/app/contacts/{workspace.contact_id}/edit")
    visits.visit("contact-new", "/app/contacts/new")
    visits.visit("contacts-import", "/app/contacts/import")
    _upload(visits, "/app/contacts/import", "customers.csv", CONTACTS_CSV)
    visits.check("contacts-import-mapping")
    _press(visits, "Check every row")
    visits.check("contacts-import-check")
    visits.visit("invitations", "/app/invitations")
    visits.visit("invitations-new", "/app/invitations/new", survey=str(nps.id))
    visits.visit("invitation-email", "/app/invitations/preview", survey=str(nps.id))
    visits.visit("imports", "/app/imports")
    visits.visit("imports-new", "/app/imports/new")
    _upload(visits, f"/app/imports/new?survey={site.surveys[0].id}", "answers.csv", ANSWERS_CSV)
    visits.check("imports-mapping")
    _press(visits, "Preview")
    visits.check("imports-preview")
    visits.visit("settings", "/app/settings")
    visits.visit("team", "/app/team")
    visits.visit("account", "/app/account")
    visits.visit("keys", "/app/keys")
    visits.visit("audit", "/app/audit")
    visits.finish("workspace")


def _add_goal(visits: Visits, survey: DemoSurvey) -> None:
    """A goal through the dashboard's own form, as a manager would set one."""
    page = visits.page
    page.goto(f"{visits.site.url}/app/surveys/{survey.id}")
    name = page.get_by_label("Name", exact=True)
    if not name.is_visible():  # the form is folded away once the survey has goals
        page.locator("details.goal-form summary").click()
    name.fill(f"Better {survey.metric.upper()}")
    page.get_by_label("Target", exact=True).fill(
        {"csat": "90", "nps": "40", "ces": "6"}.get(survey.metric, "90")
    )
    page.get_by_label("Due in", exact=True).select_option(index=1)
    page.get_by_role("button", name="Save the goal").click()
    page.wait_for_url("**#goals-heading")


def _remove_goals(visits: Visits, survey: DemoSurvey) -> None:
    """Leave the survey without goals, as the next test expects."""
    page = visits.page
    page.goto(f"{visits.site.url}/app/surveys/{survey.id}")
    remove = page.locator("#goals-table").get_by_role("button", name="Remove")
    while remove.count():
        remove.first.click()
        page.wait_for_load_state("load")


def test_signed_in_pages_with_a_goal(visits: Visits) -> None:
    site = visits.site
    visits.log_in()
    try:
        for survey in site.surveys:
            _add_goal(visits, survey)
            assert visits.page.locator("#goals-table tbody tr").count() >= 1
            _survey_pages(visits, survey, "-goal")
            visits.visit(f"{survey.slug}-report-goal", f"/app/surveys/{survey.id}/report")
        visits.visit("overview-goal", "/app")
    finally:
        for survey in site.surveys:
            _remove_goals(visits, survey)
    visits.finish("goals")


def test_public_pages(visits: Visits) -> None:
    site = visits.site
    for survey in site.surveys:
        for lang in ("en", "sv", "mk"):
            visits.visit(f"survey-{survey.slug}-{lang}", f"/s/demo-shop/{survey.slug}", lang=lang)
    # Answered with the lowest and the highest score: each has its own thank-you page.
    for survey, pick in ((site.surveys[0], "first"), (site.surveys[1], "last")):
        visits.page.goto(f"{site.url}/s/demo-shop/{survey.slug}?lang=en")
        choices = visits.page.locator("input[name=score]")
        choice = choices.first if pick == "first" else choices.last
        visits.page.locator(f"label[for={choice.get_attribute('id')}]").click()
        visits.page.get_by_role("button", name="Send").click()
        visits.page.wait_for_load_state("load")
        visits.check(f"thanks-{survey.slug}-{'low' if pick == 'first' else 'high'}")
    # A helpdesk's "ticket solved" email links here with the score chosen.
    visits.visit(
        f"helpdesk-{_nps(site).slug}", f"/t/demo-shop/{_nps(site).slug}", score="4", ticket="T-1"
    )
    visits.visit("password-forgot", "/password/forgot")
    visits.visit("unsubscribe", f"/u/{site.unsubscribe_token}")
    visits.visit("survey-missing", "/s/demo-shop/no-such-survey")
    for survey in site.surveys:
        visits.page.goto(f"{site.widget_host}/?survey={survey.slug}")
        visits.page.get_by_role("region").wait_for()
        visits.check(f"widget-{survey.slug}")
    visits.finish("public")


# The phone drawing's text is 13 px at charts.NARROW_WIDTH: shown at least this wide, it
# stays at least 12 px (13 * 324 / 350 = 12.03).
NARROW_MIN_SHOWN = 324


def _phone_images_shown(page: Page, site: Site, viewport: ViewportSize, mode: str) -> None:
    images = page.locator(".chart-narrow img")
    assert images.count() == 2
    for index in range(2):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 1", arg=image.element_handle()
        )
        natural, shown = image.evaluate("(img) => [img.naturalWidth, img.clientWidth]")
        assert natural == 350
        assert NARROW_MIN_SHOWN <= shown <= viewport["width"], (natural, shown)
        assert (image.get_attribute("alt") or "").strip()
        image.screenshot(path=str(site.shots / f"chart-phone-image-{mode}-{index}.png"))
    assert page.locator(".chart-wide").first.is_hidden()


@pytest.mark.parametrize("mode", ["no-js", "js", "js-broken"])
@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_phone_chart_images(site: Site, device: str, mode: str) -> None:
    """The phone drawing of each chart is an image that only a phone needing it fetches:
    with JavaScript off (shown near 1:1, so its 13 px text stays at least 12 px, with the
    chart's description as its text alternative) or when the charts cannot be redrawn in the
    browser (here: the drawing script cannot load). A desktop never fetches it, nor does a
    phone whose charts JavaScript redraws."""
    viewport = VIEWPORTS[device]
    context = site.browser.new_context(viewport=viewport, java_script_enabled=mode != "no-js")
    try:
        page = context.new_page()
        if mode == "js-broken":
            page.route("**/static/vendor/vega-embed.js", lambda route: route.abort())
        page.goto(f"{site.url}/login")
        page.get_by_label("Email address").fill(DEMO_ADMIN_EMAIL)
        page.get_by_label("Password").fill(DEMO_ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/app")
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        survey = site.surveys[0]
        page.goto(f"{site.url}/app/surveys/{survey.id}")
        page.wait_for_load_state("load")
        if mode == "js":
            page.wait_for_function(
                "() => !document.querySelector('[data-spec]:not([data-enhanced])')"
            )
        if device == "phone" and mode != "js":
            _phone_images_shown(page, site, viewport, mode)
            assert len([url for url in fetched if "/charts/" in url]) == 2
        else:
            page.mouse.wheel(0, 4000)
            page.wait_for_timeout(500)
            assert not [url for url in fetched if "/charts/" in url]
        page.screenshot(
            path=str(site.shots / f"{survey.slug}-charts-{mode}-{viewport['width']}.png"),
            full_page=True,
        )
    finally:
        context.close()
