"""The invitation pages: the list with its states and counts, cancelling (one, or all
scheduled of a survey) after a confirmation, and sending a survey from the browser to a CSV
file, a filter or one contact, with its review, previews and test email; on SQLite and
PostgreSQL, with a real SMTP server (aiosmtpd on loopback) and an ``OutboxWorker`` the test
drives."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.worker import OutboxWorker
from cxpulse.store import contacts, surveys
from cxpulse.store.models import AuditLog, Invitation, OutboxItem
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, make_app, session_headers
from .mail_support import PUBLIC_URL

pytestmark = pytest.mark.usefixtures("no_inline_worker")

NEW = "/app/invitations/new"


@pytest.fixture
def app(engine: Engine, server: SmtpTestServer) -> FastAPI:
    """The app, its test emails going to the test server."""
    return make_app(engine, smtp_host="127.0.0.1", smtp_port=server.port, public_url=PUBLIC_URL)


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    token = headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]
    return headers, token


def _form_key(client: TestClient, headers: dict[str, str], query: str = "") -> str:
    page = client.get(NEW + query, headers=headers)
    assert page.status_code == 200, page.text
    found = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _hidden(html: str) -> dict[str, str]:
    """The hidden fields of the review form, as a browser posts them back."""
    import html as html_lib

    return {
        name: html_lib.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


def _count(db: sessionmaker[Session], survey_id: int) -> int:
    with db() as session:
        found = session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.survey_id == survey_id)
        )
        return int(found or 0)


CSV = (
    "email,name,language,ticket\n"
    "ana@example.com,Ana,sv,T-1\nbo@example.com,Bo,,T-2\ncy@example.com,Cy,de,T-3\n"
)


def test_sending_a_csv_the_worker_delivers_and_the_list_shows_them_sent(
    app: FastAPI,
    client: TestClient,
    world: World,
    db: sessionmaker[Session],
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    key = _form_key(client, headers, f"?survey={a.survey_id}")
    fields = {
        "csrf_token": token,
        "form_key": key,
        "survey": str(a.survey_id),
        "audience": "csv",
        "when": "now",
        "step": "review",
    }
    review = client.post(
        NEW, headers=headers, data=fields, files={"file": ("people.csv", CSV, "text/csv")}
    )
    assert review.status_code == 200, review.text
    assert "3 recipients of the file" in review.text
    # A preview in each language the recipients need: Swedish, German and the default.
    for name in ("English", "Svenska", "Deutsch"):
        assert f"The email in {name}" in review.text, name
    assert "would like your feedback" in review.text
    assert _count(db, a.survey_id) == 0  # reviewing queues nothing
    carried = _hidden(review.text)
    assert carried["csv_text"].startswith("email,name,language,ticket")
    sent = client.post(
        NEW, headers=headers, data={**carried, "step": "send"}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    result = client.get(sent.headers["location"], headers=headers)
    assert result.status_code == 200
    assert "3 queued" in result.text
    with db() as session:
        made = list(session.scalars(select(Invitation).where(Invitation.survey_id == a.survey_id)))
        assert {i.status for i in made} == {"scheduled"}
        assert {i.properties.get("ticket") for i in made} == {"T-1", "T-2", "T-3"}
        assert {i.language for i in made} == {"sv", None, "de"}
        entry = session.scalar(
            select(AuditLog).where(
                AuditLog.organisation_id == a.id, AuditLog.entity == "invitation"
            )
        )
        assert entry is not None
        assert entry.details["count"] == 3
    assert worker.drain().sent == 3
    received = {r.recipients[0] for r in server.wait_for(3)}
    assert received == {"ana@example.com", "bo@example.com", "cy@example.com"}
    listed = client.get(f"/app/invitations?survey={a.survey_id}&state=sent", headers=headers)
    assert listed.status_code == 200
    for address in received:
        assert address in listed.text
    assert re.search(r'<span class="count">3</span> Sent', listed.text)
    # Another organisation sees none of it.
    other, _ = _browser(app, world.b.users["owner"])
    assert "ana@example.com" not in client.get("/app/invitations", headers=other).text


def test_a_bad_row_is_reported_by_its_line_and_nothing_is_queued(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    bad = "email,name,language\nok@example.com,Ok,\nnot-an-address,X,\nz@example.com,Z,xx\n"
    page = client.post(
        NEW,
        headers=headers,
        data={
            "csrf_token": token,
            "form_key": _form_key(client, headers),
            "survey": str(a.survey_id),
            "audience": "csv",
            "step": "send",
        },
        files={"file": ("people.csv", bad, "text/csv")},
    )
    assert page.status_code == 422
    assert "line 3, email" in page.text
    assert "line 4, language" in page.text
    assert "nothing was queued" in page.text
    assert _count(db, a.survey_id) == 0


def test_a_double_submit_queues_once(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    fields = {
        "csrf_token": token,
        "form_key": _form_key(client, headers),
        "survey": str(a.survey_id),
        "audience": "filter",
        "attribute": "plan",
        "value": "pro",
        "days": "30",
        "when": "now",
        "step": "review",
    }
    review = client.post(NEW, headers=headers, data=fields)
    assert review.status_code == 200, review.text
    assert "1 contact matching the filter" in review.text
    first = client.post(
        NEW, headers=headers, data={**fields, "step": "send"}, follow_redirects=False
    )
    second = client.post(
        NEW, headers=headers, data={**fields, "step": "send"}, follow_redirects=False
    )
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert _count(db, a.survey_id) == 1
    with db() as session:
        queued = select(func.count()).where(OutboxItem.kind == "invitation")
        assert session.scalar(queued) == 1
    again = client.get(second.headers["location"], headers=headers)
    assert "1 queued" in again.text


def test_cancelling_one_and_all_scheduled_after_a_confirmation(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    for address in ("one@example.com", "two@example.com"):
        fields = {
            "csrf_token": token,
            "form_key": _form_key(client, headers),
            "survey": str(a.survey_id),
            "audience": "contact",
            "contact": address,
            "when": "later",
            "send_at": later,
            "step": "send",
        }
        done = client.post(NEW, headers=headers, data=fields, follow_redirects=False)
        assert done.status_code == 303, done.text
    with db() as session:
        ids = sorted(session.scalars(select(Invitation.id)))
    assert len(ids) == 2
    confirm = client.get(f"/app/invitations/cancel?invitation={ids[0]}", headers=headers)
    assert confirm.status_code == 200
    assert "Cancel this invitation?" in confirm.text
    viewer, viewer_token = _browser(app, a.users["viewer"])
    refused = client.post(
        "/app/invitations/cancel",
        headers=viewer,
        data={"csrf_token": viewer_token, "invitation": str(ids[0])},
    )
    assert refused.status_code == 403
    forged = client.post(
        "/app/invitations/cancel", headers=headers, data={"csrf_token": "x", "invitation": "1"}
    )
    assert forged.status_code == 403
    one = client.post(
        "/app/invitations/cancel",
        headers=headers,
        data={"csrf_token": token, "invitation": str(ids[0])},
        follow_redirects=False,
    )
    assert one.status_code == 303
    assert (
        "1 scheduled invitation cancelled."
        in client.get(one.headers["location"], headers=headers).text
    )
    listed = client.get(f"/app/invitations?survey={a.survey_id}", headers=headers).text
    assert "Cancel all 1 scheduled" in listed
    every = client.get(f"/app/invitations/cancel?survey={a.survey_id}", headers=headers)
    assert "Cancel 1 scheduled invitation?" in every.text
    client.post(
        "/app/invitations/cancel",
        headers=headers,
        data={"csrf_token": token, "survey": str(a.survey_id)},
    )
    with db() as session:
        assert set(session.scalars(select(Invitation.status))) == {"cancelled"}
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.entity == "invitation")
        ).all()
        assert actions.count("cancel") == 2


def test_review_previews_and_a_test_email_to_me(
    app: FastAPI, client: TestClient, world: World, server: SmtpTestServer
) -> None:
    a = world.a
    headers, token = _browser(app, a.users["analyst"])
    key = _form_key(client, headers, f"?contact={a.contact_id}")
    fields = {
        "csrf_token": token,
        "form_key": key,
        "survey": str(a.survey_id),
        "audience": "contact",
        "contact": "c1@example.com",
        "step": "review",
    }
    review = client.post(NEW, headers=headers, data=fields)
    assert review.status_code == 200, review.text
    tested = client.post(NEW, headers=headers, data={**_hidden(review.text), "test": "en"})
    assert tested.status_code == 200
    assert f"sent to {a.emails['analyst']}" in tested.text
    [message] = server.wait_for(1)
    assert message.recipients == [a.emails["analyst"]]
    assert "would like your feedback" in message.parsed()["Subject"]
    html = client.get(f"/app/invitations/preview?survey={a.survey_id}&language=en", headers=headers)
    assert html.status_code == 200
    assert "script-src" not in html.headers["content-security-policy"]
    assert "form-action 'none'" in html.headers["content-security-policy"]
    assert "Alex Example" in html.text
    other = f"/app/invitations/preview?survey={world.b.survey_id}&language=en"
    assert client.get(other, headers=headers).status_code == 404


def test_only_active_surveys_can_be_sent(
    app: FastAPI, client: TestClient, world: World, db: sessionmaker[Session]
) -> None:
    a = world.a
    with db() as session:
        draft = surveys.create_survey(
            session, a.id, slug="draft-nps", name="Draft NPS", metric="nps", status="draft"
        )
        contacts.create_contact(session, a.id, email="d@example.com")
        session.commit()
        draft_id = draft.id
    headers, token = _browser(app, a.users["analyst"])
    page = client.post(
        NEW,
        headers=headers,
        data={
            "csrf_token": token,
            "form_key": _form_key(client, headers),
            "survey": str(draft_id),
            "audience": "contact",
            "contact": "d@example.com",
            "step": "review",
        },
    )
    assert page.status_code == 422
    assert "only an active survey can be sent" in page.text
    assert "d@example.com" in page.text  # the values are kept
    viewer, _ = _browser(app, a.users["viewer"])
    assert client.get(NEW, headers=viewer).status_code == 403
    assert client.get("/app/invitations", headers=viewer).status_code == 403
