"""Fixtures of the route tests that follow invitation emails: a real SMTP server (aiosmtpd
on loopback) and an ``OutboxWorker`` that the test drives instead of the app's inline one.

A module using them marks itself ``pytestmark = pytest.mark.usefixtures("no_inline_worker")``
so that the app starts without its own worker.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from tests.smtp_server import SmtpTestServer, smtp_server

from cxpulse.act.worker import OutboxWorker
from cxpulse.web.state import AppState

from .mail_support import PUBLIC_URL


@pytest.fixture
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
