"""The rate limits' buckets shared through PostgreSQL: one statement per attempt, the same
limit whichever process (here: whichever ``SharedBuckets``) asks, exact under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store.models import RateBucket
from cxpulse.store.rate_buckets import BucketsUnavailable, SharedBuckets, Taken

ON_POSTGRESQL = pytest.mark.parametrize("database_kind", ["postgresql"])
"""The shared buckets exist on PostgreSQL only (SQLite serves from one process)."""


@pytest.fixture
def buckets(engine: Engine) -> Iterator[SharedBuckets]:
    made = SharedBuckets(engine.url)
    try:
        yield made
    finally:
        made.close()


@ON_POSTGRESQL
def test_a_bucket_lets_its_burst_through_then_refuses_with_the_wait(
    buckets: SharedBuckets,
) -> None:
    taken = [buckets.take("login:198.51.100.7", 3, 6.0) for _ in range(5)]
    assert [t.allowed for t in taken] == [True, True, True, False, False]
    # 6 a minute: a token every 10 s; after three, the bucket is full 30 s later.
    assert taken[2].ahead == pytest.approx(30.0, abs=0.5)
    assert taken[2].tokens(3, 6.0) == pytest.approx(0.0, abs=0.1)
    assert taken[3].wait(3, 6.0) == pytest.approx(10.0, abs=0.5)
    assert taken[0].wait(3, 6.0) == 0.0
    # Another client, and the same client under another limit, have buckets of their own.
    assert buckets.take("login:198.51.100.8", 3, 6.0).allowed
    assert buckets.take("public:198.51.100.7", 3, 6.0).allowed


@ON_POSTGRESQL
def test_two_processes_share_one_limit(engine: Engine, buckets: SharedBuckets) -> None:
    other = SharedBuckets(engine.url)
    try:
        answers = [(buckets if n % 2 else other).take("login:a", 4, 1.0).allowed for n in range(8)]
    finally:
        other.close()
    assert answers == [True] * 4 + [False] * 4


@ON_POSTGRESQL
def test_concurrent_attempts_from_two_processes_let_exactly_the_burst_through(
    engine: Engine, buckets: SharedBuckets
) -> None:
    other = SharedBuckets(engine.url)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(which: SharedBuckets) -> None:
        for _ in range(25):
            outcome = which.take("public:203.0.113.9", 20, 0.01)
            with lock:
                allowed.append(outcome.allowed)

    threads = [threading.Thread(target=hammer, args=(b,)) for b in (buckets, other) * 2]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert len(allowed) == 100
    assert sum(allowed) == 20


@ON_POSTGRESQL
def test_purge_deletes_only_the_buckets_that_are_full_again(
    buckets: SharedBuckets, sessions: sessionmaker[Session]
) -> None:
    buckets.take("login:full-soon", 1, 60.0)
    buckets.take("login:busy", 1, 0.5)
    with sessions.begin() as session:
        # The first one's moment of being full again has passed.
        session.execute(
            text("UPDATE rate_buckets SET full_at = full_at - 5 WHERE bucket = 'login:full-soon'")
        )
    buckets.purge()
    with sessions() as session:
        assert list(session.scalars(select(RateBucket.bucket))) == ["login:busy"]
        assert session.scalar(select(func.count()).select_from(RateBucket)) == 1
    # Purged is the same as full: the next attempt goes through.
    assert buckets.take("login:full-soon", 1, 60.0).allowed
    assert not buckets.take("login:busy", 1, 0.5).allowed


@ON_POSTGRESQL
def test_the_table_skips_the_write_ahead_log(engine: Engine) -> None:
    with engine.connect() as connection:
        persistence = connection.scalar(
            text("SELECT relpersistence FROM pg_class WHERE relname = 'rate_buckets'")
        )
    assert persistence == "u"


@ON_POSTGRESQL
def test_an_unreachable_database_is_said_quickly(engine: Engine) -> None:
    closed = engine.url.set(host="127.0.0.1", port=9)  # the discard port: nothing listens
    buckets = SharedBuckets(closed)
    try:
        with pytest.raises(BucketsUnavailable):
            buckets.take("login:x", 3, 6.0)
        with pytest.raises(BucketsUnavailable):
            buckets.purge()
    finally:
        buckets.close()


def test_a_refusal_says_how_long_to_wait() -> None:
    # 10 a minute: a token every 6 s; 57 s from full is half a token left.
    assert Taken(allowed=False, ahead=57.0).wait(10, 10.0) == pytest.approx(3.0)
    assert Taken(allowed=True, ahead=57.0).wait(10, 10.0) == 0.0
    assert Taken(allowed=False, ahead=0.0).tokens(10, 10.0) == 10.0


def test_sqlite_is_refused() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        SharedBuckets("sqlite:///unused.db")
