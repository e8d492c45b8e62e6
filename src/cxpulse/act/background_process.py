"""``cxpulse serve``'s background work in a child process: comment analysis and the closed
loop's tasks.

The text stage is pure Python: language scores, lemmas, theme matching and sentiment hold
the interpreter's lock for the whole batch, and loading its dictionaries takes seconds. The
closed loop's tasks (the rules of each new answer, webhook deliveries, alert scans,
retention, SMS) run for every answer too. In a thread of the serving process that time is
taken from the requests (submissions waited up to a second at the 99th percentile while a
batch of comments was analysed). A child process has its own interpreter and runs on the
machine's other core. The server's own worker thread only sends emails.

What the submissions still share with the child is SQLite's one write lock, and measured
(``bench/submit_with_analysis.py``, py-spy on the server) that is what made them wait: with
a rule for every answer the server's writer spent two thirds of its time in ``BEGIN
IMMEDIATE`` while the child held the lock, and SQLite's busy handler, which sleeps longer
the longer it has waited, let it miss the short gaps between the child's transactions. So
the child keeps its part of the lock short:

- The text stage's analysis of each batch (CPU only, no database) runs in a thread of its
  own at the lowest priority there is (``SCHED_IDLE`` where allowed, else ``NICENESS``
  lower; where threads have no priority of their own, the whole child is lowered as
  before: ``LowPriority``), while the thread that reads and writes the database keeps the
  server's priority. A whole child at a lower priority held the lock 3 to 10 times longer
  on a busy machine: preempted inside a transaction, it kept the server waiting for a
  process the scheduler had put last. The two threads never run at once (the database
  thread waits for each batch's analysis), so neither waits for the other's turn on the
  interpreter's lock.
- Small transactions: the closed loop's tasks take at most ``TASK_BATCH`` items at a time
  (a new answer's rules are decided on a read and written ten answers to a transaction:
  ``act.response_events``), and analysed comments are written
  ``comment_analysis.WRITE_CHUNK`` at a time.
- Gaps between them: every SQLite writer waits for the lock by trying again every half
  millisecond (``store.db.begin_immediate``), and the child pauses ``YIELD_BEFORE_WRITE``
  before each of its write transactions, so a submission waiting behind one of them gets the
  lock before the next (SQLite's own busy handler, sleeping 1, 2, 5 ... 100 ms, slept
  through those gaps).
- Once the text stage is loaded, its long-lived objects are moved out of the garbage
  collector's reach (``gc.freeze``): a full collection took 250-320 ms, and one that fell
  inside a write transaction stopped every submission as long.

The child only reads and writes the database, exactly like ``cxpulse worker``
(``act.comment_analysis.CommentAnalyser``, ``act.tasks.TaskRunner``): nothing is passed
between the processes but a stop signal, and a killed child loses nothing, since the
comments it did not write are still waiting and its claimed tasks are taken again once
their lock expires. It stops when told, and by itself when its parent is gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from cxpulse.collect.sms import SmsSettings
from cxpulse.collect.smtp import SmtpSettings

if TYPE_CHECKING:
    from cxpulse.act.tasks import TaskRegistry

__all__ = [
    "IDLE_SECONDS",
    "NICENESS",
    "PAUSE_SECONDS",
    "TASK_BATCH",
    "BackgroundProcess",
    "LowPriority",
    "TaskSettings",
]

_T = TypeVar("_T")

logger = logging.getLogger("cxpulse.worker")

IDLE_SECONDS = 2.0
"""How long the child waits after a round that found nothing to do."""
PAUSE_SECONDS = 0.2
"""How long it waits after a round that found some work but less than a full batch: answers
are arriving, and a round every 0.2 s writes them in a transaction or two, where a round
every 2 s wrote ten times as much at once (a burst of the write lock that every submission
of those tens of milliseconds waited for)."""
NICENESS = 10
"""How much lower the priority of the child's CPU-heavy thread is than the server's
(``os.nice`` units), where ``SCHED_IDLE`` is not allowed."""
TASK_BATCH = 20
"""Most items of one kind the child's tasks claim and run at a time (a kind's own batch
may be smaller)."""
YIELD_BEFORE_WRITE = 0.002
"""Seconds the child waits before each of its write transactions (SQLite), so that a
submission waiting for the write lock (``store.db.begin_immediate`` tries every half
millisecond) gets it between two of the child's transactions."""
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
        pause_seconds: float = PAUSE_SECONDS,
        niceness: int = NICENESS,
        idle_policy: bool = True,
    ) -> None:
        # "spawn": a forked child would inherit the server's threads, sockets and event loop
        # half way through whatever they were doing.
        self._context = multiprocessing.get_context("spawn")
        self._arguments = (
            database_url,
            busy_timeout_ms,
            tasks,
            idle_seconds,
            pause_seconds,
            niceness,
            idle_policy,
        )
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


