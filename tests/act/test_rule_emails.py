"""The rules' notice emails composed a batch at a time: the same emails as one by one, a few
reads for the whole batch, and the worker falling back to one by one when a batch fails."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes
from email.message import Message

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from tests.act.conftest import Clock
from tests.smtp_server import SmtpTestServer

from cxpulse.act import response_events, rule_emails, rules
from cxpulse.act.jobs import JobHandler, JobRegistry
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.rule_actions import NOTICE_KIND
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import accounts, outbox, responses, surveys
from cxpulse.store.models import Organisation, OutboxItem, Survey, User
from cxpulse.store.outbox import Claimed
from cxpulse.store.response_checks import NewResponse

DETRACTORS = 30


@pytest.fixture
def nps(sessions: sessionmaker[Session], org: Organisation) -> Survey:
    with sessions.begin() as session:
        return surveys.create_survey(
            session, org.id, slug="shop-nps", name="Shop NPS", metric="nps", status="active"
        )


def _worker(
    engine: Engine, server: SmtpTestServer, clock: Clock, jobs: JobRegistry | None = None
) -> OutboxWorker:
    """A worker running the rules, with the rules' email jobs unless given ``jobs``."""
    tasks, own_jobs = TaskRegistry(), JobRegistry()
    response_events.register(tasks, own_jobs)
    return OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("test-key"),
        clock=clock,
        jobs=own_jobs if jobs is None else jobs,
        tasks=tasks,
        analyse_comments=False,
    )


def _queue_notices(sessions: sessionmaker[Session], org: Organisation, survey: Survey) -> User:
    """A rule emailing a user and an address about each detractor, ``DETRACTORS`` detractors
    and a promoter (each answer queues its ``response-event`` item)."""
    with sessions.begin() as session:
        lead = User(
            organisation_id=org.id,
            email="lead@acme.example",
            name="Lea",
            role="admin",
            password_hash="h",
        )
        session.add(lead)
        session.flush()
        rules.create_rule(
            session,
            org.id,
            name="Detractors",
            conditions={"band": "detractor"},
            actions={"email": {"user_ids": [lead.id], "addresses": ["ops@acme.example"]}},
        )
        responses.add_responses(
            session,
            org.id,
            [
                NewResponse(survey_id=survey.id, score=n % 7, comment=f"Late parcel no. {n}")
                for n in range(DETRACTORS)
            ]
            + [NewResponse(survey_id=survey.id, score=10)],
        )
    return lead


def _run_rules(engine: Engine, server: SmtpTestServer, clock: Clock) -> None:
    """Run the rules only (no emails): the task runner of a worker."""
    worker = _worker(engine, server, clock)
    try:
        while worker.run_tasks():
            pass
    finally:
        worker.connection.close()


def _claim_notices(sessions: sessionmaker[Session]) -> list[Claimed]:
    with sessions.begin() as session:
        return outbox.claim(session, (NOTICE_KIND,), limit=1000)


def _headers_and_body(composed: Composed) -> tuple[dict[str, str], str]:
    message: Message = message_from_bytes(composed.data)
    # The date and the multipart boundary differ from one composition to the next.
    headers = {k: str(v) for k, v in message.items() if k not in {"Date", "Content-Type"}}
    body = "".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in message.walk()
        if not part.is_multipart()
    )
    return headers, body


def test_a_batch_of_notices_is_the_same_emails_in_a_few_reads(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    lead = _queue_notices(sessions, org, nps)
    _run_rules(engine, server, clock)
    items = _claim_notices(sessions)
    assert len(items) == 2 * DETRACTORS  # the user and the address, per detractor
    # Another organisation's item naming this rule composes nothing, in either way.
    with sessions.begin() as session:
        other = accounts.create_organisation(session, slug="other", name="Other").id
    items.append(dataclasses.replace(items[0], id=10**9, organisation_id=other))
    settings: SmtpSettings = server.settings()

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with sessions() as session:
        event.listen(engine, "before_cursor_execute", count)
        try:
            batch = rule_emails.compose_notices(session, items, settings)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        one_by_one = [rule_emails.compose_notice(session, item, settings) for item in items]
    # Rules, users, answers, their comments' themes, surveys: not five reads per notice.
    assert len(statements) <= 6, statements
    assert len(batch) == len(items)
    assert batch[-1] is None
    assert one_by_one[-1] is None
    for together, alone in zip(batch, one_by_one, strict=True):
        assert (together is None) == (alone is None)
        if together is not None and alone is not None:
            assert together.recipient == alone.recipient
            assert _headers_and_body(together) == _headers_and_body(alone)
    recipients = sorted({c.recipient for c in batch if c is not None})
    assert recipients == ["lead@acme.example", "ops@acme.example"]

    with sessions.begin() as session:
        user = session.get(User, lead.id)
        assert user is not None
        user.is_active = False
    with sessions() as session:
        after = rule_emails.compose_notices(session, items[:-1], settings)
    assert {c.recipient for c in after if c is not None} == {"ops@acme.example"}
    assert sum(c is None for c in after) == DETRACTORS


def test_the_worker_sends_one_by_one_when_a_batch_fails(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    nps: Survey,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    _queue_notices(sessions, org, nps)

    def broken(session: Session, items: object, smtp: SmtpSettings) -> list[Composed | None]:
        raise RuntimeError("a batch that cannot be composed")

    jobs = JobRegistry()
    jobs.register(
        JobHandler(kind=NOTICE_KIND, compose=rule_emails.compose_notice, compose_batch=broken)
    )
    worker = _worker(engine, server, clock, jobs)
    try:
        worker.drain()
    finally:
        worker.connection.close()
    assert len(server.messages) == 2 * DETRACTORS
    with sessions() as session:
        states = session.scalars(
            select(OutboxItem.state).where(OutboxItem.kind == NOTICE_KIND)
        ).all()
    assert set(states) == {"sent"}
