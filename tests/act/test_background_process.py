"""Background work in a child process, on SQLite and PostgreSQL: a new answer is analysed
and its rules run within seconds by another process (the server's interpreter never runs the
text stage or the tasks), the child runs at a lower priority, stops when told, and is only
started where it can work."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import rules
from cxpulse.act.background_process import BackgroundProcess, TaskSettings
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


def _niceness(pid: int) -> int:
    # Field 19 of /proc/PID/stat; the command name (field 2) may hold spaces, so count
    # from its closing parenthesis.
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


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
        while _niceness(process.pid) < _niceness(os.getpid()) + 10:
            assert time.monotonic() - started < 60, "the child kept the server's priority"
            time.sleep(0.05)
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
