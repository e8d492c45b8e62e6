"""The outbox's tasks that are not emails: evaluating the rules on a new answer, delivering a
webhook, posting a notification, running the alert detector. A registry of handlers by
outbox kind, and the runner that the worker calls every round.

A handler takes a batch of claimed items and says what became of each (``Done``,
``Retry``, ``GiveUp``); the runner records all outcomes in one transaction, so a batch of
500 webhook deliveries costs one commit, not 500. Work happens outside any transaction of
the runner's: a handler opens its own (``TaskContext.sessions``) for what it writes, and
should make its writes idempotent (a unique key, ``ON CONFLICT DO NOTHING``), because an item
whose worker died after the work and before the runner's commit is claimed again once its
lock expires. Delivery is therefore at least once; receivers deduplicate by event id.

Emails are not tasks: a task that wants an email sent queues an outbox item of an email
kind (``act.jobs``), which the worker's sending path composes and sends exactly as it sends
invitations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import outbox
from cxpulse.store.outbox import Claimed

__all__ = [
    "TASKS",
    "Done",
    "GiveUp",
    "Outcome",
    "Retry",
    "TaskContext",
    "TaskHandler",
    "TaskRegistry",
    "TaskRunner",
]

logger = logging.getLogger("cxpulse.worker")


@dataclass(frozen=True)
class Done:
    """The item's work is done."""

    note: str | None = None


@dataclass(frozen=True)
class Retry:
    """Try again later: after ``delay`` (default: the outbox's backoff for its attempts);
    buried once the attempts are used up."""

    error: str
    delay: timedelta | None = None


@dataclass(frozen=True)
class GiveUp:
    """Never try again (the item is ``dead``, with the reason)."""

    error: str


Outcome = Done | Retry | GiveUp


@dataclass(frozen=True)
class TaskContext:
    """What a handler may use: database sessions, the clock, the link signer and the mail
    settings (for the public address of links)."""

    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    links: LinkSigner
    smtp: SmtpSettings


@dataclass(frozen=True)
class TaskHandler:
    """What the worker needs to know about one kind of task."""

    kind: str
    run: Callable[[TaskContext, Sequence[Claimed]], Sequence[Outcome]]
    """Does the items' work; one outcome per item, in order. An exception retries them all."""
    batch: int = 200
    """Items claimed at once."""
    max_attempts: int = outbox.DEFAULT_MAX_ATTEMPTS
    enqueue_due: Callable[[Session, datetime], int] | None = None
    """Queues the items now due (a daily detector run, say), in the caller's transaction;
    the count queued. Called about once a minute, like the email jobs'."""


class TaskRegistry:
    """Handlers by outbox kind; the same handler twice is harmless, another for a taken kind
    is refused."""

    def __init__(self) -> None:
        self._handlers: dict[str, TaskHandler] = {}
        self._lock = threading.Lock()

    def register(self, handler: TaskHandler) -> None:
        with self._lock:
            known = self._handlers.get(handler.kind)
            if known is None:
                self._handlers[handler.kind] = handler
            elif known != handler:
                raise ValueError(f"task kind {handler.kind!r} has a handler already")

    def unregister(self, kind: str) -> None:
        with self._lock:
            self._handlers.pop(kind, None)

    def handlers(self) -> tuple[TaskHandler, ...]:
        return tuple(self._handlers.values())

    def kinds(self) -> tuple[str, ...]:
        return tuple(self._handlers)


TASKS = TaskRegistry()
"""The process's registry: each closed-loop module registers its kinds when imported by
``act.loop`` (which the worker imports)."""


@dataclass
class TaskRunner:
    """Claims due task items kind by kind and records their outcomes."""

    context: TaskContext
    registry: TaskRegistry = field(default_factory=lambda: TASKS)
    lock_seconds: float = outbox.DEFAULT_LOCK_SECONDS

    def run_once(self) -> int:
        """One batch of each kind that has due items; the count of items handled."""
        handlers = self.registry.handlers()
        if not handlers:
            return 0
        # One read for every kind first: an idle worker (the usual case) asks once a round,
        # not once per kind.
        with self.context.read_sessions() as session:
            kinds = [handler.kind for handler in handlers]
            if not outbox.has_due(session, kinds, now=self.context.clock()):
                return 0
        handled = 0
        for handler in handlers:
            handled += self.run_kind(handler)
        return handled

    def enqueue_due(self) -> int:
        queued = 0
        for handler in self.registry.handlers():
            if handler.enqueue_due is None:
                continue
            try:
                with self.context.sessions.begin() as session:
                    queued += handler.enqueue_due(session, self.context.clock())
            except Exception:
                logger.exception("queueing the due %s tasks failed", handler.kind)
        return queued

    def run_kind(self, handler: TaskHandler) -> int:
        now = self.context.clock()
        with self.context.read_sessions() as session:
            if not outbox.has_due(session, (handler.kind,), now=now):
                return 0
        with self.context.sessions.begin() as session:
            items = outbox.claim(
                session,
                (handler.kind,),
                limit=handler.batch,
                lock_seconds=self.lock_seconds,
                now=now,
            )
        if not items:
            return 0
        try:
            outcomes = list(handler.run(self.context, items))
            if len(outcomes) != len(items):
                raise RuntimeError(
                    f"the {handler.kind} handler gave {len(outcomes)} outcomes for "
                    f"{len(items)} items"
                )
        except Exception as error:
            logger.exception("%s tasks failed", handler.kind)
            message = f"{type(error).__name__}: {error}"
            outcomes = [Retry(message) for _ in items]
        self._record(handler, items, outcomes)
        return len(items)

    def _record(
        self, handler: TaskHandler, items: Sequence[Claimed], outcomes: Sequence[Outcome]
    ) -> None:
        now = self.context.clock()
        with self.context.sessions.begin() as session:
            done: list[Claimed] = []
            for item, outcome in zip(items, outcomes, strict=True):
                if isinstance(outcome, Done):
                    done.append(item)
                elif isinstance(outcome, GiveUp) or item.attempts >= handler.max_attempts:
                    outbox.bury(session, item, outcome.error, now=now)
                else:
                    outbox.retry(session, item, outcome.error, now=now, delay=outcome.delay)
            # One statement for the whole batch's successes: 500 webhook deliveries must not
            # cost 500 updates.
            outbox.complete_many(session, done, now=now)
