"""Retention run by the worker: once a day per organisation with a retention, a chain of
bounded batches (each its own transaction) anonymises or deletes the answers and cases older
than the cutoff, and the run's totals go to the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer
from tests.store.privacy_support import build_person, rollups_match

from cxpulse.act import retention
from cxpulse.act.tasks import TaskRegistry
from cxpulse.act.worker import OutboxWorker
from cxpulse.collect.links import LinkSigner
from cxpulse.store import accounts, surveys
from cxpulse.store import retention as policy_store
from cxpulse.store.models import AuditLog, Organisation, OutboxItem, Response, Survey

from .conftest import Clock


@pytest.fixture
def registry() -> TaskRegistry:
    made = TaskRegistry()
    made.register(retention.handler(limit=2))
    return made


@pytest.fixture
def retention_worker(
    engine: Engine, server: SmtpTestServer, clock: Clock, registry: TaskRegistry
) -> Iterator[OutboxWorker]:
    made = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("test-key"),
        clock=clock,
        tasks=registry,
        analyse_comments=False,
    )
    yield made
    made.connection.close()


def _answers(sessions: sessionmaker[Session], organisation_id: int) -> dict[int, int | None]:
    with sessions() as session:
        rows = session.execute(
            select(Response.id, Response.contact_id).where(
                Response.organisation_id == organisation_id
            )
        )
        return {int(key): contact for key, contact in rows}


def test_a_daily_run_in_batches(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    retention_worker: OutboxWorker,
) -> None:
    now = clock()
    with sessions.begin() as session:
        old = build_person(session, org.id, survey.id, "old", at=now - timedelta(days=500))
        recent = build_person(session, org.id, survey.id, "recent", at=now - timedelta(days=40))
        other = accounts.create_organisation(session, slug="keeps", name="Keeps everything")
        kept_survey = surveys.create_survey(
            session, other.id, slug="s", name="S", metric="csat", status="active"
        )
        theirs = build_person(
            session, other.id, kept_survey.id, "theirs", at=now - timedelta(days=900)
        )
        policy_store.set_policy(session, org.id, 12, "anonymise")

    assert retention_worker.tasks.enqueue_due() == 1
    assert retention_worker.tasks.enqueue_due() == 0  # once a day
    retention_worker.drain()

    answers = _answers(sessions, org.id)
    assert [answers[i] for i in old.response_ids] == [None, None, None]
    assert [answers[i] for i in recent.response_ids] == [recent.contact_id] * 3
    assert set(_answers(sessions, other.id).values()) == {theirs.contact_id}
    with sessions() as session:
        rollups_match(session, org.id)
        items = session.scalars(
            select(OutboxItem.dedupe_key).where(OutboxItem.kind == retention.KIND)
        ).all()
        # 3 answers by 2, then the case: three batches, each its own item.
        assert len(items) == 3
        entries = session.scalars(select(AuditLog).where(AuditLog.action == "retention")).all()
        assert [(e.organisation_id, e.actor) for e in entries] == [(org.id, "system")]
        assert entries[0].details["responses_anonymised"] == 3
        assert entries[0].details["cases_anonymised"] == 1
        assert entries[0].details["batches"] == 3
        assert entries[0].details["months"] == 12

    # The next day's run finds nothing left to do.
    clock.offset += timedelta(days=1)
    assert retention_worker.tasks.enqueue_due() == 1
    retention_worker.drain()
    with sessions() as session:
        entries = session.scalars(
            select(AuditLog).where(AuditLog.action == "retention").order_by(AuditLog.id)
        ).all()
        assert len(entries) == 2
        assert "responses_anonymised" not in entries[1].details


def test_deleting_and_turning_retention_off(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    retention_worker: OutboxWorker,
) -> None:
    now = clock()
    with sessions.begin() as session:
        old = build_person(session, org.id, survey.id, "old", at=now - timedelta(days=500))
        policy_store.set_policy(session, org.id, 6, "delete")
    retention_worker.tasks.enqueue_due()
    with sessions.begin() as session:
        policy_store.set_policy(session, org.id, None, "delete")
    retention_worker.drain()
    assert set(_answers(sessions, org.id)) == set(old.response_ids)  # turned off in time

    with sessions.begin() as session:
        policy_store.set_policy(session, org.id, 6, "delete")
    clock.offset += timedelta(days=1)
    retention_worker.tasks.enqueue_due()
    retention_worker.drain()
    assert _answers(sessions, org.id) == {}
    with sessions() as session:
        rollups_match(session, org.id)
        assert session.scalar(select(func.count()).select_from(AuditLog)) == 1


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2025, 3, 31, 10, tzinfo=UTC), 1, datetime(2025, 2, 28, 10, tzinfo=UTC)),
        (datetime(2024, 3, 31, 10, tzinfo=UTC), 1, datetime(2024, 2, 29, 10, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), 24, datetime(2023, 1, 15, tzinfo=UTC)),
        (datetime(2025, 1, 15, tzinfo=UTC), 13, datetime(2023, 12, 15, tzinfo=UTC)),
    ],
)
def test_months_before(moment: datetime, months: int, expected: datetime) -> None:
    assert retention.months_before(moment, months) == expected


def test_register_is_idempotent() -> None:
    registry = TaskRegistry()
    retention.register(registry)
    retention.register(registry)
    assert registry.kinds() == (retention.KIND,)
    assert retention.HANDLER.batch == 1
