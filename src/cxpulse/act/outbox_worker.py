"""The outbox worker's rounds: schedule what is due, claim a batch, send it item by item.

``OutboxWorker.run_once`` is one round; ``drain`` repeats rounds until nothing is due and
``run`` until told to stop. Sending each item is ``act.sending``; the checks before and at
sending are ``act.send_checks``; the kinds of item beyond invitations and reminders come
from the registry of ``act.jobs``. The overview (why no crash sends twice) is in
``act.worker``. Each round also analyses the comments waiting (``act.comment_analysis``),
so that a new answer's comment is analysed within seconds of being stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from cxpulse.act import loop, send_checks
from cxpulse.act.comment_analysis import CommentAnalyser
from cxpulse.act.jobs import REGISTRY, JobRegistry
from cxpulse.act.sending import KINDS, ItemSender, RoundStats
from cxpulse.act.tasks import TASKS, TaskContext, TaskRegistry, TaskRunner
from cxpulse.collect import invitations as triggers
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpConnection, SmtpSettings
from cxpulse.store import invitation_sends, outbox
from cxpulse.store.db import session_factory
from cxpulse.store.types import utc_now

logger = logging.getLogger("cxpulse.worker")

del loop  # imported for its registrations: the closed loop's task kinds (act.tasks)

DEFAULT_BATCH_SIZE = 200
REMINDER_INTERVAL_SECONDS = 60.0
"""How often a worker looks for due reminders and due jobs (monthly reports)."""


class OutboxWorker(ItemSender):
    """Rounds of claiming due outbox items in batches and sending them, one SMTP connection
    kept open; ``jobs``: the registry of other kinds (default: the process's)."""

    def __init__(
        self,
        engine: Engine,
        smtp: SmtpSettings,
        links: LinkSigner,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lock_seconds: float = outbox.DEFAULT_LOCK_SECONDS,
        max_attempts: int = outbox.DEFAULT_MAX_ATTEMPTS,
        connection_factory: Callable[[SmtpSettings], SmtpConnection] = SmtpConnection,
        clock: Callable[[], datetime] = utc_now,
        jobs: JobRegistry | None = None,
        analyse_comments: bool = True,
        tasks: TaskRegistry | None = None,
    ) -> None:
        self.engine = engine
        self.jobs = REGISTRY if jobs is None else jobs
        self.smtp_settings = smtp
        self.links = links
        self.batch_size = batch_size
        self.lock_seconds = lock_seconds
        self.max_attempts = max_attempts
        self.clock = clock
        self.sessions = session_factory(engine)
        self.read_sessions = session_factory(engine, read_only=True)
        self.connection = connection_factory(smtp)
        self._accepted = []
        self._composed = {}
        self._next_reminder_check = 0.0
        self._next_stale_check = 0.0
        self.comments = (
            CommentAnalyser(self.sessions, self.read_sessions) if analyse_comments else None
        )
        """Analyses the comments waiting, a batch a round (None: this worker does not)."""
        self._comments_waiting = False
        self.tasks = TaskRunner(
            TaskContext(self.sessions, self.read_sessions, clock, links, smtp),
            TASKS if tasks is None else tasks,
            lock_seconds=lock_seconds,
        )
        """Runs the closed loop's tasks (rules, webhooks, alerts: ``act.tasks``)."""
        self._tasks_waiting = False

    def run_once(self) -> RoundStats:
        """Analyse a batch of waiting comments, schedule due reminders and jobs (once a
        minute), then send one batch of due items."""
        stats = RoundStats()
        self.analyse_comments()
        if time.monotonic() >= self._next_reminder_check:
            self._next_reminder_check = time.monotonic() + REMINDER_INTERVAL_SECONDS
            stats.reminders_scheduled = self.schedule_reminders()
            self.schedule_jobs()
            self.tasks.enqueue_due()
        self.run_tasks()
        if time.monotonic() >= self._next_stale_check:
            # As often as a lock can expire, so that a dead worker's items show soon.
            interval = min(REMINDER_INTERVAL_SECONDS, max(1.0, self.lock_seconds))
            self._next_stale_check = time.monotonic() + interval
            self.flag_unconfirmed()
        kinds = self.kinds
        with self.read_sessions() as session:
            if not outbox.has_due(session, kinds, now=self.clock()):
                return stats
        with self.sessions.begin() as session:
            items = outbox.claim(
                session,
                kinds,
                limit=self.batch_size,
                lock_seconds=self.lock_seconds,
                now=self.clock(),
            )
        stats.claimed = len(items)
        if items:
            with self.read_sessions() as session:
                context = send_checks.load_context(session, items, self.clock())
            self.compose_batch(items)
            try:
                for position, item in enumerate(items):
                    if not self.send(item, context, stats):
                        self.postpone(items[position + 1 :], stats)
                        break
            finally:
                self._composed.clear()
                self.confirm_accepted()
        return stats

    def analyse_comments(self) -> int:
        """One batch of the comments waiting for analysis; the count analysed. A failure is
        logged and never stops the emails."""
        if self.comments is None:
            return 0
        try:
            done = self.comments.run_once()
        except Exception:
            logger.exception("comment analysis round failed")
            done = 0
        self._comments_waiting = self.comments.busy(done)
        return done

    def run_tasks(self) -> int:
        """One batch of each kind of due task (``act.tasks``); the count handled. A failure
        is logged and never stops the emails."""
        try:
            handled = self.tasks.run_once()
        except Exception:
            logger.exception("task round failed")
            handled = 0
        self._tasks_waiting = handled > 0
        return handled

    def flag_unconfirmed(self) -> int:
        """Items that a dead worker left between its commit and the server's verdict become
        ``unconfirmed``, their invitations saying so; the count."""
        with self.read_sessions() as session:
            if not outbox.has_stale_completing(session, now=self.clock()):
                return 0
        with self.sessions.begin() as session:
            items = outbox.flag_unconfirmed(session, now=self.clock())
            for item in items:
                invitation_id = int(item.payload.get("invitation_id", 0))
                if item.kind in KINDS and invitation_id:
                    invitation_sends.set_reason(session, invitation_id, outbox.UNCONFIRMED_BY_CRASH)
        for item in items:
            logger.warning("outbox item %s: %s", item.id, outbox.UNCONFIRMED_BY_CRASH)
        return len(items)

    def drain(self, *, max_rounds: int = 1000) -> RoundStats:
        """Rounds until nothing is due (for tests and the command line)."""
        total = RoundStats()
        for _ in range(max_rounds):
            stats = self.run_once()
            total.add(stats)
            if stats.claimed == 0 and not self._comments_waiting and not self._tasks_waiting:
                break
        return total

    def run(self, stop: threading.Event, *, idle_seconds: float = 1.0) -> None:
        """Rounds until ``stop`` is set; waits ``idle_seconds`` when there was nothing to do."""
        try:
            while not stop.is_set():
                try:
                    stats = self.run_once()
                except Exception:
                    # The database may be restarting: wait and try again, never die silently.
                    logger.exception("outbox round failed")
                    stats = RoundStats()
                    stop.wait(5.0)
                if stats.claimed == 0 and not self._comments_waiting and not self._tasks_waiting:
                    stop.wait(idle_seconds)
        finally:
            try:
                self.confirm_accepted()
            finally:
                self.connection.close()

    def schedule_reminders(self) -> int:
        with self.read_sessions() as session:
            # Most installations use no reminders: then never take the write lock for them.
            wanted = invitation_sends.reminders_wanted(session)
        if not wanted:
            return 0
        with self.sessions.begin() as session:
            return triggers.schedule_reminders(session, now=self.clock())

    def schedule_jobs(self) -> int:
        """Queue the due items of each registered job (last month's reports, once a month);
        the count queued."""
        queued = 0
        for handler in self.jobs.handlers():
            if handler.enqueue_due is None:
                continue
            if handler.has_work is not None:
                with self.read_sessions() as session:
                    if not handler.has_work(session):
                        continue
            with self.sessions.begin() as session:
                queued += handler.enqueue_due(session, self.clock())
        return queued
