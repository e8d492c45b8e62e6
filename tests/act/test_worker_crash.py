"""Across a crash: ``cxpulse worker`` killed (SIGKILL) in the middle of 2,000 invitations,
then started again, delivers each one once to a real SMTP server, and never twice.

The one email a kill can lose is the one of a thread caught between committing its send and
the server's verdict on the end-of-data line; the worker marks such items ``unconfirmed``
(at most one per thread). Every Message-ID missing at the server must be one of those, and
every other invitation must have arrived exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.collect.invitations import InvitationRequest, create_invitations
from cxpulse.store import outbox
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey

COUNT = 2000
CLI = str(Path(sys.executable).parent / "cxpulse")


def _start(engine: Engine, server: SmtpTestServer, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CXPULSE_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CXPULSE_SECRET_KEY": "crash-test",
        "CXPULSE_SMTP_HOST": "127.0.0.1",
        "CXPULSE_SMTP_PORT": str(server.port),
        "CXPULSE_MAIL_FROM": "surveys@acme.example",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [CLI, "worker", "--lock-seconds", "3", "--batch-size", "100", "--threads", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _wait(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.mark.slow
def test_a_killed_worker_never_sends_twice(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
    tmp_path: Path,
) -> None:
    with sessions.begin() as session:
        made = create_invitations(
            session,
            org.id,
            survey.id,
            [InvitationRequest(email=f"c{n}@example.com") for n in range(COUNT)],
        )
        ids = {t.invitation.id for t in made}
    log = tmp_path / "worker.log"
    first = _start(engine, server, log)
    try:
        _wait(lambda: len(server.received) >= COUNT // 3, 120, "the first third")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    at_kill = len(server.received)
    assert at_kill < COUNT, "the worker finished before it was killed"
    second = _start(engine, server, log)
    try:

        def settled() -> bool:
            with sessions() as session:
                states = dict(
                    session.execute(
                        select(OutboxItem.state, func.count()).group_by(OutboxItem.state)
                    ).all()
                )
            return states.get("sent", 0) + states.get("unconfirmed", 0) == COUNT

        _wait(settled, 180, "every item sent or unconfirmed")
        time.sleep(4)  # longer than a lock: anything left would be sent again by now
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    message_ids = Counter(r.parsed()["Message-ID"] for r in server.received)
    assert set(message_ids.values()) == {1}, "an email arrived twice"
    expected = {i: f"<cxpulse.invitation.{i}@acme.example>" for i in ids}
    assert set(message_ids) <= set(expected.values())
    with sessions() as session:
        states = dict(
            session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all()
        )
        unconfirmed = {
            int(payload["invitation_id"])
            for payload in session.scalars(
                select(OutboxItem.payload).where(OutboxItem.state == "unconfirmed")
            )
        }
        statuses = dict(
            session.execute(
                select(Invitation.status, func.count()).group_by(Invitation.status)
            ).all()
        )
        reasons = set(
            session.scalars(select(Invitation.reason).where(Invitation.id.in_(unconfirmed)))
        )
    missing = {i for i, ident in expected.items() if ident not in message_ids}
    assert missing <= unconfirmed, log.read_text()[-2000:]
    assert len(unconfirmed) <= 2, "at most one item per killed thread is left unconfirmed"
    assert states == {
        "sent": COUNT - len(unconfirmed),
        **({"unconfirmed": len(unconfirmed)} if unconfirmed else {}),
    }
    assert statuses == {"sent": COUNT}
    assert reasons <= {outbox.UNCONFIRMED_BY_CRASH}
    assert second.returncode == 0
