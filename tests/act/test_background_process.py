"""Background work in a child process, on SQLite and PostgreSQL: a new answer is analysed
and its rules run within seconds by another process (the server's interpreter never runs the
text stage or the tasks), the child's text stage runs in a thread of lower priority while its
database work keeps the server's, its writes come in small transactions, it stops when told,
and is only started where it can work."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import rules
from cxpulse.act.background_process import (
    NICENESS,
    TASK_BATCH,
    BackgroundProcess,
    LowPriority,
    TaskSettings,
    _small_batches,
)
from cxpulse.act.comment_analysis import CommentAnalyser
from cxpulse.act.tasks import TASKS
from cxpulse.act.worker import start_background_process, start_inline_worker
from cxpulse.collect.sms import SmsSettings
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.config import ConfigError, Settings
from cxpulse.store import comment_listing, response_tags, responses
from cxpulse.store.db import create_engine_for
from cxpulse.store.models import Organisation, Survey

AT = datetime(2024, 5, 2, 10, tzinfo=UTC)


def _answer(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, text: str, score: int = 5
) -> int:
    with sessions.begin() as session:
        response, _ = responses.add_response(
            session, org.id, survey.id, score, submitted_at=AT, comment=text
        )
        return response.id


def _wait_for(
    sessions: sessionmaker[Session], org: Organisation, response_id: int, seconds: float
) -> comment_listing.Comment:
    started = time.monotonic()
    while True:
        with sessions() as session:
            found = comment_listing.get_comment(session, org.id, response_id)
        if found is not None:
            return found
        assert time.monotonic() - started < seconds, f"not analysed within {seconds} s"
        time.sleep(0.05)


def _tags(sessions: sessionmaker[Session], org: Organisation, response_id: int) -> list[str]:
    with sessions() as session:
        return response_tags.tags_of(session, org.id, [response_id]).get(response_id, [])


SCHED_IDLE = 5


def _stat(path: Path) -> list[str]:
    # The fields of /proc/PID/stat after the command name (field 2), which may hold spaces:
    # counted from its closing parenthesis, so field N is at N - 3.
    return path.read_text().rsplit(")", 1)[1].split()


def _niceness(pid: int) -> int:
    return int(_stat(Path(f"/proc/{pid}/stat"))[16])


def _threads(pid: int) -> dict[int, tuple[int, int]]:
    """(niceness, scheduling policy) of each thread of ``pid``."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = _stat(task / "stat")
        found[int(task.name)] = (int(fields[16]), int(fields[38]))
    return found


def _lowered(threads: dict[int, tuple[int, int]], server: int) -> list[int]:
    return [
        tid
        for tid, (nice, policy) in threads.items()
        if policy == SCHED_IDLE or nice >= server + NICENESS
    ]


@pytest.mark.slow
def test_a_child_process_analyses_new_answers(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    with sessions.begin() as session:
        rules.create_rule(
            session,
            org.id,
            name="Unhappy customers",
            conditions={"band": "bottom"},
            actions={"tag": ["call-back"]},
        )
    tasks = TaskSettings("k", (), SmtpSettings(), SmsSettings())
    process = BackgroundProcess(
        engine.url.render_as_string(hide_password=False),
        busy_timeout_ms=5000,
        tasks=tasks,
        idle_seconds=0.2,
    )
    process.start()
    try:
        assert process.pid is not None
        assert process.pid != os.getpid()
        started = time.monotonic()
        while not _lowered(_threads(process.pid), _niceness(os.getpid())):
            assert time.monotonic() - started < 60, "no thread of the child was lowered"
            time.sleep(0.05)
        # The thread that holds the database's locks keeps the server's priority.
        assert _threads(process.pid)[process.pid] == (_niceness(os.getpid()), 0)
        # The first comment loads the language models in the child (seconds, more on a busy
        # machine); the answers after it are what "within seconds" is about.
        _wait_for(sessions, org, _answer(sessions, org, survey, "Friendly staff"), 600)
        response_id = _answer(sessions, org, survey, "Fast delivery, great price!")
        comment = _wait_for(sessions, org, response_id, 30)
        # The closed loop's tasks run there too: a one-star answer gets its rule's tag.
        unhappy = _answer(sessions, org, survey, "Nobody called back", score=1)
        started = time.monotonic()
        while not _tags(sessions, org, unhappy):
            assert time.monotonic() - started < 30, "the rule did not run within 30 s"
            time.sleep(0.05)
    finally:
        process.stop(timeout=30)
    assert sorted(m.key for m in comment.themes) == ["delivery", "price"]
    assert comment.sentiment == "positive"
    assert not process.is_alive()
    assert process.pid is None

    # Stopped: a later answer waits for the next analyser, nothing analyses it meanwhile.
    waiting = _answer(sessions, org, survey, "The parcel arrived late")
    time.sleep(1.0)
    with sessions() as session:
        assert comment_listing.get_comment(session, org.id, waiting) is None


def test_stopping_a_process_never_started_is_harmless() -> None:
    process = BackgroundProcess("sqlite:////nonexistent/x.db", busy_timeout_ms=100)
    process.stop()
    assert process.pid is None
    assert not process.is_alive()


@pytest.mark.parametrize(
    ("inline", "place", "starts"),
    [
        ("true", "process", True),
        ("true", "thread", False),
        ("true", "off", False),
        ("false", "process", False),
    ],
)
def test_serve_starts_the_child_only_where_it_analyses(
    tmp_path: Path, inline: str, place: str, starts: bool
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    settings = Settings.from_env(
        {
            "CXPULSE_DATABASE_URL": url,
            "CXPULSE_INLINE_WORKER": inline,
            "CXPULSE_BACKGROUND_WORK": place,
        },
        cwd=tmp_path,
    )
    engine = create_engine_for(url)
    try:
        process = start_background_process(engine, settings)
        try:
            assert (process is not None) is starts
        finally:
            if process is not None:
                process.stop()
    finally:
        engine.dispose()


def test_the_inline_worker_does_background_work_only_when_told_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = create_engine_for(url)
    try:
        for place, analyses in [("thread", True), ("process", False), ("off", False)]:
            settings = Settings.from_env(
                {"CXPULSE_DATABASE_URL": url, "CXPULSE_BACKGROUND_WORK": place}, cwd=tmp_path
            )
            inline = start_inline_worker(engine, settings)
            assert inline is not None
            try:
                assert (inline.worker.comments is not None) is analyses
                # The closed loop's tasks go with the comments: in the thread or elsewhere.
                assert bool(inline.worker.tasks.registry.kinds()) is analyses
            finally:
                inline.stop()
    finally:
        engine.dispose()


def test_an_in_memory_database_gets_no_child(tmp_path: Path) -> None:
    settings = Settings.from_env({"CXPULSE_DATABASE_URL": "sqlite://"}, cwd=tmp_path)
    engine = create_engine_for("sqlite://")
    try:
        assert start_background_process(engine, settings) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("value", ["child", "yes", "1"])
def test_an_unknown_place_is_a_clear_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"CXPULSE_BACKGROUND_WORK.*process, thread or off"):
        Settings.from_env({"CXPULSE_BACKGROUND_WORK": value}, cwd=tmp_path)


def test_the_place_is_read_in_any_case(tmp_path: Path) -> None:
    settings = Settings.from_env({"CXPULSE_BACKGROUND_WORK": " Thread "}, cwd=tmp_path)
    assert settings.background_work == "thread"


def test_the_low_priority_thread_is_lowered_and_its_caller_is_not() -> None:
    ours = (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0))
    for idle in (True, False):
        low = LowPriority(idle=idle)
        try:
            tid = low.run(threading.get_native_id)
            assert tid == low.thread_id
            assert tid != threading.get_native_id()
            if idle:
                assert low.policy == "idle"
                assert os.sched_getscheduler(tid) == os.SCHED_IDLE
            else:
                assert low.policy == "nice"
                assert os.sched_getscheduler(tid) == os.SCHED_OTHER
                assert os.getpriority(os.PRIO_PROCESS, tid) == ours[0] + NICENESS
            # What it runs gives its result or its exception to the caller.
            assert low.run(lambda: 6 * 7) == 42
            with pytest.raises(ZeroDivisionError):
                low.run(lambda: 1 / 0)
        finally:
            low.close()
        assert (os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0)) == ours


