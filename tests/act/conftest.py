"""An organisation with an active CSAT survey and a real SMTP server for the worker tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer, smtp_server

from cxpulse.act.worker import OutboxWorker
from cxpulse.collect.links import LinkSigner
from cxpulse.store import accounts, surveys
from cxpulse.store.models import Organisation, Survey


class Clock:
    """Real time plus an offset the test moves, so that backoffs and reminders need no
    sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with smtp_server() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def org(sessions: sessionmaker[Session]) -> Organisation:
    with sessions.begin() as session:
        return accounts.create_organisation(session, slug="acme", name="Acme")


@pytest.fixture
def survey(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    with sessions.begin() as session:
        return surveys.create_survey(
            session, org.id, slug="support-csat", name="Support", metric="csat", status="active"
        )


@pytest.fixture
def worker(engine: Engine, server: SmtpTestServer, clock: Clock) -> Iterator[OutboxWorker]:
    made = OutboxWorker(engine, server.settings(), LinkSigner("test-key"), clock=clock)
    yield made
    made.connection.close()
