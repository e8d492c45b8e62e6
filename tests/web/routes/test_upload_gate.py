"""The posts that take a file (answers import, contacts import, sending invitations) refuse a
caller from their headers alone, before reading a byte of the body (``routes.upload_gate``):
a forged or missing session, another site, a CSRF cookie not of the session, a role without
the permission. The app runs behind an ASGI layer that counts the body bytes it pulls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from cxpulse.web.routes import import_pages
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE

from ..helpers import BASE_URL, World, session_headers

BIG = 3_000_000
"""Bytes of the file: far more than any refusal needs, within every route's own limit."""
ROUTES = ("/app/imports/new", "/app/contacts/import", "/app/invitations/new")


@dataclass
class BodyCounter:
    """The app, counting the body bytes it pulls from the client."""

    app: FastAPI
    read: int = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted if scope["type"] == "http" else receive, send)


@pytest.fixture(autouse=True)
def uploads(tmp_path: Path) -> Iterator[Path]:
    root = import_pages.UPLOADS.root
    import_pages.UPLOADS.root = tmp_path / "uploads"
    yield import_pages.UPLOADS.root
    import_pages.UPLOADS.root = root


@pytest.fixture
def counter(app: FastAPI) -> BodyCounter:
    return BodyCounter(app)


@pytest.fixture
def counted(counter: BodyCounter) -> Iterator[TestClient]:
    with TestClient(counter, base_url=BASE_URL) as opened:
        yield opened


def _post(client: TestClient, url: str, headers: dict[str, str], token: str) -> int:
    big = b"email,Rating\n" + b"x@example.com,5\n" * (BIG // 16)
    answer = client.post(
        url,
        headers=headers,
        data={"csrf_token": token, "survey_id": "1", "survey": "1", "audience": "csv"},
        files={"file": ("big.csv", big, "text/csv")},
        follow_redirects=False,
    )
    return answer.status_code


def _browser(app: FastAPI, user: int) -> tuple[dict[str, str], str, str]:
    """Headers of a signed-in browser, its CSRF token and its session cookie."""
    headers = session_headers(app, user, csrf=False)
    session_cookie = headers["Cookie"].split(f"{SESSION_COOKIE}=", 1)[1].split(";", 1)[0]
    return headers, headers["Cookie"].split(f"{CSRF_COOKIE}=", 1)[1], session_cookie


@pytest.mark.parametrize("url", ROUTES)
def test_a_refused_caller_is_answered_before_the_body_is_read(
    app: FastAPI, counted: TestClient, counter: BodyCounter, world: World, url: str
) -> None:
    headers, token, session_cookie = _browser(app, world.a.users["owner"])
    garbage = {"Cookie": f"{SESSION_COOKIE}=garbage; {CSRF_COOKIE}=garbage"}
    refusals = [
        (garbage, 401),
        ({}, 401),
        ({**headers, "Origin": "https://evil.example"}, 403),
        ({"Cookie": f"{SESSION_COOKIE}={session_cookie}; {CSRF_COOKIE}=another"}, 403),
        (_browser(app, world.a.users["viewer"])[0], 403),
    ]
    for refused_headers, status in refusals:
        counter.read = 0
        assert _post(counted, url, refused_headers, token) == status
        assert counter.read == 0, f"{url} read {counter.read} bytes before refusing"
    # The same post from the signed-in owner is read (and then judged on its content).
    counter.read = 0
    assert _post(counted, url, headers, token) != 500
    assert counter.read > BIG
