"""Login lockouts: per account and source address, with a growing lock, and a soft delay per
account that an attacker cannot turn into locking its owner out.

Two tallies of wrong passwords, both in the database (so every server process sees them):

- **account and source** (one row per account and client address): after
  ``source_limit`` failures (5) that address is locked out of that account for
  ``first_lock`` (1 minute), doubled at each further failure up to ``longest_lock``
  (1 hour). Other addresses are not affected, so an attacker locks out only themselves.
  A successful login from the address clears its tally.
- **account** (the row with source ``*``, counting failures from every address): after
  ``account_limit`` failures (20), attempts from addresses that have not logged in to the
  account within ``familiar_for`` (90 days) wait ``first_delay`` (5 seconds) between
  failures, doubled at each further one up to ``longest_delay`` (1 minute). This slows an
  attack spread over many addresses to about one guess a minute; the owner, from an
  address they logged in from before, never waits for it.

Failures older than ``forget_after`` (24 hours) are forgotten at the next one. Accounts are
named by user id, or by a digest of the address typed when it is nobody's, so that locks
behave alike for addresses with and without an account. The caller checks ``refusal`` before
the password (a locked attempt never reaches it), then records the outcome.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store import email_addresses
from cxpulse.store.models import LoginAttempt
from cxpulse.store.types import utc_now

ALL_SOURCES = "*"
MAX_SOURCE = 64


@dataclass(frozen=True)
class LockoutPolicy:
    source_limit: int = 5
    first_lock: timedelta = timedelta(minutes=1)
    longest_lock: timedelta = timedelta(hours=1)
    account_limit: int = 20
    first_delay: timedelta = timedelta(seconds=5)
    longest_delay: timedelta = timedelta(minutes=1)
    forget_after: timedelta = timedelta(hours=24)
    familiar_for: timedelta = timedelta(days=90)

    def source_lock(self, failures: int) -> timedelta | None:
        return _growing(failures, self.source_limit, self.first_lock, self.longest_lock)

    def account_delay(self, failures: int) -> timedelta | None:
        return _growing(failures, self.account_limit, self.first_delay, self.longest_delay)


DEFAULT_POLICY = LockoutPolicy()


def _growing(failures: int, limit: int, first: timedelta, longest: timedelta) -> timedelta | None:
    """None under ``limit`` failures; then ``first``, doubling per failure, at most ``longest``."""
    if failures < limit:
        return None
    doublings = min(failures - limit, 32)  # 2**32 minutes is far past any cap
    return min(first * (1 << doublings), longest)


def user_account(user_id: int) -> str:
    return f"user:{user_id}"


def address_account(email: str) -> str:
    """The account name of an address that is nobody's, the same for every spelling of it: a
    digest, so that what people type into the email field (sometimes a password) is never
    stored."""
    key = email_addresses.lookup_key(email)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass"))
    return f"email:{digest.hexdigest()}"


def _source(source: str) -> str:
    return (source or "unknown")[:MAX_SOURCE]


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused before its password is checked, and for how long."""

    wait: timedelta
    reason: Literal["source", "account"]
    """``source``: this address failed too often for this account; ``account``: the account
    had too many failures from many addresses, and this address is not a familiar one."""


def refusal(
    session: Session,
    account: str,
    source: str,
    *,
    now: datetime | None = None,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> Refusal | None:
    """Whether an attempt on ``account`` from ``source`` must wait; None when it may go on."""
    moment = now or utc_now()
    rows = {
        row.source: row
        for row in session.scalars(
            select(LoginAttempt).where(
                LoginAttempt.account == account,
                LoginAttempt.source.in_((_source(source), ALL_SOURCES)),
            )
        )
    }
    mine = rows.get(_source(source))
    if mine is not None and mine.locked_until is not None and mine.locked_until > moment:
        return Refusal(mine.locked_until - moment, "source")
    familiar = (
        mine is not None
        and mine.last_success_at is not None
        and mine.last_success_at > moment - policy.familiar_for
    )
    everyone = rows.get(ALL_SOURCES)
    if (
        not familiar
        and everyone is not None
        and everyone.locked_until is not None
        and everyone.locked_until > moment
    ):
        return Refusal(everyone.locked_until - moment, "account")
    return None


def _row(session: Session, account: str, source: str, moment: datetime) -> LoginAttempt:
    """The tally of ``account`` and ``source``, created when missing and locked for this
    transaction (FOR UPDATE on PostgreSQL; SQLite's write transaction is one at a time)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginAttempt)
        .values(account=account, source=source, failures=0, updated_at=moment)
        .on_conflict_do_nothing(index_elements=["account", "source"])
    )
    row = session.scalar(
        select(LoginAttempt)
        .where(LoginAttempt.account == account, LoginAttempt.source == source)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


@dataclass(frozen=True)
class Failure:
    """A wrong password recorded: the tallies, and whether it started a lock (the moment
    to tell the account's owner)."""

    source_failures: int
    account_failures: int
    source_locked_for: timedelta | None
    account_delay: timedelta | None
    lock_started: bool


def record_failure(
    session: Session,
    account: str,
    source: str,
    *,
    now: datetime | None = None,
    policy: LockoutPolicy = DEFAULT_POLICY,
) -> Failure:
    """Count a wrong password of ``account`` from ``source`` (flushed, not committed)."""
    moment = now or utc_now()
    forgotten = moment - policy.forget_after
    tallies: list[int] = []
    # Always the address's row first, then the account's: concurrent writers lock in the
    # same order, so they wait for each other instead of deadlocking.
    for key in (_source(source), ALL_SOURCES):
        row = _row(session, account, key, moment)
        if row.last_failed_at is None or row.last_failed_at <= forgotten:
            row.failures = 0
        row.failures += 1
        tallies.append(row.failures)
        lock = (
            policy.source_lock(row.failures)
            if key != ALL_SOURCES
            else policy.account_delay(row.failures)
        )
        row.locked_until = None if lock is None else moment + lock
        row.last_failed_at = row.updated_at = moment
    session.flush()
    mine, everyone = tallies
    return Failure(
        source_failures=mine,
        account_failures=everyone,
        source_locked_for=policy.source_lock(mine),
        account_delay=policy.account_delay(everyone),
        lock_started=mine == policy.source_limit or everyone == policy.account_limit,
    )


def record_success(
    session: Session, account: str, source: str, *, now: datetime | None = None
) -> None:
    """A login from ``source``: its tally starts again, and the address is now familiar.
    The account's tally stays: an attack from elsewhere goes on being slowed."""
    moment = now or utc_now()
    row = _row(session, account, _source(source), moment)
    row.failures = 0
    row.locked_until = None
    row.last_success_at = moment
    row.updated_at = moment
    session.flush()


def purge(
    session: Session, now: datetime | None = None, *, policy: LockoutPolicy = DEFAULT_POLICY
) -> int:
    """Delete the tallies that no longer matter: failures forgotten (``forget_after``) and no
    login within ``familiar_for``; how many."""
    moment = now or utc_now()
    gone = session.execute(
        delete(LoginAttempt)
        .where(
            LoginAttempt.updated_at < moment - policy.forget_after,
            or_(
                LoginAttempt.last_success_at.is_(None),
                LoginAttempt.last_success_at < moment - policy.familiar_for,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(gone, "rowcount", 0) or 0)
