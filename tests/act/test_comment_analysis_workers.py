"""Several comment analysers sharing the queue on PostgreSQL: each comment is analysed once,
whoever finds it first; a round skips what another holds and looks past it; a comment
written meanwhile is not redone; a write that meets a locked row gives back only its own
organisation's batch, with a warning. (SQLite has one analyser: test_comment_analysis.py.)"""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act.comment_analysis import CommentAnalyser
from cxpulse.store import (
    accounts,
    comment_analyses,
    comment_claims,
    comment_queue,
    responses,
    surveys,
)
from cxpulse.store.comment_queue import PendingComment
from cxpulse.store.models import AnalysedComment, Organisation, Survey

AT = datetime(2024, 5, 2, 10, tzinfo=UTC)
PHRASES = (
    "Fast delivery, great price",
    "The parcel arrived late and support was rude",
    "Friendly staff, I was billed twice though",
    "The website kept crashing at checkout",
)


@pytest.fixture(autouse=True)
def _postgresql_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several analysers share the queue on PostgreSQL only")


class RecordingAnalyser(CommentAnalyser):
    """The real analyser, noting which comments it analysed and whether it held their claims
    (from another connection's point of view) while it did."""

    def __init__(self, sessions: sessionmaker[Session], **kwargs: Any) -> None:
        super().__init__(sessions, **kwargs)
        self.ids: list[int] = []
        self.held_while_analysing = True

    def _analyse(
        self,
        organisation_id: int,
        comments: list[PendingComment],
        settings: Mapping[int, comment_analyses.AnalysisSettings],
    ) -> int:
        ids = [comment.response_id for comment in comments]
        self.ids += ids
        with self.sessions() as observer:
            if comment_claims.claimed_elsewhere(observer, ids) != set(ids):
                self.held_while_analysing = False
        return super()._analyse(organisation_id, comments, settings)


def _add(sessions: sessionmaker[Session], org: Organisation, survey: Survey, count: int) -> None:
    with sessions.begin() as session:
        responses.add_responses(
            session,
            org.id,
            [
                responses.NewResponse(
                    survey_id=survey.id,
                    score=1 + n % 5,
                    submitted_at=AT + timedelta(minutes=n),
                    comment=f"{PHRASES[n % len(PHRASES)]} (order {n})",
                )
                for n in range(count)
            ],
        )


def _pending_ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return [c.response_id for c in comment_queue.unanalysed_comments(session, limit=10_000)]


def _seed(sessions: sessionmaker[Session], org: Organisation) -> None:
    from cxpulse.act.comment_analysis import ensure_starter_taxonomy

    with sessions.begin() as session:
        ensure_starter_taxonomy(session, org.id)


# -- two processes -----------------------------------------------------------------------------


