"""``cxpulse serve``'s background work in a child process: comment analysis and the closed
loop's tasks.

The text stage is pure Python: language scores, lemmas, theme matching and sentiment hold
the interpreter's lock for the whole batch, and loading its dictionaries takes seconds. The
closed loop's tasks (the rules of each new answer, webhook deliveries, alert scans,
retention, SMS) run for every answer too. In a thread of the serving process that time is
taken from the requests (submissions waited up to a second at the 99th percentile while a
batch of comments was analysed). A child process has its own interpreter, runs on the
machine's other core, and is started at a lower priority, so the answers being served never
wait for it. The server's own worker thread only sends emails.

The child only reads and writes the database, exactly like ``cxpulse worker``
(``act.comment_analysis.CommentAnalyser``, ``act.tasks.TaskRunner``): nothing is passed
between the processes but a stop signal, and a killed child loses nothing, since the
comments it did not write are still waiting and its claimed tasks are taken again once
their lock expires. It stops when told, and by itself when its parent is gone.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass

from cxpulse.collect.sms import SmsSettings
from cxpulse.collect.smtp import SmtpSettings

__all__ = ["IDLE_SECONDS", "NICENESS", "BackgroundProcess", "TaskSettings"]

logger = logging.getLogger("cxpulse.worker")

IDLE_SECONDS = 2.0
"""How long the child waits after a round that found nothing to do."""
NICENESS = 10
"""How much lower the child's scheduling priority is than the server's (``os.nice``)."""
SCHEDULE_SECONDS = 60.0
"""How often the child queues the tasks that fall due by the clock (alert scans, retention)."""
_FAILURE_PAUSE_SECONDS = 5.0


@dataclass(frozen=True)
class TaskSettings:
    """What the closed loop's tasks need from the server's settings (the secrets sign the
    links in emails; the mail settings give their public address)."""

    secret_key: str
    previous_secret_keys: tuple[str, ...]
    smtp: SmtpSettings
    sms: SmsSettings


class BackgroundProcess:
    """A child process that analyses the comments waiting and runs the due tasks, round
    after round; without ``tasks`` it only analyses comments."""

    def __init__(
        self,
        database_url: str,
        *,
        busy_timeout_ms: int,
        tasks: TaskSettings | None = None,
        idle_seconds: float = IDLE_SECONDS,
        niceness: int = NICENESS,
    ) -> None:
        # "spawn": a forked child would inherit the server's threads, sockets and event loop
        # half way through whatever they were doing.
        self._context = multiprocessing.get_context("spawn")
        self._arguments = (database_url, busy_timeout_ms, tasks, idle_seconds, niceness)
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        process = self._context.Process(
            target=_run,
            args=(*self._arguments, os.getpid()),
            name="cxpulse-background",
            daemon=True,
        )
        process.start()
        self._process = process
        logger.info("background work started in process %s", process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to finish its round (SIGTERM) and wait for it; killed after
        ``timeout`` (what it did not write is done again later)."""
        process, self._process = self._process, None
        if process is None:
            return
        # A signal, not a shared Event: Ctrl+C in a terminal reaches the whole process
        # group, and an Event whose waiter died that way blocks whoever sets it.
        if process.is_alive():
            process.terminate()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(5.0)


def _run(
    database_url: str,
    busy_timeout_ms: int,
    tasks: TaskSettings | None,
    idle_seconds: float,
    niceness: int,
    parent_pid: int,
) -> None:
    """The child's life: rounds of work until stopped (SIGTERM) or orphaned."""
    stop = threading.Event()
    # Ctrl+C reaches the whole process group: the server decides when its child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    if niceness:
        # First: importing the text stage is already work. Where lowering is not allowed,
        # the child runs at the server's priority.
        with contextlib.suppress(OSError):
            os.nice(niceness)
    from cxpulse.act import loop
    from cxpulse.act.comment_analysis import CommentAnalyser
    from cxpulse.act.tasks import TaskContext, TaskRunner
    from cxpulse.collect.links import LinkSigner
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.types import utc_now

    engine = create_engine_for(database_url, busy_timeout_ms=busy_timeout_ms)
    sessions = session_factory(engine)
    read_sessions = session_factory(engine, read_only=True)
    analyser = CommentAnalyser(sessions, read_sessions)
    runner: TaskRunner | None = None
    if tasks is not None:
        loop.register(tasks.sms)
        links = LinkSigner(tasks.secret_key, previous_secret_keys=tasks.previous_secret_keys)
        runner = TaskRunner(TaskContext(sessions, read_sessions, utc_now, links, tasks.smtp))
    next_schedule = 0.0
    try:
        while not stop.is_set() and os.getppid() == parent_pid:
            try:
                busy = analyser.busy(analyser.run_once())
                if runner is not None:
                    if time.monotonic() >= next_schedule:
                        next_schedule = time.monotonic() + SCHEDULE_SECONDS
                        runner.enqueue_due()
                    busy = runner.run_once() > 0 or busy
            except Exception:
                # The database may be restarting: wait and try again, never die silently.
                logger.exception("background round failed")
                stop.wait(_FAILURE_PAUSE_SECONDS)
                continue
            if not busy:
                started = time.monotonic()
                # Wake up each second to notice a parent that died without telling.
                while time.monotonic() - started < idle_seconds and not stop.is_set():
                    if os.getppid() != parent_pid:
                        return
                    stop.wait(min(1.0, idle_seconds))
    finally:
        engine.dispose()
