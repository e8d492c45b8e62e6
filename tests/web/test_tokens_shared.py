"""The rate limits of several processes on one PostgreSQL database (``SharedTokenBucket``):
two apps on one database stand for two server processes; the real processes are in
``tests/adversarial/test_several_processes.py``."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from cxpulse.store.rate_buckets import SharedBuckets
from cxpulse.web.state import AppState
from cxpulse.web.tokens import SharedTokenBucket, TokenBucket

from .helpers import BASE_URL, PASSWORD, World, make_app

ON_POSTGRESQL = pytest.mark.parametrize("database_kind", ["postgresql"])


def test_postgresql_shares_the_limits_and_sqlite_keeps_them_in_memory(
    engine: Engine, database_kind: str
) -> None:
    app = make_app(engine)
    state: AppState = app.state.cxpulse
    limiters = [state.login_limiter, state.public_limiter, app.state.unsigned_answers_limiter]
    if database_kind == "postgresql":
        assert state.rate_buckets is not None
        assert all(isinstance(each, SharedTokenBucket) for each in limiters)
        assert [each.name for each in limiters if isinstance(each, SharedTokenBucket)] == [
            "login",
            "public",
            "unsigned",
        ]
        state.rate_buckets.close()
    else:
        assert state.rate_buckets is None
        assert not any(isinstance(each, SharedTokenBucket) for each in limiters)
        assert all(isinstance(each, TokenBucket) for each in limiters)


@ON_POSTGRESQL
def test_the_login_limit_holds_across_two_apps(engine: Engine, world: World) -> None:
    apps = [make_app(engine, login_burst=3, login_per_minute=0.01) for _ in range(2)]
    body = {"email": world.a.emails["owner"], "password": PASSWORD}
    with (
        TestClient(apps[0], base_url=BASE_URL) as first,
        TestClient(apps[1], base_url=BASE_URL) as second,
    ):
        codes = [(first, second)[n % 2].post("/api/v1/auth/login", json=body) for n in range(6)]
    assert [answer.status_code for answer in codes] == [200, 200, 200, 429, 429, 429]
    assert all(int(answer.headers["Retry-After"]) > 60 for answer in codes[3:])


@ON_POSTGRESQL
def test_a_client_over_its_limit_is_refused_from_memory(engine: Engine) -> None:
    buckets = SharedBuckets(engine.url)
    limiter = SharedTokenBucket("login", 2, 0.01, buckets)
    try:
        assert [limiter.take("192.0.2.1") for _ in range(2)] == [0.0, 0.0]
        assert limiter.take("192.0.2.1") > 60
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_buckets"))
        # The database forgot; this process's mirror of its last answer still refuses.
        assert limiter.take("192.0.2.1") > 60
        assert limiter.take("192.0.2.2") == 0.0
    finally:
        buckets.close()


@ON_POSTGRESQL
def test_another_process_spending_tokens_is_seen(engine: Engine) -> None:
    buckets = SharedBuckets(engine.url)
    mine = SharedTokenBucket("public", 3, 0.01, buckets)
    theirs = SharedTokenBucket("public", 3, 0.01, buckets)
    try:
        assert mine.take("192.0.2.9") == 0.0
        assert theirs.take("192.0.2.9") == 0.0
        assert theirs.take("192.0.2.9") == 0.0
        # Mine's memory holds two tokens; the database holds none.
        assert mine.take("192.0.2.9") > 0
        assert theirs.take("192.0.2.9") > 0
    finally:
        buckets.close()


@ON_POSTGRESQL
def test_an_unreachable_database_falls_back_on_the_process_limit(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    buckets = SharedBuckets(engine.url.set(host="127.0.0.1", port=9))
    limiter = SharedTokenBucket("login", 2, 0.01, buckets)
    try:
        with caplog.at_level(logging.WARNING, logger="cxpulse.web"):
            answers = [limiter.take("192.0.2.5") for _ in range(4)]
    finally:
        buckets.close()
    assert answers[:2] == [0.0, 0.0]
    assert all(wait > 60 for wait in answers[2:])
    warnings = [r for r in caplog.records if "counted by this process alone" in r.message]
    assert len(warnings) == 1
