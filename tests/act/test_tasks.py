"""The worker's tasks (``act.tasks``) on SQLite and PostgreSQL: a batch of due items goes to
its handler, outcomes are recorded (done, retried with a delay, buried), a handler's
exception retries the whole batch, and items of other kinds are left alone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.tasks import Done, GiveUp, Outcome, Retry, TaskContext, TaskHandler, TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.store import outbox
from cxpulse.store.models import Organisation, OutboxItem
from cxpulse.store.outbox import Claimed


def _states(sessions: sessionmaker[Session]) -> dict[str, tuple[str, int, str | None]]:
    with sessions() as session:
        rows = session.execute(
            select(
                OutboxItem.dedupe_key, OutboxItem.state, OutboxItem.attempts, OutboxItem.last_error
            )
        ).all()
    return {key: (state, attempts, error) for key, state, attempts, error in rows}


def test_outcomes_are_recorded_in_one_round(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, server: SmtpTestServer
) -> None:
    seen: list[list[str]] = []

    def run(context: TaskContext, items: Sequence[Claimed]) -> Sequence[Outcome]:
        seen.append([item.dedupe_key for item in items])
        outcomes: list[Outcome] = []
        for item in items:
            wanted = item.payload["outcome"]
            if wanted == "done":
                outcomes.append(Done())
            elif wanted == "retry":
                outcomes.append(Retry("receiver down", delay=timedelta(minutes=5)))
            else:
                outcomes.append(GiveUp("gone for good"))
        return outcomes

    registry = TaskRegistry()
    registry.register(TaskHandler("test-task", run, batch=10))
    with sessions.begin() as session:
        for key in ("done", "retry", "give-up"):
            outbox.enqueue(
                session, org.id, "test-task", key, {"outcome": key.replace("give-up", "no")}
            )
        outbox.enqueue(session, org.id, "other-kind", "untouched", {})
    worker = OutboxWorker(engine, server.settings(), LinkSigner("k"), tasks=registry)
    try:
        assert worker.run_tasks() == 3
        assert worker.run_tasks() == 0  # the retried one waits for its delay
    finally:
        worker.connection.close()
    assert [sorted(batch) for batch in seen] == [["done", "give-up", "retry"]]
    states = _states(sessions)
    assert states["done"][0] == "sent"
    assert states["retry"][:2] == ("pending", 1)
    assert states["retry"][2] == "receiver down"
    assert states["give-up"] == ("dead", 1, "gone for good")
    assert states["untouched"] == ("pending", 0, None)


def test_an_exception_retries_the_batch_and_the_last_attempt_buries(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, server: SmtpTestServer
) -> None:
    def run(context: TaskContext, items: Sequence[Claimed]) -> Sequence[Outcome]:
        raise ConnectionError("database gone")

    registry = TaskRegistry()
    registry.register(TaskHandler("test-task", run, max_attempts=2))
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "test-task", "a", {})
    worker = OutboxWorker(engine, server.settings(), LinkSigner("k"), tasks=registry)
    try:
        worker.run_tasks()
        assert _states(sessions)["a"][:2] == ("pending", 1)
        with sessions.begin() as session:
            session.execute(update(OutboxItem).values(available_at=OutboxItem.created_at))
        worker.run_tasks()
    finally:
        worker.connection.close()
    state, attempts, error = _states(sessions)["a"]
    assert (state, attempts) == ("dead", 2)
    assert error is not None
    assert "ConnectionError: database gone" in error


def test_a_kind_is_registered_once() -> None:
    registry = TaskRegistry()

    def run(context: TaskContext, items: Sequence[Claimed]) -> Sequence[Outcome]:
        return [Done() for _ in items]

    handler = TaskHandler("k", run)
    registry.register(handler)
    registry.register(handler)
    assert registry.kinds() == ("k",)
    with pytest.raises(ValueError, match="has a handler already"):
        registry.register(TaskHandler("k", run, batch=5))
