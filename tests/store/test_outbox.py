"""The outbox: deduplicated enqueueing, atomic claims, lock expiry, retries and giving up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, outbox
from cxpulse.store.models import Organisation, OutboxItem

KINDS = ("invitation",)


@pytest.fixture
def org(sessions: sessionmaker[Session]) -> Organisation:
    with sessions.begin() as session:
        return accounts.create_organisation(session, slug="acme", name="Acme")


def _item(sessions: sessionmaker[Session], item_id: int) -> OutboxItem:
    with sessions() as session:
        found = session.get(OutboxItem, item_id)
        assert found is not None
        return found


def test_enqueue_twice_is_one_item(sessions: sessionmaker[Session], org: Organisation) -> None:
    with sessions.begin() as session:
        assert outbox.enqueue(session, org.id, "invitation", "invitation:1", {"invitation_id": 1})
        assert not outbox.enqueue(session, org.id, "invitation", "invitation:1", {"x": 2})
    with sessions() as session:
        [item] = session.scalars(select(OutboxItem)).all()
    assert item.payload == {"invitation_id": 1}
    assert item.state == "pending"


def test_claims_take_due_items_once(sessions: sessionmaker[Session], org: Organisation) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        for n in range(5):
            outbox.enqueue(session, org.id, "invitation", f"invitation:{n}", available_at=now)
        outbox.enqueue(
            session, org.id, "invitation", "later", available_at=now + timedelta(hours=1)
        )
        outbox.enqueue(session, org.id, "report", "report:1", available_at=now)
    with sessions.begin() as session:
        assert outbox.has_due(session, KINDS)
        first = outbox.claim(session, KINDS, limit=3)
    with sessions.begin() as session:
        second = outbox.claim(session, KINDS, limit=10)
    with sessions.begin() as session:
        assert outbox.claim(session, KINDS, limit=10) == []
        assert not outbox.has_due(session, KINDS)
    assert [c.dedupe_key for c in first] == ["invitation:0", "invitation:1", "invitation:2"]
    assert [c.dedupe_key for c in second] == ["invitation:3", "invitation:4"]
    assert {c.attempts for c in first + second} == {1}
    assert _item(sessions, first[0].id).state == "sending"


def test_an_expired_lock_is_taken_over_and_the_old_claim_cannot_finish(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "invitation:1")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        [old] = outbox.claim(session, KINDS, lock_seconds=10, now=now)
    with sessions.begin() as session:
        assert outbox.claim(session, KINDS, now=now + timedelta(seconds=5)) == []
        [new] = outbox.claim(session, KINDS, now=now + timedelta(seconds=11))
    assert new.attempts == 2
    with sessions.begin() as session:
        assert not outbox.finish(session, old)
        assert outbox.finish(session, new)
    assert _item(sessions, new.id).state == "completing"
    with sessions.begin() as session:
        outbox.confirm(session, [new.id])
    assert _item(sessions, new.id).state == "sent"


def test_a_dead_workers_items_are_claimed_first_and_one_limit_spans_both(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "abandoned", available_at=now)
    with sessions.begin() as session:
        outbox.claim(session, KINDS, lock_seconds=10, now=now)  # the worker then dies
    with sessions.begin() as session:
        for n in range(3):
            outbox.enqueue(session, org.id, "invitation", f"pending:{n}", available_at=now)
    later = now + timedelta(seconds=11)
    with sessions.begin() as session:
        assert outbox.has_due(session, KINDS, now=later)
        first = outbox.claim(session, KINDS, limit=2, lock_seconds=10, now=later)
    assert [c.dedupe_key for c in first] == ["abandoned", "pending:0"]
    assert first[0].attempts == 2
    with sessions.begin() as session:
        # Only the lock's expiry makes an item due again: has_due sees it alone.
        assert outbox.has_due(session, KINDS, now=later + timedelta(seconds=11))
        rest = outbox.claim(session, KINDS, limit=5, now=later + timedelta(seconds=11))
    assert [c.dedupe_key for c in rest] == ["abandoned", "pending:0", "pending:1", "pending:2"]


def test_a_claim_of_one_kind_reads_its_due_items_in_order_on_postgresql(
    sessions: sessionmaker[Session], org: Organisation, database_kind: str
) -> None:
    """Thousands of another kind waiting must not be gathered and sorted for each claim: the
    claim is a range of ``ix_outbox_kind_due`` read in order up to its limit."""
    if database_kind != "postgresql":
        pytest.skip("the plan asked of PostgreSQL")
    with sessions.begin() as session:
        outbox.enqueue_many(
            session,
            [
                {"organisation_id": org.id, "kind": kind, "dedupe_key": f"{kind}:{n}"}
                for kind, count in (("response-event", 20_000), ("invitation", 50))
                for n in range(count)
            ],
        )
        session.execute(text("ANALYZE outbox"))
    now = datetime.now(UTC)  # after the insert, which made the items available then
    with sessions.begin() as session:
        statement = (
            select(OutboxItem.id)
            .where(outbox._pending(now, ("response-event",)))
            .order_by(OutboxItem.available_at, OutboxItem.id)
            .limit(100)
            .with_for_update(skip_locked=True)
        )
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
        assert "ix_outbox_kind_due" in plan
        assert "Sort" not in plan
        assert len(outbox.claim(session, ("response-event",), limit=100, now=now)) == 100
        assert len(outbox.claim(session, KINDS, limit=100, now=now)) == 50


def test_an_item_left_completing_by_a_dead_worker_becomes_unconfirmed_not_due(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "invitation:1")
        outbox.enqueue(session, org.id, "invitation", "invitation:2")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        first, second = outbox.claim(session, KINDS, lock_seconds=10, now=now)
        assert outbox.finish(session, first, now=now, lock_seconds=10)
        assert outbox.finish(session, second, now=now, lock_seconds=10)
        outbox.confirm(session, [second.id])
    later = now + timedelta(seconds=11)
    with sessions() as session:
        assert not outbox.has_stale_completing(session, now=now + timedelta(seconds=5))
        assert outbox.has_stale_completing(session, now=later)
    with sessions.begin() as session:
        assert outbox.flag_unconfirmed(session, now=now + timedelta(seconds=5)) == []
        [flagged] = outbox.flag_unconfirmed(session, now=later)
        # Never due again: sending it again could deliver it twice.
        assert outbox.claim(session, KINDS, now=later + timedelta(days=1)) == []
    assert flagged.id == first.id
    item = _item(sessions, first.id)
    assert (item.state, item.last_error) == ("unconfirmed", outbox.UNCONFIRMED_BY_CRASH)
    assert _item(sessions, second.id).state == "sent"


def test_a_refusal_after_the_commit_puts_a_completing_item_back(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "invitation:1")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        [item] = outbox.claim(session, KINDS, now=now)
        assert outbox.finish(session, item, now=now)
        # Without after_commit, a completing item is not this claim's to undo any more.
        assert not outbox.retry(session, item, "451 try later", now=now)
        assert outbox.retry(session, item, "451 try later", now=now, after_commit=True)
    stored = _item(sessions, item.id)
    assert (stored.state, stored.last_error) == ("pending", "451 try later")


def test_a_worker_whose_lock_expired_cannot_undo_the_new_owners_item(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "invitation:1")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        [old] = outbox.claim(session, KINDS, lock_seconds=10, now=now)
    later = now + timedelta(seconds=11)
    with sessions.begin() as session:
        [new] = outbox.claim(session, KINDS, lock_seconds=10, now=later)
        assert outbox.finish(session, new, now=later, lock_seconds=60)
    with sessions.begin() as session:
        # The old worker's SMTP server refuses at last: nothing of the new owner's changes.
        assert not outbox.retry(session, old, "421 closing", now=later)
        assert not outbox.bury(session, old, "550 refused", now=later)
    stored = _item(sessions, new.id)
    assert stored.state == "completing"
    assert stored.locked_until == later + timedelta(seconds=60)  # renewed at the commit


def test_retries_back_off_and_dead_items_stay(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    assert outbox.backoff(1) == timedelta(seconds=30)
    assert outbox.backoff(3) == timedelta(minutes=2)
    assert outbox.backoff(30) == timedelta(hours=6)
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "invitation", "invitation:1")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        [claimed] = outbox.claim(session, KINDS, now=now)
        outbox.retry(session, claimed, "451 busy", now=now)
    retried = _item(sessions, claimed.id)
    assert (retried.state, retried.last_error) == ("pending", "451 busy")
    assert retried.available_at == now + timedelta(seconds=30)
    with sessions.begin() as session:
        assert outbox.claim(session, KINDS, now=now + timedelta(seconds=29)) == []
        [again] = outbox.claim(session, KINDS, now=now + timedelta(seconds=31))
        outbox.bury(session, again, "550 no such user")
    dead = _item(sessions, claimed.id)
    assert (dead.state, dead.attempts, dead.last_error) == ("dead", 2, "550 no such user")
    with sessions() as session:
        assert outbox.count_by_state(session, org.id) == {"dead": 1}


def test_an_item_made_by_the_caller_is_added_unless_queued(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    def made(payload: dict[str, int]) -> OutboxItem:
        return OutboxItem(
            organisation_id=org.id, kind="report", dedupe_key="report:1:2026-10", payload=payload
        )

    with sessions.begin() as session:
        first = made({"n": 1})
        assert outbox.add_unless_queued(session, first)
        assert first.id is not None
        # The taken key undoes the second insert only: the first stays in the transaction.
        assert not outbox.add_unless_queued(session, made({"n": 2}))
    with sessions() as session:
        [item] = session.scalars(select(OutboxItem)).all()
    assert item.payload == {"n": 1}