def test_the_childs_tasks_come_in_small_batches() -> None:
    smaller = _small_batches(TASKS, TASK_BATCH)
    assert smaller.kinds() == TASKS.kinds()
    assert TASKS.handlers(), "the closed loop registered no task"
    for before, after in zip(TASKS.handlers(), smaller.handlers(), strict=True):
        assert after.batch == min(before.batch, TASK_BATCH)
        assert (after.kind, after.run) == (before.kind, before.run)
    # A response-event batch holds SQLite's write lock for all its answers.
    assert max(h.batch for h in TASKS.handlers()) > TASK_BATCH


def test_the_analysis_runs_where_it_is_offloaded_and_writes_in_chunks(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    low = LowPriority()
    ran_in: list[int] = []

    def offload(work: Callable[[], Any]) -> Any:
        def noted() -> Any:
            ran_in.append(threading.get_native_id())
            return work()

        return low.run(noted)

    commits: list[int] = []

    def committed(_connection: Connection) -> None:
        commits.append(threading.get_native_id())

    analyser = CommentAnalyser(sessions, offload=offload, write_chunk=2)
    try:
        # The first comment seeds the organisation's taxonomy (a write of its own).
        _answer(sessions, org, survey, "Friendly staff")
        assert analyser.run_once() == 1
        ids = [_answer(sessions, org, survey, f"Late delivery number {n}") for n in range(5)]
        ran_in.clear()
        event.listen(engine, "commit", committed)
        try:
            assert analyser.run_once() == 5
        finally:
            event.remove(engine, "commit", committed)
    finally:
        low.close()
    # The text stage ran in the low thread; the writes in the caller's, 2 analyses each.
    assert ran_in == [low.thread_id]
    assert commits == [threading.get_native_id()] * 3
    with sessions() as session:
        for response_id in ids:
            found = comment_listing.get_comment(session, org.id, response_id)
            assert found is not None
            assert "delivery" in {m.key for m in found.themes}


@pytest.mark.slow
def test_while_answers_arrive_the_child_pauses_briefly_not_for_its_idle_time(
    engine: Engine, sessions: sessionmaker[Session], org: Organisation, survey: Survey
) -> None:
    # Idle for a minute after a round without work, 2 s after a round with some: each
    # answer below comes within those 2 s of the last one's analysis, so none waits for
    # the idle minute (rounds of a few answers, not one burst every idle period).
    process = BackgroundProcess(
        engine.url.render_as_string(hide_password=False),
        busy_timeout_ms=5000,
        idle_seconds=60,
        pause_seconds=2.0,
    )
    process.start()
    try:
        # The first comment loads the language models in the child.
        _wait_for(sessions, org, _answer(sessions, org, survey, "Friendly staff"), 600)
        for n in range(4):
            _wait_for(sessions, org, _answer(sessions, org, survey, f"Late parcel {n}"), 20)
    finally:
        process.stop(timeout=30)
