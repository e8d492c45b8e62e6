"""Ids and numbers typed into the signed-in pages' queries and forms (``web.form_values``):
a Unicode digit such as "²" (which ``str.isdigit`` accepts and ``int`` refuses) or a number
past the database's columns gets the page's own 404 or 422 with a message, never a 500; on
SQLite and PostgreSQL (whose survey ids are 32-bit)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxpulse.web.routes import import_pages
from cxpulse.web.tokens import CSRF_COOKIE

from ..helpers import World, session_headers

SUPERSCRIPT_TWO = "\u00b2"
HUGE = "9" * 23
"""Past 64 bits: SQLite's driver raises OverflowError, PostgreSQL's an out-of-range error."""
PAST_32_BITS = str(2**31)
"""A survey id PostgreSQL's integer column cannot hold."""
NEW = "/app/invitations/new"


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path) -> Iterator[Path]:
    root = import_pages.UPLOADS.root
    import_pages.UPLOADS.root = tmp_path / "uploads"
    yield import_pages.UPLOADS.root
    import_pages.UPLOADS.root = root


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str]:
    headers = session_headers(app, user, csrf=False)
    return headers, headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1]


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        (f"/app/invitations/preview?survey={SUPERSCRIPT_TWO}", 404, "no such survey"),
        (f"/app/invitations/preview?survey={HUGE}", 404, "no such survey"),
        (f"/app/invitations/preview?survey={PAST_32_BITS}", 404, "no such survey"),
        (f"/app/invitations/sent?survey={SUPERSCRIPT_TWO}&key=k", 404, "sent no invitations"),
        (f"/app/invitations/sent?survey={HUGE}&key=k", 404, "sent no invitations"),
        (f"/app/invitations?survey={SUPERSCRIPT_TWO}", 200, "Invitations"),
        (f"/app/invitations?survey={PAST_32_BITS}", 200, "Invitations"),
        (f"/app/invitations?cancelled={SUPERSCRIPT_TWO}", 200, "Invitations"),
        (f"/app/invitations/cancel?invitation={SUPERSCRIPT_TWO}", 404, "no such invitation"),
        (f"/app/invitations/cancel?invitation={HUGE}", 404, "no such invitation"),
        (f"/app/invitations/cancel?survey={PAST_32_BITS}", 404, "no such survey"),
        (f"{NEW}?contact={HUGE}", 200, "Send a survey"),
        (f"{NEW}?contact={SUPERSCRIPT_TWO}&survey={SUPERSCRIPT_TWO}", 200, "Send a survey"),
        (f"/app/imports/new?survey={SUPERSCRIPT_TWO}", 200, "New import"),
        (f"/app/imports/new?survey={HUGE}", 200, "New import"),
        (f"/app/audit?before={SUPERSCRIPT_TWO}", 200, "Audit log"),
        (f"/app/audit?before={HUGE}", 200, "Audit log"),
        (f"/app/contacts?imported={SUPERSCRIPT_TWO}-1", 200, "Contacts"),
    ],
)
def test_a_bad_id_in_a_query_is_the_pages_own_answer(
    app: FastAPI, client: TestClient, world: World, url: str, status: int, says: str
) -> None:
    headers, _ = _browser(app, world.a.users["owner"])
    answer = client.get(url, headers=headers)
    assert answer.status_code == status, answer.text[:500]
    assert says in answer.text


def test_a_bad_sheet_of_an_upload_is_a_message(
    app: FastAPI, client: TestClient, world: World
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    fields = {"preset": "", "map_score": "Rating", "map_submitted_at": "Date", "preview": "1"}
    for sheet in (SUPERSCRIPT_TWO, HUGE):
        sent = client.post(
            "/app/imports/new",
            headers=headers,
            data={"csrf_token": token, "survey_id": str(world.a.survey_id)},
            files={"file": ("answers.csv", b"Rating,Date\n5,2025-03-01\n", "text/csv")},
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        mapping = sent.headers["location"]
        page = client.get(mapping, headers=headers, params={**fields, "sheet": sheet})
        assert page.status_code in (200, 422), page.text[:500]
        form = {**fields, "sheet": sheet, "csrf_token": token}
        posted = client.post(mapping, headers=headers, data=form)
        assert posted.status_code in (200, 422), posted.text[:500]


def _form_key(client: TestClient, headers: dict[str, str]) -> str:
    page = client.get(NEW, headers=headers)
    found = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"step": "send", "survey": SUPERSCRIPT_TWO}, "survey", "no such survey"),
        ({"step": "send", "survey": "9" * 30}, "survey", "no such survey"),
        ({"step": "review", "survey": PAST_32_BITS}, "survey", "no such survey"),
        ({"audience": "filter", "days": SUPERSCRIPT_TWO}, "days", "A whole number of days"),
        ({"audience": "filter", "days": HUGE}, "days", "A whole number of days"),
        ({"audience": "contact", "contact": "9" * 24}, "contact", "no such contact"),
        ({"audience": "contact", "contact": SUPERSCRIPT_TWO}, "contact", "not an email address"),
    ],
)
def test_a_bad_id_in_the_send_form_is_shown_by_its_field(
    app: FastAPI,
    client: TestClient,
    world: World,
    fields: dict[str, str],
    field: str,
    says: str,
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    form = {
        "csrf_token": token,
        "form_key": _form_key(client, headers),
        "survey": str(world.a.survey_id),
        "audience": "csv",
        "when": "now",
        "step": "review",
        **fields,
    }
    answer = client.post(NEW, headers=headers, data=form)
    assert answer.status_code == 422, answer.text[:500]
    assert says in answer.text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"survey": SUPERSCRIPT_TWO}, "no such survey"),
        ({"survey": PAST_32_BITS}, "no such survey"),
        ({"invitation": HUGE}, "no such invitation"),
        ({"invitation": SUPERSCRIPT_TWO}, "no such invitation"),
    ],
)
def test_a_bad_id_in_the_cancel_form_is_not_found(
    app: FastAPI, client: TestClient, world: World, fields: dict[str, str], says: str
) -> None:
    headers, token = _browser(app, world.a.users["analyst"])
    answer = client.post(
        "/app/invitations/cancel", headers=headers, data={"csrf_token": token, **fields}
    )
    assert answer.status_code == 404, answer.text[:500]
    assert says in answer.text
