"""Unsubscribes: the API's opt-out, and the page behind an email's unsubscribe link, whose
GET only shows a button and whose POST (the button, or RFC 8058 one-click) unsubscribes."""

from __future__ import annotations

import email
import email.policy
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store.models import Invitation, Survey, Unsubscribe
from cxpulse.web.state import AppState

from ..helpers import World, bearer
from .mail_support import PUBLIC_URL, email_parts, invitations_url, survey_row

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def test_unsubscribes_decide_at_once(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    url = invitations_url(world.a.survey_id)
    done = client.post("/api/v1/unsubscribes", json={"email": "Gone@Example.com"}, headers=key)
    assert done.status_code == 201
    assert done.json() == {"email": "gone@example.com", "created": True}
    repeat = client.post("/api/v1/unsubscribes", json={"email": "gone@example.com"}, headers=key)
    assert repeat.status_code == 200
    later = client.post(url, json={"email": "gone@example.com"}, headers=key).json()
    assert later["items"][0]["status"] == "unsubscribed"


def test_unsubscribe_link_and_one_click_are_honoured(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    key = bearer(world.a.write_key)
    client.post(
        invitations_url(world.a.survey_id), json={"email": "leave@example.com"}, headers=key
    )
    worker.drain()
    [received] = server.wait_for(1)
    header = received.parsed()["List-Unsubscribe"]
    path = urlsplit(header.strip("<>")).path
    page = client.get(path)
    assert page.status_code == 200
    assert 'method="post"' in page.text
    assert "leave@example.com" in page.text
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Unsubscribe)) == 0
    one_click = client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200
    confirm = client.post(path)
    assert confirm.status_code == 200
    assert "leave@example.com" in confirm.text
    with db() as session:
        [row] = session.scalars(select(Unsubscribe)).all()
        assert (row.email, row.source) == ("leave@example.com", "list-unsubscribe")
    # Later invitations to the address are never sent.
    with db() as session:
        survey_row(session, world.a.survey_id).throttle_days = 0
        session.commit()
    later = client.post(
        invitations_url(world.a.survey_id), json={"email": "leave@example.com"}, headers=key
    )
    assert later.json()["items"][0]["status"] == "unsubscribed"
    assert worker.drain().sent == 0
    assert len(server.received) == 1
    broken = client.get(path[:-3] + "xyz")
    assert broken.status_code == 404
    assert "damaged" in broken.text


def test_unsubscribe_page_in_a_real_browser_without_javascript(
    app: FastAPI,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
    database_kind: str,
) -> None:
    if database_kind != "sqlite":
        pytest.skip("one database is enough for the page itself")
    from playwright.sync_api import sync_playwright
    from tests import browser_support as support

    from cxpulse.collect.invitations import InvitationRequest, create_invitations
    from cxpulse.collect.mailer import compose
    from cxpulse.store.models import Contact

    with support.LiveServer(app) as live, sync_playwright() as playwright:
        with db.begin() as session:
            request = InvitationRequest(email="phone@example.com", language="nl")
            create_invitations(session, world.a.id, world.a.survey_id, [request])
        worker.drain()
        [received] = server.wait_for(1)
        path = urlsplit(received.parsed()["List-Unsubscribe"].strip("<>")).path
        browser = support.launch_chromium(playwright)
        try:
            context = browser.new_context(
                java_script_enabled=False, viewport={"width": 375, "height": 700}
            )
            page = context.new_page()
            page.goto(live.url + path)
            assert page.locator("html").get_attribute("lang") == "nl"
            assert page.locator("h1").inner_text() == "Afmelden"
            button = page.get_by_role("button", name="Ja, meld mij af")
            page.keyboard.press("Tab")
            assert button.evaluate("element => element === document.activeElement")
            page.screenshot(path=support.artifact_dir("screenshots") / "unsubscribe-phone.png")
            page.keyboard.press("Enter")
            page.wait_for_load_state()
            status = page.get_by_role("status")
            assert "U bent afgemeld" in status.inner_text()
            assert "phone@example.com" in status.inner_text()
            # The email itself: an NPS scale of eleven links fits a phone without scrolling.
            nps = Survey(
                id=99,
                metric="nps",
                scale_low=0,
                scale_high=10,
                questions={},
                default_language="en",
                presentation="numbers",
                collect_options={},
            )
            invitation = Invitation(id=1, survey_id=99, language="mk")
            contact = Contact(id=1, email="phone@example.com", name="Марија")
            state: AppState = app.state.cxpulse
            composed = compose(
                invitation,
                contact,
                nps,
                "Org-A",
                links=state.links,
                settings=server.settings(public_url=PUBLIC_URL),
            )
            html = email_parts(
                email.message_from_bytes(composed.data, policy=email.policy.default)
            )[1]
            # A fresh page: the unsubscribe page's CSP would block the email's inline styles.
            page = context.new_page()
            page.set_content(html)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            assert page.locator("a[href*='/r/']").count() == 11
            first_link = page.locator("a[href*='/r/']").first.bounding_box()
            assert first_link is not None
            assert first_link["height"] >= 24  # WCAG 2.2 target size
            page.screenshot(path=support.artifact_dir("screenshots") / "invitation-nps-phone.png")
        finally:
            browser.close()
    with db() as session:
        [row] = session.scalars(select(Unsubscribe)).all()
    assert (row.email, row.source) == ("phone@example.com", "link")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("gone@example.com\nBcc: x@example.com", "control character U+000A"),
        ("gone\x01@example.com", "control character U+0001"),
        ("gone\x00@example.com", "control character U+0000"),
        ("gone\u200b@example.com", "invisible character (U+200B zero width space)"),
        ("göne@example.com", "only ASCII letters, digits and punctuation before the @"),
        ("gone", "needs exactly one @"),
    ],
)
def test_the_api_refuses_what_is_no_address(
    client: TestClient, world: World, db: sessionmaker[Session], value: str, problem: str
) -> None:
    """Defect 10: any string, line breaks included, was stored as an unsubscribe."""
    refused = client.post(
        "/api/v1/unsubscribes", json={"email": value}, headers=bearer(world.a.write_key)
    )
    assert refused.status_code == 422
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "email"]
    assert problem in detail["msg"]
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Unsubscribe)) == 0


def test_every_spelling_of_an_address_is_one_unsubscribe(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    first = client.post("/api/v1/unsubscribes", json={"email": "Gone@B\u00dcCHER.de"}, headers=key)
    assert first.status_code == 201
    assert first.json() == {"email": "gone@xn--bcher-kva.de", "created": True}
    for spelling in ["gone@bücher.de", "\uff47one@bu\u0308cher.de", " GONE@XN--BCHER-KVA.DE "]:
        again = client.post("/api/v1/unsubscribes", json={"email": spelling}, headers=key)
        assert (again.status_code, again.json()["created"]) == (200, False)
    later = client.post(
        invitations_url(world.a.survey_id), json={"email": "GONE@bücher.de"}, headers=key
    ).json()
    assert later["items"][0]["status"] == "unsubscribed"
