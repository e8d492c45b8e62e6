"""Claims on comments to analyse, on PostgreSQL (where several workers share the queue) and
SQLite (one worker, claims are no-ops): a claimed id is skipped by another transaction, never
waited for; the claims end with their transaction, and with their connection when a process
dies; writes of one organisation's analyses take turns."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, comment_analyses, comment_claims, comment_queue, surveys

from .analysis_support import VERSION, analysed, answer, write


def _postgresql_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("claims are taken on PostgreSQL only")


def _wait(check: object, seconds: float = 10.0) -> None:
    assert callable(check)
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sqlite_claims_everything_without_sql(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's no-op")
    with sessions() as first, sessions() as second:
        assert comment_claims.claim(first, [3, 1, 2, 3]) == {1, 2, 3}
        assert comment_claims.claim(second, [1, 2]) == {1, 2}
        assert comment_claims.claimed_elsewhere(second, [1]) == set()
        comment_claims.take_write_turn(first, 1)
        # No statement ran, so neither session began a transaction (or took the write lock).
        assert not first.in_transaction()
        assert not second.in_transaction()


def test_a_claimed_id_is_skipped_by_another_transaction(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _postgresql_only(engine)
    with sessions() as first, sessions() as second:
        assert comment_claims.claim(first, [10, 11, 12]) == {10, 11, 12}
        assert comment_claims.claim(first, [10]) == {10}  # its own: claimed again
        started = time.monotonic()
        assert comment_claims.claim(second, [9, 10, 11, 13]) == {9, 13}
        assert time.monotonic() - started < 1.0  # skipped, not waited for
        assert comment_claims.claimed_elsewhere(second, [10, 11, 12, 14]) == {10, 11, 12}
        assert comment_claims.claimed_elsewhere(first, [9, 13]) == {9, 13}

        first.rollback()  # the end of the transaction releases every claim
        assert comment_claims.claim(second, [10, 11, 12]) == {10, 11, 12}
        second.commit()
        assert comment_claims.claim(first, [9, 10, 13]) == {9, 10, 13}


def test_claims_of_large_ids_and_other_advisory_locks_do_not_collide(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _postgresql_only(engine)
    big = 2**40 + 7
    with sessions() as first, sessions() as second:
        assert comment_claims.claim(first, [big]) == {big}
        assert comment_claims.claim(second, [big]) == set()
        # The write turn of organisation 5 is not the claim on response 5.
        comment_claims.take_write_turn(first, 5)
        assert comment_claims.claim(second, [5]) == {5}


def test_a_connection_closed_mid_round_releases_its_claims(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _postgresql_only(engine)
    with sessions() as first, sessions() as second:
        assert comment_claims.claim(first, [21, 22]) == {21, 22}
        assert comment_claims.claim(second, [21, 22]) == set()
        # The connection goes away without a rollback (as when the network drops).
        first.connection().invalidate()
        _wait(lambda: comment_claims.claim(second, [21, 22]) == {21, 22})


def test_a_killed_process_releases_its_claims(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    _postgresql_only(engine)
    url = engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from cxpulse.store import comment_claims\n"
            "from cxpulse.store.db import create_engine_for, session_factory\n"
            "session = session_factory(create_engine_for(sys.argv[1]))()\n"
            "print(sorted(comment_claims.claim(session, [31, 32])), flush=True)\n"
            "time.sleep(600)\n",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "[31, 32]"
        with sessions() as session:
            assert comment_claims.claim(session, [31, 32, 33]) == {33}
            session.rollback()
            child.kill()
            child.wait(timeout=30)
            _wait(lambda: comment_claims.claim(session, [31, 32]) == {31, 32})
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def test_writes_of_one_organisation_take_turns(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """A second worker's write waits for the first's instead of failing on its rows."""
    _postgresql_only(engine)
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")
        mine = analysed(answer(session, org.id, survey.id, 4, "first"))
        theirs = analysed(answer(session, org.id, survey.id, 4, "second"))  # same daily count
    finished: list[comment_analyses.WriteCounts] = []

    def second_worker() -> None:
        with sessions.begin() as session:
            finished.append(write(session, org.id, theirs))

    with sessions() as first:
        assert write(first, org.id, mine).written == 1
        waiting = threading.Thread(target=second_worker)
        waiting.start()
        time.sleep(0.5)  # far past the write's lock timeout: it waits for its turn
        assert finished == []
        first.commit()
    waiting.join(timeout=30)
    assert [counts.written for counts in finished] == [1]
    with sessions() as session:
        assert (
            comment_queue.still_waiting(
                session, [mine.response_id, theirs.response_id], {org.id: VERSION}
            )
            == set()
        )


def test_a_write_skips_an_answer_being_edited_instead_of_waiting(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """The genuine conflict: a request holds an answer's row; the rest of the batch is
    written at once and that answer stays queued."""
    _postgresql_only(engine)
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(session, org.id, slug="s", name="S", metric="csat")
        edited = analysed(answer(session, org.id, survey.id, 4, "being edited"))
        others = [analysed(answer(session, org.id, survey.id, 2, f"fine {n}")) for n in range(3)]
    with sessions() as request:
        request.execute(
            text("UPDATE responses SET language = 'en' WHERE id = :id"),
            {"id": edited.response_id},
        )
        started = time.monotonic()
        with sessions.begin() as session:
            counts = write(session, org.id, edited, *others)
        assert time.monotonic() - started < 1.0
        assert (counts.written, counts.skipped) == (3, 1)
        request.rollback()
    with sessions() as session:
        [pending] = comment_queue.unanalysed_comments(session, limit=10)
        assert pending.response_id == edited.response_id
