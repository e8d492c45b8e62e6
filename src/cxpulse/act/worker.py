"""The outbox worker: sends invitation and reminder emails, never twice each, and the
emails that later stages queue (monthly reports, through the registry of ``act.jobs``).

The work is split by job: ``act.outbox_worker`` (``OutboxWorker``: the rounds),
``act.sending`` (one item: compose, send, record the outcome), ``act.send_checks`` (whether
an email may still go out) and ``act.jobs`` (the other stages' kinds of item). This module
runs workers: several side by side (``drain_together``) or one in a thread of the web app
(``InlineWorker``, ``start_inline_worker``); it re-exports ``OutboxWorker``, ``RoundStats``
and ``SURVEY_CLOSED`` for its callers.

A round (``run_once``) schedules due reminders and jobs, claims a batch of due outbox items,
and for each one:

1. checks again what may have changed since it was enqueued: the invitation withdrawn, the
   address unsubscribed, another invitation sent to the contact within the throttle window,
   the survey answered (for a reminder). Such items are closed without sending;
2. composes the email and sends it up to the end of DATA (``SmtpConnection.start``);
3. commits, in one transaction, the item ``completing`` and the invitation ``sent`` (or
   ``reminded_at``), but only while this worker's claim still holds it, and only after
   checking 1 again in that transaction (with the contact and invitation rows locked): a
   cancel, unsubscribe, closed survey or another thread's send that came in the meantime
   wins, and the unfinished message is abandoned, which the server discards;
4. sends the end-of-data line and reads the server's verdict (``complete``); an accepted
   item is confirmed ``sent`` in the next transaction this worker commits anyway (the next
   item's step 3, or the end of the batch), so confirming costs no commit of its own.

A crash before 3 leaves an unfinished message the server throws away, and the item is
claimed again once its lock expires. A crash between 3 and the server's verdict leaves the
item ``completing``: whether the email arrived depends on whether the end-of-data line left
this machine, which nobody can know afterwards. Such items (at most one per worker thread)
become ``unconfirmed`` once their lock expires, with the reason on the invitation, and are
never sent again. So no crash sends an invitation twice, and a lost one is always visible.
A refusal in 2 or 4 puts the item back with an exponential backoff; after ``max_attempts``
the item is ``dead`` and the invitation ``failed`` with the reason. A connection dropped
between the end of data and the reply also leaves the item ``unconfirmed``.

The worker keeps one SMTP connection open across messages. ``cxpulse worker`` runs it as a
process; ``cxpulse serve`` runs one in a thread of the web app (``InlineWorker``).

Each round of ``cxpulse worker`` also analyses a batch of the comments waiting
(``act.comment_analysis``): new answers within seconds, a taxonomy's changes in the
background, sentiment models retrained as scored comments arrive. The responses without an
analysis are that queue, so nothing is added to the submission path, and a failed analysis
never stops the emails. ``cxpulse serve`` runs those rounds, and the closed loop's tasks
(``act.tasks``), in a child process instead, its comment analysis at the lowest priority
(``act.background_process``, ``start_background_process``), because in its own threads the
text stage and the tasks would hold the interpreter's lock while answers wait.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from cxpulse.act import loop
from cxpulse.act.background_process import BackgroundProcess, TaskSettings
from cxpulse.act.outbox_worker import OutboxWorker
from cxpulse.act.send_checks import SURVEY_CLOSED
from cxpulse.act.sending import RoundStats
from cxpulse.act.tasks import TaskRegistry
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.sms import SmsSettings
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.config import Settings

__all__ = [
    "SURVEY_CLOSED",
    "InlineWorker",
    "OutboxWorker",
    "RoundStats",
    "drain_together",
    "start_background_process",
    "start_inline_worker",
]

logger = logging.getLogger("cxpulse.worker")


def drain_together(workers: list[OutboxWorker]) -> RoundStats:
    """Drain with several workers at once, one thread and SMTP connection each.

    Their claims never overlap, and while one waits for its commit or the SMTP server the
    others send: on PostgreSQL the commits of different threads share a disk flush.
    """
    results: list[RoundStats] = [RoundStats() for _ in workers]

    def drain(index: int) -> None:
        results[index] = workers[index].drain(max_rounds=10**9)

    threads = [
        threading.Thread(target=drain, args=(n,), name=f"cxpulse-outbox-{n}")
        for n in range(len(workers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = RoundStats()
    for stats in results:
        total.add(stats)
    return total


class InlineWorker:
    """A worker in a daemon thread of the web app (``cxpulse serve``)."""

    def __init__(self, worker: OutboxWorker, *, idle_seconds: float = 2.0) -> None:
        self.worker = worker
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.worker.run,
            args=(self._stop,),
            kwargs={"idle_seconds": self.idle_seconds},
            name="cxpulse-outbox",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def start_inline_worker(engine: Engine, settings: Settings) -> InlineWorker | None:
    """The worker of ``cxpulse serve``, started in a thread; None when
    ``CXPULSE_INLINE_WORKER=false`` (``cxpulse worker`` runs apart, or a test drives one).
    It sends the emails; it analyses comments and runs the closed loop's tasks itself only
    with ``CXPULSE_BACKGROUND_WORK=thread`` (``start_background_process`` covers
    ``process``)."""
    if not settings.inline_worker:
        return None
    loop.register(SmsSettings.from_settings(settings))
    in_thread = settings.background_work == "thread"
    worker = OutboxWorker(
        engine,
        SmtpSettings.from_settings(settings),
        LinkSigner(settings.secret_key, previous_secret_keys=settings.previous_secret_keys),
        analyse_comments=in_thread,
        tasks=None if in_thread else TaskRegistry(),
    )
    inline = InlineWorker(worker)
    inline.start()
    logger.info("outbox worker started in the web process")
    return inline


def start_background_process(engine: Engine, settings: Settings) -> BackgroundProcess | None:
    """The child process in which ``cxpulse serve`` analyses the comments of ``engine``'s
    database and runs the closed loop's tasks, started; None unless
    ``CXPULSE_BACKGROUND_WORK=process`` (the default) and the inline worker runs (without
    it, ``cxpulse worker`` does this work), and None for an in-memory SQLite database,
    which no other process can open."""
    if not settings.inline_worker or settings.background_work != "process":
        return None
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        logger.warning(
            "no background process: an in-memory database cannot be opened by another process"
        )
        return None
    process = BackgroundProcess(
        url.render_as_string(hide_password=False),
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        tasks=TaskSettings(
            secret_key=settings.secret_key,
            previous_secret_keys=tuple(settings.previous_secret_keys),
            smtp=SmtpSettings.from_settings(settings),
            sms=SmsSettings.from_settings(settings),
        ),
    )
    process.start()
    return process
