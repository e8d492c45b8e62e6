"""Login lockouts (``store.login_attempts``) on SQLite and PostgreSQL: per account and address
with a growing lock, and the softer account-wide delay that spares familiar addresses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import login_attempts as attempts
from cxpulse.store.models import LoginAttempt
from cxpulse.store.types import utc_now

ACCOUNT = attempts.user_account(7)
ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"
POLICY = attempts.DEFAULT_POLICY


def test_the_default_policy_in_numbers() -> None:
    assert [POLICY.source_lock(n) for n in (4, 5, 6, 7, 10, 11, 50)] == [
        None,
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=32),
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    assert [POLICY.account_delay(n) for n in (19, 20, 21, 22, 23, 24, 1000)] == [
        None,
        timedelta(seconds=5),
        timedelta(seconds=10),
        timedelta(seconds=20),
        timedelta(seconds=40),
        timedelta(minutes=1),
        timedelta(minutes=1),
    ]


def _fail(
    session: Session, source: str, times: int, now: datetime | None = None
) -> attempts.Failure:
    failure = None
    for _ in range(times):
        failure = attempts.record_failure(session, ACCOUNT, source, now=now)
    assert failure is not None
    return failure


def test_an_address_locks_out_only_itself_and_the_lock_grows(session: Session) -> None:
    now = utc_now()
    four = _fail(session, ATTACKER, 4, now)
    assert (four.source_failures, four.lock_started) == (4, False)
    assert attempts.refusal(session, ACCOUNT, ATTACKER, now=now) is None
    fifth = attempts.record_failure(session, ACCOUNT, ATTACKER, now=now)
    assert fifth.lock_started
    assert fifth.source_locked_for == timedelta(minutes=1)
    refused = attempts.refusal(session, ACCOUNT, ATTACKER, now=now + timedelta(seconds=10))
    assert refused == attempts.Refusal(timedelta(seconds=50), "source")
    # The owner, from elsewhere, is not locked out.
    assert attempts.refusal(session, ACCOUNT, OWNER, now=now) is None
    # Nor is the same address on another account.
    assert attempts.refusal(session, attempts.user_account(8), ATTACKER, now=now) is None
    later = now + timedelta(minutes=1)
    assert attempts.refusal(session, ACCOUNT, ATTACKER, now=later) is None
    sixth = attempts.record_failure(session, ACCOUNT, ATTACKER, now=later)
    assert (sixth.source_locked_for, sixth.lock_started) == (timedelta(minutes=2), False)
    refused = attempts.refusal(session, ACCOUNT, ATTACKER, now=later + timedelta(seconds=90))
    assert refused is not None
    assert refused.wait == timedelta(seconds=30)


def test_a_login_clears_the_address_tally_but_not_the_accounts(session: Session) -> None:
    now = utc_now()
    _fail(session, OWNER, 5, now)
    assert attempts.refusal(session, ACCOUNT, OWNER, now=now) is not None
    attempts.record_success(session, ACCOUNT, OWNER, now=now + timedelta(minutes=2))
    row = session.scalar(
        select(LoginAttempt).where(LoginAttempt.account == ACCOUNT, LoginAttempt.source == OWNER)
    )
    assert row is not None
    assert (row.failures, row.locked_until) == (0, None)
    everyone = session.scalar(
        select(LoginAttempt).where(
            LoginAttempt.account == ACCOUNT, LoginAttempt.source == attempts.ALL_SOURCES
        )
    )
    assert everyone is not None
    assert everyone.failures == 5
    # Counting starts again: four more wrong passwords do not lock.
    _fail(session, OWNER, 4, now + timedelta(minutes=3))
    assert attempts.refusal(session, ACCOUNT, OWNER, now=now + timedelta(minutes=3)) is None


def test_failures_from_many_addresses_slow_strangers_but_never_familiar_addresses(
    session: Session,
) -> None:
    now = utc_now()
    attempts.record_success(session, ACCOUNT, OWNER, now=now - timedelta(days=10))
    last = None
    for n in range(20):  # one wrong password from each of 20 addresses: no address locks
        last = attempts.record_failure(session, ACCOUNT, f"192.0.2.{n}", now=now)
        assert last.source_locked_for is None
    assert last is not None
    assert last.lock_started  # the account-wide delay starts: its owner hears of it
    assert last.account_delay == timedelta(seconds=5)
    stranger = attempts.refusal(session, ACCOUNT, "192.0.2.200", now=now)
    assert stranger == attempts.Refusal(timedelta(seconds=5), "account")
    # The owner's usual address is familiar: no wait.
    assert attempts.refusal(session, ACCOUNT, OWNER, now=now) is None
    # The delay is short and ends: the attacker gets about one try per delay.
    assert attempts.refusal(session, ACCOUNT, "192.0.2.200", now=now + timedelta(seconds=5)) is None
    # A familiarity older than 90 days is forgotten.
    attempts.record_success(session, ACCOUNT, "192.0.2.250", now=now - timedelta(days=91))
    assert attempts.refusal(session, ACCOUNT, "192.0.2.250", now=now) is not None


def test_failures_a_day_old_are_forgotten(session: Session) -> None:
    then = utc_now() - timedelta(hours=25)
    _fail(session, ATTACKER, 4, then)
    again = attempts.record_failure(session, ACCOUNT, ATTACKER)
    assert (again.source_failures, again.account_failures) == (1, 1)


def test_addresses_that_are_nobodys_are_named_by_digest_alike_in_any_spelling() -> None:
    one = attempts.address_account("Nobody@Example.COM ")
    assert one == attempts.address_account("nobody@example.com")
    assert one.startswith("email:")
    assert "nobody" not in one
    assert attempts.address_account("my password, typed in the wrong box") != one
    assert len(attempts.address_account("x" * 5000)) <= 80


def test_purge_keeps_what_still_matters(session: Session) -> None:
    now = utc_now()
    _fail(session, "192.0.2.1", 3, now - timedelta(days=2))  # stale failures
    attempts.record_success(session, ACCOUNT, OWNER, now=now - timedelta(days=30))  # familiar
    attempts.record_success(session, ACCOUNT, "192.0.2.9", now=now - timedelta(days=100))
    _fail(session, ATTACKER, 1, now)  # fresh
    # Gone: the stale failures of 192.0.2.1, the familiarity of 192.0.2.9 that ran out.
    assert attempts.purge(session, now) == 2
    left = set(session.scalars(select(LoginAttempt.source)))
    assert left == {OWNER, ATTACKER, attempts.ALL_SOURCES}
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 3


@pytest.mark.parametrize("source", ["", "x" * 300])
def test_odd_sources_are_stored_within_their_column(session: Session, source: str) -> None:
    attempts.record_failure(session, ACCOUNT, source)
    assert all(len(s) <= 64 for s in session.scalars(select(LoginAttempt.source)))
