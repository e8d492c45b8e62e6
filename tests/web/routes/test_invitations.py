"""Invitations through the API, one, a batch or a CSV file at a time, and the emails they
become (whose every link a mail scanner may fetch without changing anything).

The app runs without its inline worker; tests that send drive an ``OutboxWorker`` against a
real SMTP server (aiosmtpd on loopback), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store.models import Response, Unsubscribe

from ..helpers import World, bearer
from .mail_support import Links, email_parts, invitations_url

pytestmark = pytest.mark.usefixtures("no_inline_worker")


def test_one_invitation_and_an_idempotent_retry(client: TestClient, world: World) -> None:
    body = {
        "email": "new@example.com",
        "name": "Nova",
        "properties": {"ticket": 4711, "agent": "Sam"},
        "idempotency_key": "ticket-4711",
    }
    first = client.post(
        invitations_url(world.a.survey_id), json=body, headers=bearer(world.a.write_key)
    )
    assert first.status_code == 201, first.text
    [made] = first.json()["items"]
    assert made["status"] == "scheduled"
    assert made["properties"] == {
        "ticket": "4711",
        "agent": "Sam",
    }
    again = client.post(
        invitations_url(world.a.survey_id), json=body, headers=bearer(world.a.write_key)
    )
    assert again.status_code == 200
    assert again.json() == {"items": [made], "created": 0}
    listed = client.get(invitations_url(world.a.survey_id), headers=bearer(world.a.read_key)).json()
    assert [i["id"] for i in listed["items"]] == [made["id"]]


def test_batch_with_delays_and_field_errors(client: TestClient, world: World) -> None:
    url = invitations_url(world.a.survey_id)
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
        invitations_url(world.b.survey_id),
        json={"email": "b@example.com"},
        headers=bearer(world.b.write_key),
    ).json()["items"][0]
    key = bearer(world.a.write_key)
    assert (
        client.post(
            invitations_url(world.b.survey_id), json={"email": "a@x.example"}, headers=key
        ).status_code
        == 404
    )
    assert client.get(invitations_url(world.b.survey_id), headers=key).status_code == 404
    assert client.get(f"/api/v1/invitations/{made['id']}", headers=key).status_code == 404
    assert client.post(f"/api/v1/invitations/{made['id']}/cancel", headers=key).status_code == 404
    rates = f"/api/v1/surveys/{world.b.survey_id}/response-rates"
    assert client.get(rates, headers=key).status_code == 404
    # Naming org B's contact by id from org A finds nothing either.
    other = client.post(
        invitations_url(world.a.survey_id), json={"contact_id": world.b.contact_id}, headers=key
    )
    assert other.status_code == 422
    # A read key may look but not invite.
    read = bearer(world.a.read_key)
    assert (
        client.post(
            invitations_url(world.a.survey_id), json={"email": "r@x.example"}, headers=read
        ).status_code
        == 403
    )


def test_throttling_decides_at_once(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    url = invitations_url(world.a.survey_id)
    first = client.post(url, json={"contact_id": world.a.contact_id}, headers=key).json()
    second = client.post(url, json={"contact_id": world.a.contact_id}, headers=key).json()
    assert first["items"][0]["status"] == "scheduled"
    assert second["items"][0]["status"] == "throttled"
    assert "30 days" in second["items"][0]["reason"]


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
    made = client.post(
        invitations_url(world.a.survey_id), json={"items": items}, headers=key
    ).json()["items"]
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
    plain, html = email_parts(swedish)
    assert "Hej Sven," in plain
    assert "Hur nöjd är du med Org-A?" in html
    assert "Mycket missnöjd" in plain
    macedonian = email_parts(by_recipient["mk@example.com"])
    assert "Здраво Марија," in macedonian[0]
    english_plain, english_html = email_parts(by_recipient["en@example.com"])
    assert "&lt;b&gt;Eve&lt;/b&gt;" in english_html
    assert "<b>Eve" not in english_html
    assert "Hello <b>Eve</b>," in english_plain  # plain text is not HTML

    # Every link of every email, fetched as a mail scanner would: GET only, no forms.
    parser = Links()
    for message in by_recipient.values():
        parser.feed(email_parts(message)[1])
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


def test_invitations_from_csv(client: TestClient, world: World) -> None:
    key = bearer(world.a.write_key)
    upload = client.post(
        f"/api/v1/surveys/{world.a.survey_id}/invitations/upload",
        files={"file": ("i.csv", "email,delay\nu1@example.com,2d\nu2@example.com,\n", "text/csv")},
        headers=key,
    )
    assert upload.status_code == 201, upload.text
    assert [i["status"] for i in upload.json()["items"]] == ["scheduled", "scheduled"]


def test_invitation_files_up_to_10_mb_arrive(client: TestClient, world: World) -> None:
    # Before: the API's 1 MB body limit answered first, in plain text.
    key = bearer(world.a.write_key)
    url = f"/api/v1/surveys/{world.a.survey_id}/invitations/upload"
    big = "email\nbig@example.com\n" + "\n" * 2_500_000
    upload = client.post(url, files={"file": ("i.csv", big, "text/csv")}, headers=key)
    assert upload.status_code == 201, upload.text[:300]
    assert upload.json()["created"] == 1
    over = "email\n" + "\n" * 10_500_000
    refused = client.post(url, files={"file": ("i.csv", over, "text/csv")}, headers=key)
    assert refused.status_code == 413
    assert refused.json()["detail"][0]["loc"] == ["body", "file"]
    stray = "email,name\nu1@example.com,Åsa\n".encode() + b"u2@example.com,\xff\n"
    bad = client.post(url, files={"file": ("i.csv", stray, "text/csv")}, headers=key)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["msg"].startswith("line 3: byte 0xFF is not valid UTF-8")
    named = client.post(
        url,
        files={"file": ("i.csv", stray, "text/csv")},
        data={"encoding": "windows-1252"},
        headers=key,
    )
    assert named.status_code == 201, named.text