def _analyser_process(url: str, start: Any, results: Any) -> None:
    """A worker of its own (its own interpreter, engine and connections): warms the text
    stage up, waits for the other, then runs rounds until the queue is empty."""
    import time

    from cxpulse.act.comment_pipeline import analyse_safely, comment_inputs  # noqa: F401
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.text.analysis import CommentInput
    from cxpulse.text.taxonomy import starter_taxonomy
    from cxpulse.text.theme_matching import ThemeMatcher

    problems: list[str] = []

    class Problems(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            problems.append(record.getMessage())

    logging.getLogger("cxpulse").addHandler(Problems(level=logging.WARNING))
    engine = create_engine_for(url)
    analyser = RecordingAnalyser(session_factory(engine), batch=25)
    analyse_safely([CommentInput("Warming up", None, "en")], ThemeMatcher(starter_taxonomy()), {})
    start.wait(timeout=600)
    deadline = time.monotonic() + 600
    try:
        while _pending_ids(analyser.sessions) and time.monotonic() < deadline:
            analyser.run_once()
    except Exception as error:  # reported to the test, which fails with it
        problems.append(f"{type(error).__name__}: {error}")
    finally:
        engine.dispose()
    results.put((analyser.ids, analyser.analysed, analyser.held_while_analysing, problems))


@pytest.mark.slow
def test_two_worker_processes_analyse_each_comment_once(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    _seed(sessions, org)
    _add(sessions, org, survey, 400)
    everything = set(_pending_ids(sessions))
    assert len(everything) == 400

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    results = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        context.Process(target=_analyser_process, args=(url, start, results)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        reports = [results.get(timeout=900) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()
                worker.join()
        results.close()
        results.join_thread()

    for _, _, _, problems in reports:
        assert problems == []  # no LockNotAvailable, no failed round, no warning
    analysed_by_id = Counter(i for ids, _, _, _ in reports for i in ids)
    assert set(analysed_by_id) == everything
    assert max(analysed_by_id.values()) == 1  # no comment analysed twice
    assert sum(count for _, count, _, _ in reports) == 400  # and none written twice
    assert all(ids for ids, _, _, _ in reports)  # both took a share
    assert all(held for _, _, held, _ in reports)  # under a claim the whole time
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnalysedComment)) == 400
    assert _pending_ids(sessions) == []


# -- one round, another worker's claims ------------------------------------------------------


def test_a_round_skips_what_another_worker_holds_and_looks_past_it(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    _seed(sessions, org)
    _add(sessions, org, survey, 9)
    ids = _pending_ids(sessions)
    analyser = RecordingAnalyser(sessions, batch=3)
    with sessions() as other:
        assert comment_claims.claim(other, ids[:6]) == set(ids[:6])
        assert analyser.run_once() == 3
        assert analyser.ids == ids[6:]  # the first two looks found only held comments
        assert analyser.held_while_analysing
        assert analyser.run_once() == 0
    # The other worker's round ended without writing (it died, say): nothing is lost.
    assert analyser.run_once() + analyser.run_once() == 6
    assert sorted(analyser.ids) == ids
    assert _pending_ids(sessions) == []
    with sessions() as session:
        assert comment_claims.claimed_elsewhere(session, ids) == set()  # all released


def test_a_comment_written_meanwhile_is_not_analysed_again(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    """Found by one worker, written by another before the first could claim it."""
    _seed(sessions, org)
    _add(sessions, org, survey, 4)

    with sessions() as session:
        found = comment_queue.unanalysed_comments(session, limit=10)

    class Late(RecordingAnalyser):
        def _find(self, session: Session, settings: Any, **kwargs: Any) -> list[PendingComment]:
            return list(found)  # what it read before the other worker's write

    late = Late(sessions, batch=10)
    assert RecordingAnalyser(sessions, batch=10).run_once() == 4
    assert late.run_once() == 0
    assert late.ids == []


def test_a_write_that_meets_a_locked_row_gives_back_only_its_batch(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A genuine conflict: a request holds a daily count this organisation's write must
    change (deleting an answer of that day, say). The write is tried again, then given back
    to the queue with a warning; the other organisation's batch of the round is written."""
    _seed(sessions, org)
    with sessions.begin() as session:
        globex = accounts.create_organisation(session, slug="globex", name="Globex")
        theirs = surveys.create_survey(session, globex.id, slug="s", name="S", metric="csat")
    _seed(sessions, globex)
    analyser = CommentAnalyser(sessions)
    _add(sessions, org, survey, 1)
    assert analyser.run_once() == 1  # its daily count now exists
    with sessions.begin() as session:
        for comment in ("Great price", "Great price again"):
            responses.add_response(session, org.id, survey.id, 1, submitted_at=AT, comment=comment)
            responses.add_response(
                session, globex.id, theirs.id, 1, submitted_at=AT, comment=comment
            )
    with sessions() as request:
        request.execute(
            text("SELECT count FROM comment_rollups WHERE organisation_id = :org FOR UPDATE"),
            {"org": org.id},
        )
        with caplog.at_level(logging.WARNING, logger="cxpulse.worker"):
            assert analyser.run_once() == 2  # Globex's two
        request.rollback()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"2 analysed comments of organisation {org.id} were not written: rows they need "
        "stayed locked by another transaction; they stay queued for a later round"
    ]
    assert analyser.run_once() == 2  # the next round, once the request has ended
    assert _pending_ids(sessions) == []
