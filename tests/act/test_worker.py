"""The outbox worker against a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act.worker import OutboxWorker
from cxpulse.collect.invitations import InvitationRequest, create_invitations
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey
from smtp_server import SmtpTestServer

from .conftest import Clock


def _invite(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, *requests: InvitationRequest
) -> list[int]:
    with sessions.begin() as session:
        made = create_invitations(session, org.id, survey.id, list(requests))
        return [t.invitation.id for t in made]


def _status(sessions: sessionmaker[Session], invitation_id: int) -> Invitation:
    with sessions() as session:
        found = session.get(Invitation, invitation_id)
        assert found is not None
        return found


def test_sends_each_invitation_once(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    ids = _invite(
        sessions,
        org,
        survey,
        *(InvitationRequest(email=f"p{n}@example.com") for n in range(5)),
    )
    stats = worker.drain()
    assert stats.sent == 5
    assert worker.drain().claimed == 0
    received = server.wait_for(5)
    assert sorted(r.recipients[0] for r in received) == [f"p{n}@example.com" for n in range(5)]
    ids_seen = {r.parsed()["Message-ID"] for r in received}
    assert ids_seen == {f"<cxpulse.invitation.{i}@acme.example>" for i in ids}
    for invitation_id in ids:
        assert _status(sessions, invitation_id).status == "sent"
    with sessions() as session:
        states = set(session.scalars(select(OutboxItem.state)))
    assert states == {"sent"}


def test_retries_after_a_temporary_refusal_then_gives_up(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    [first, second] = _invite(
        sessions,
        org,
        survey,
        InvitationRequest(email="a@example.com"),
        InvitationRequest(email="b@example.com"),
    )
    server.refuse_next(1)
    stats = worker.run_once()
    assert (stats.sent, stats.retried) == (1, 1)
    retrying = _status(sessions, first)
    assert retrying.status == "scheduled"
    assert retrying.sent_at is None
    assert retrying.reason is not None
    assert "451" in retrying.reason
    assert worker.run_once().claimed == 0  # backing off
    clock.offset += timedelta(minutes=5)
    assert worker.run_once().sent == 1
    assert _status(sessions, first).status == "sent"
    assert len(server.received) == 2
    # A recipient refused for good: failed with the reason, never retried.
    [third] = _invite(sessions, org, survey, InvitationRequest(email="c@example.com"))
    server.handler.refuse_rcpt = "550 5.1.1 No such user"
    stats = worker.run_once()
    assert stats.failed == 1
    failed = _status(sessions, third)
    assert failed.status == "failed"
    assert failed.reason is not None
    assert "550" in failed.reason
    assert second  # sent in the first round