class LowPriority:
    """Runs callables, one at a time, in a thread of lower scheduling priority than the
    caller's; ``run`` waits for each (a Linux thread has its own priority). ``policy`` says
    what the thread got: ``"idle"`` (``SCHED_IDLE``), ``"nice"``, ``"process"`` (threads
    have no priority of their own there: the whole process was lowered) or ``"none"``
    (nothing was allowed: the thread keeps the caller's priority)."""

    def __init__(self, *, niceness: int = NICENESS, idle: bool = True) -> None:
        self.policy = "none"
        self.thread_id: int | None = None
        self._niceness = niceness
        self._idle = idle
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="cxpulse-text", initializer=self._lower
        )
        self.run(lambda: None)  # the thread and its priority now, not in the first batch

    def _lower(self) -> None:
        self.thread_id = threading.get_native_id()
        if self._idle and hasattr(os, "SCHED_IDLE"):
            with contextlib.suppress(OSError):
                # 0: the calling thread only.
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
                self.policy = "idle"
                return
        if not self._niceness:
            return
        with contextlib.suppress(OSError):
            if sys.platform == "linux":
                # A thread id names that thread alone, on Linux only.
                current = os.getpriority(os.PRIO_PROCESS, self.thread_id)
                os.setpriority(os.PRIO_PROCESS, self.thread_id, current + self._niceness)
                self.policy = "nice"
            else:
                os.nice(self._niceness)
                self.policy = "process"

    def run(self, work: Callable[[], _T]) -> _T:
        return self._executor.submit(work).result()

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def _small_batches(registry: TaskRegistry, most: int) -> TaskRegistry:
    """``registry``'s handlers with at most ``most`` items a batch."""
    from cxpulse.act.tasks import TaskRegistry

    smaller = TaskRegistry()
    for handler in registry.handlers():
        smaller.register(dataclasses.replace(handler, batch=min(handler.batch, most)))
    return smaller


def _run(
    database_url: str,
    busy_timeout_ms: int,
    tasks: TaskSettings | None,
    idle_seconds: float,
    pause_seconds: float,
    niceness: int,
    idle_policy: bool,
    parent_pid: int,
) -> None:
    """The child's life: rounds of work until stopped (SIGTERM) or orphaned."""
    stop = threading.Event()
    # Ctrl+C reaches the whole process group: the server decides when its child stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    low = LowPriority(niceness=niceness, idle=idle_policy)
    logger.info("background work: the text stage runs at priority %r", low.policy)
    # First, at low priority: importing the text stage is already work.
    low.run(_import_text_stage)
    from cxpulse.act import loop
    from cxpulse.act.comment_analysis import CommentAnalyser
    from cxpulse.act.tasks import TASKS, TaskContext, TaskRunner
    from cxpulse.collect.links import LinkSigner
    from cxpulse.store.db import create_engine_for, session_factory
    from cxpulse.store.types import utc_now

    engine = create_engine_for(
        database_url, busy_timeout_ms=busy_timeout_ms, yield_before_write=YIELD_BEFORE_WRITE
    )
    sessions = session_factory(engine)
    read_sessions = session_factory(engine, read_only=True)
    analyser = CommentAnalyser(sessions, read_sessions, offload=low.run)
    runner: TaskRunner | None = None
    if tasks is not None:
        loop.register(tasks.sms)
        links = LinkSigner(tasks.secret_key, previous_secret_keys=tasks.previous_secret_keys)
        runner = TaskRunner(
            TaskContext(sessions, read_sessions, utc_now, links, tasks.smtp),
            _small_batches(TASKS, TASK_BATCH),
        )
    next_schedule = 0.0
    frozen = False
    try:
        while not stop.is_set() and os.getppid() == parent_pid:
            try:
                analysed = analyser.run_once()
                busy = analyser.busy(analysed)
                handled = 0
                if runner is not None:
                    if time.monotonic() >= next_schedule:
                        next_schedule = time.monotonic() + SCHEDULE_SECONDS
                        runner.enqueue_due()
                    handled = runner.run_once()
                    busy = handled >= TASK_BATCH or busy
            except Exception:
                # The database may be restarting: wait and try again, never die silently.
                logger.exception("background round failed")
                stop.wait(_FAILURE_PAUSE_SECONDS)
                continue
            if not frozen and analyser.analysed:
                # The text stage's data is loaded now (by the first comment analysed).
                frozen = True
                gc.collect()
                gc.freeze()
            if not busy:
                wait = pause_seconds if analysed or handled else idle_seconds
                started = time.monotonic()
                # Wake up each second to notice a parent that died without telling.
                while time.monotonic() - started < wait and not stop.is_set():
                    if os.getppid() != parent_pid:
                        return
                    stop.wait(min(1.0, wait))
    finally:
        engine.dispose()
        low.close()


def _import_text_stage() -> None:
    import cxpulse.act.comment_pipeline
    import cxpulse.text.analysis  # noqa: F401
