"""Comment analysis in a child process of ``cxpulse serve``.

The text stage is pure Python: language scores, lemmas, theme matching and sentiment hold
the interpreter's lock for the whole batch, and loading its dictionaries takes seconds. In
a thread of the serving process that time is taken from the requests (submissions waited
up to a second at the 99th percentile while a batch ran). A child process has its own
interpreter, runs on the machine's other core, and is started at a lower priority, so the
answers being served never wait for it.

The child only reads and writes the database, exactly like the worker's rounds in
``cxpulse worker`` (``act.comment_analysis.CommentAnalyser``): nothing is passed between the
processes but a stop signal, and a killed child loses nothing, since the comments it did
not write are still waiting. It stops when told, and by itself when its parent is gone.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from multiprocessing.synchronize import Event

__all__ = ["IDLE_SECONDS", "NICENESS", "CommentProcess"]

logger = logging.getLogger("cxpulse.worker")

IDLE_SECONDS = 2.0
"""How long the child waits after a round that found nothing to analyse."""
NICENESS = 10
"""How much lower the child's scheduling priority is than the server's (``os.nice``)."""
_FAILURE_PAUSE_SECONDS = 5.0


class CommentProcess:
    """A child process that analyses the comments waiting, round after round."""

    def __init__(
        self,
        database_url: str,
        *,
        busy_timeout_ms: int,
        idle_seconds: float = IDLE_SECONDS,
        niceness: int = NICENESS,
    ) -> None:
        # "spawn": a forked child would inherit the server's threads, sockets and event loop
        # half way through whatever they were doing.
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._arguments = (database_url, busy_timeout_ms, idle_seconds, niceness)
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def start(self) -> None:
        process = self._context.Process(
            target=_run,
            args=(*self._arguments, self._stop, os.getpid()),
            name="cxpulse-comments",
            daemon=True,
        )
        process.start()
        self._process = process
        logger.info("comment analysis started in process %s", process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the child to finish its round and wait for it; killed after ``timeout``
        (what it did not write is analysed again later)."""
        process, self._process = self._process, None
        if process is None:
            return
        self._stop.set()
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(5.0)


def _run(
    database_url: str,
    busy_timeout_ms: int,
    idle_seconds: float,
    niceness: int,
    stop: Event,
    parent_pid: int,
) -> None:
    """The child's life: rounds of analysis until stopped or orphaned."""
    if niceness:
        # First: importing the text stage is already work. Where lowering is not allowed,
        # the child runs at the server's priority.
        with contextlib.suppress(OSError):
            os.nice(niceness)
    from cxpulse.act.comment_analysis import CommentAnalyser
    from cxpulse.store.db import create_engine_for, session_factory

    engine = create_engine_for(database_url, busy_timeout_ms=busy_timeout_ms)
    analyser = CommentAnalyser(session_factory(engine), session_factory(engine, read_only=True))
    try:
        while not stop.is_set() and os.getppid() == parent_pid:
            try:
                done = analyser.run_once()
            except Exception:
                # The database may be restarting: wait and try again, never die silently.
                logger.exception("comment analysis round failed")
                stop.wait(_FAILURE_PAUSE_SECONDS)
                continue
            if not analyser.busy(done):
                started = time.monotonic()
                # Wake up each second to notice a parent that died without telling.
                while time.monotonic() - started < idle_seconds and not stop.is_set():
                    if os.getppid() != parent_pid:
                        return
                    stop.wait(min(1.0, idle_seconds))
    finally:
        engine.dispose()
