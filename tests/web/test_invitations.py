"""Invitations through the API, the emails they become, and the links in those emails.

The app runs without its inline worker; each test drives an ``OutboxWorker`` against a real
SMTP server (aiosmtpd on loopback), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer, smtp_server

from cxpulse.act.worker import OutboxWorker
from cxpulse.store import responses
from cxpulse.store.models import Invitation, Response, Survey, Unsubscribe
from cxpulse.web.state import AppState

from .helpers import World, bearer

PUBLIC_URL = "https://cx.example"


@pytest.fixture(autouse=True)
def no_inline_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "false")


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def worker(engine: Engine, app: FastAPI, server: SmtpTestServer) -> Iterator[OutboxWorker]:
    state: AppState = app.state.cxpulse
    made = OutboxWorker(engine, server.settings(public_url=PUBLIC_URL), state.links)
    yield made
    made.connection.close()


def _survey(session: Session, survey_id: int) -> Survey:
    found = session.get(Survey, survey_id)
    assert found is not None
    return found


def _url(survey_id: int) -> str:
    return f"/api/v1/surveys/{survey_id}/invitations"


def test_one_invitation_and_an_idempotent_retry(client: TestClient, world: World) -> None:
    body = {
        "email": "new@example.com",
        "name": "Nova",
        "properties": {"ticket": 4711, "agent": "Sam"},
        "idempotency_key": "ticket-4711",
    }
    first = client.post(_url(world.a.survey_id), json=body, headers=bearer(world.a.write_key))
    assert first.status_code == 201, first.text
    [made] = first.json()["items"]
    assert made["status"] == "scheduled"
    assert made["properties"] == {
        "ticket": "4711",
        "agent": "Sam",
    }
    again = client.post(_url(world.a.survey_id), json=body, headers=bearer(world.a.write_key))
    assert again.status_code == 200
    assert again.json() == {"items": [made], "created": 0}
    listed = client.get(_url(world.a.survey_id), headers=bearer(world.a.read_key)).json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]


def test_batch_with_delays_and_field_errors(client: TestClient, world: World) -> None:
    url = _url(world.a.survey_id)
    at = datetime.now(UTC) + timedelta(days=3)
    ok = client.post(
        url,
        json={
            "items": [
                {"external_id": "shop-1", "email": "s1@example.com", "delay": "24h"},
                {"contact_id": world.a.contact_id, "send_at": at.isoformat()},
            ]
        },
        headers=bearer(world.a.write_key),
    )
    assert ok.status_code == 201, ok.text
    first, second = ok.json()["items"]
    delay = datetime.fromisoformat(first["send_at"]) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < delay <= timedelta(hours=24)
    assert abs(datetime.fromisoformat(second["send_at"]) - at) < timedelta(seconds=1)
    bad = client.post(
        url,
        json={"items": [{"email": "x@example.com"}, {"email": "y@example.com", "delay": "soon"}]},
        headers=bearer(world.a.write_key),
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "items", 1, "delay"]
    nobody = client.post(url, json={"name": "No address"}, headers=bearer(world.a.write_key))
    assert nobody.status_code == 422
    unknown = client.post(url, json={"contact_id": 999999}, headers=bearer(world.a.write_key))
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "items", 0, "contact_id"]
    # Nothing of the refused batches was stored.
    listed = client.get(url, headers=bearer(world.a.read_key)).json()["items"]
    assert len(listed) == 2


def test_organisations_cannot_see_or_invite_for_each_other(
    client: TestClient, world: World
) -> None:
    made = client.post(
        _url(world.b.survey_id), json={"email": "b@example.com"}, headers=bearer(world.b.write_key)
    ).json()["items"][0]
    key = bearer(world.a.write_key)
    assert (
        client.post(_url(world.b.survey_id), json={"email": "a@x.example"}, headers=key).status_code
        == 404
    )
    assert client.get(_url(world.b.survey_id), headers=key).status_code == 404
    assert client.get(f"/api/v1/invitations/{made['id']}", headers=key).status_code == 404
    assert client.post(f"/api/v1/invitations/{made['id']}/cancel", headers=key).status_code == 404
    rates = f"/api/v1/surveys/{world.b.survey_id}/response-rates"
    assert client.get(rates, headers=key).status_code == 404
    # Naming org B's contact by id from org A finds nothing either.
    other = client.post(
        _url(world.a.survey_id), json={"contact_id": world.b.contact_id}, headers=key
    )
    assert other.status_code == 422
    # A read key may look but not invite.
    read = bearer(world.a.read_key)
    assert (
        client.post(
            _url(world.a.survey_id), json={"email": "r@x.example"}, headers=read
        ).status_code
        == 403
    )


def test_throttling_and_unsubscribes_decide_at_once(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    url = _url(world.a.survey_id)
    first = client.post(url, json={"contact_id": world.a.contact_id}, headers=key).json()
    second = client.post(url, json={"contact_id": world.a.contact_id}, headers=key).json()
    assert first["items"][0]["status"] == "scheduled"
    assert second["items"][0]["status"] == "throttled"
    assert "30 days" in second["items"][0]["reason"]
    done = client.post("/api/v1/unsubscribes", json={"email": "Gone@Example.com"}, headers=key)
    assert done.status_code == 201
    assert done.json() == {"email": "gone@example.com", "created": True}
    repeat = client.post("/api/v1/unsubscribes", json={"email": "gone@example.com"}, headers=key)
    assert repeat.status_code == 200
    later = client.post(url, json={"email": "gone@example.com"}, headers=key).json()
    assert later["items"][0]["status"] == "unsubscribed"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(str(found["href"]))
        if tag == "img" and found.get("src"):
            self.images.append(str(found["src"]))


def _parts(message: object) -> tuple[str, str]:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    return str(plain.get_content()), str(html.get_content())


def test_emails_in_the_contacts_language_and_a_prefetcher_changes_nothing(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    key = bearer(world.a.write_key)
    items = [
        {"email": "sv@example.com", "name": "Sven", "locale": "sv-SE"},
        {"email": "mk@example.com", "name": "Марија", "language": "mk"},
        {"email": "en@example.com", "name": "<b>Eve</b>"},
    ]
    made = client.post(_url(world.a.survey_id), json={"items": items}, headers=key).json()["items"]
    assert worker.drain().sent == 3
    by_recipient = {r.recipients[0]: r.parsed() for r in server.wait_for(3)}
    swedish = by_recipient["sv@example.com"]
    assert swedish["Subject"] == "Org-A vill gärna höra vad du tycker"
    assert swedish["Content-Language"] == "sv"
    assert swedish["Message-ID"] == f"<cxpulse.invitation.{made[0]['id']}@acme.example>"
    assert swedish["From"] == "Acme Surveys <surveys@acme.example>"
    assert swedish["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https://cx\.example/u/[^>]+)>", swedish["List-Unsubscribe"])
    assert unsubscribe is not None
    plain, html = _parts(swedish)
    assert "Hej Sven," in plain
    assert "Hur nöjd är du med Org-A?" in html
    assert "Mycket missnöjd" in plain
    macedonian = _parts(by_recipient["mk@example.com"])
    assert "Здраво Марија," in macedonian[0]
    english_plain, english_html = _parts(by_recipient["en@example.com"])
    assert "&lt;b&gt;Eve&lt;/b&gt;" in english_html
    assert "<b>Eve" not in english_html
    assert "Hello <b>Eve</b>," in english_plain  # plain text is not HTML

    # Every link of every email, fetched as a mail scanner would: GET only, no forms.
    parser = _Links()
    for message in by_recipient.values():
        parser.feed(_parts(message)[1])
    answer_links = [h for h in parser.hrefs if "/r/" in h]
    assert len(answer_links) == 3 * 5
    assert all(re.search(r"\?score=[1-5]$", h) for h in answer_links)
    unsubscribe_links = [h for h in parser.hrefs if "/u/" in h]
    assert len(unsubscribe_links) == 3
    assert len(parser.hrefs) == len(answer_links) + len(unsubscribe_links)
    assert parser.images == []  # no open tracking unless the survey asks for it
    for href in parser.hrefs:
        parts = urlsplit(href)
        assert parts.netloc == "cx.example"
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # The answer page (with the score chosen) and the unsubscribe page both answer 200
        # to a GET, without a redirect that could land anywhere.
        fetched = client.get(path, follow_redirects=False)
        assert fetched.status_code == 200, (href, fetched.status_code, fetched.text[:200])
        assert 'method="post"' in fetched.text, href
    with db() as session:
        count = session.scalar(
            select(func.count()).select_from(Response).where(Response.invitation_id.is_not(None))
        )
        unsubscribed = session.scalar(select(func.count()).select_from(Unsubscribe))
    assert count == 0
    assert unsubscribed == 0


def test_unsubscribe_link_and_one_click_are_honoured(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    key = bearer(world.a.write_key)
    client.post(_url(world.a.survey_id), json={"email": "leave@example.com"}, headers=key)
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
        _survey(session, world.a.survey_id).throttle_days = 0
        session.commit()
    later = client.post(_url(world.a.survey_id), json={"email": "leave@example.com"}, headers=key)
    assert later.json()["items"][0]["status"] == "unsubscribed"
    assert worker.drain().sent == 0
    assert len(server.received) == 1
    broken = client.get(path[:-3] + "xyz")
    assert broken.status_code == 404
    assert "damaged" in broken.text


def test_response_rates_count_answers_through_invitations(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    db: sessionmaker[Session],
) -> None:
    key = bearer(world.a.write_key)
    items = [{"email": f"r{n}@example.com"} for n in range(4)]
    made = client.post(_url(world.a.survey_id), json={"items": items}, headers=key).json()["items"]
    worker.drain()
    with db() as session:
        for n, invitation in enumerate(made[:2]):
            responses.add_responses(
                session,
                world.a.id,
                [
                    responses.NewResponse(
                        survey_id=world.a.survey_id,
                        score=5,
                        comment="great" if n == 0 else None,
                        invitation_id=invitation["id"],
                        source="email",
                    )
                ],
            )
        session.commit()
    answer = client.get(
        f"/api/v1/surveys/{world.a.survey_id}/response-rates?period=month", headers=key
    )
    assert answer.status_code == 200, answer.text
    [row] = answer.json()["rows"]
    assert (row["invited"], row["sent"], row["answered"], row["commented"]) == (4, 4, 2, 1)
    assert row["response_rate"]["value"] == 0.5
    assert row["response_rate"]["low"] < 0.5 < row["response_rate"]["high"]
    assert row["comment_rate"]["value"] == 0.5
    assert row["period"] == datetime.now(UTC).strftime("%Y-%m")
    bad = client.get(f"/api/v1/surveys/{world.a.survey_id}/response-rates?period=hour", headers=key)
    assert bad.status_code == 422


def test_open_pixel_only_when_tracking_is_on(
    client: TestClient,
    world: World,
    worker: OutboxWorker,
    server: SmtpTestServer,
    db: sessionmaker[Session],
) -> None:
    with db() as session:
        _survey(session, world.a.survey_id).collect_options = {"track_opens": True}
        session.commit()
    key = bearer(world.a.write_key)
    made = client.post(_url(world.a.survey_id), json={"email": "o@example.com"}, headers=key)
    worker.drain()
    parser = _Links()
    parser.feed(_parts(server.wait_for(1)[0].parsed())[1])
    [pixel] = parser.images
    answer = client.get(urlsplit(pixel).path)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    with db() as session:
        invitation = session.get(Invitation, made.json()["items"][0]["id"])
        assert invitation is not None
        assert invitation.opened_at is not None


def test_contacts_from_csv(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    good = "external_id,email,name,locale,plan\nc-1,,Renamed,sv,gold\n,z@example.com,Zed,,basic\n"
    answer = client.post(
        "/api/v1/contacts/import", files={"file": ("contacts.csv", good, "text/csv")}, headers=key
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 1, "updated": 1, "invalid": 0, "problems": []}
    contact = client.get(f"/api/v1/contacts/{world.a.contact_id}", headers=key).json()
    assert contact["name"] == "Renamed"
    assert contact["attributes"] == {"plan": "gold"}
    bad = "external_id,email\nc-9,not-an-address\n,\n,x@example.com,extra\n"
    refused = client.post(
        "/api/v1/contacts/import", files={"file": ("c.csv", bad, "text/csv")}, headers=key
    )
    assert refused.status_code == 422
    locs = [p["loc"] for p in refused.json()["detail"]]
    assert locs == [["body", "file", "line", 2, "email"], ["body", "file", "line", 4, "*"]]
    upload = client.post(
        f"/api/v1/surveys/{world.a.survey_id}/invitations/upload",
        files={"file": ("i.csv", "email,delay\nu1@example.com,2d\nu2@example.com,\n", "text/csv")},
        headers=key,
    )
    assert upload.status_code == 201, upload.text
    assert [i["status"] for i in upload.json()["items"]] == ["scheduled", "scheduled"]


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
            html = _parts(email.message_from_bytes(composed.data, policy=email.policy.default))[1]
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
