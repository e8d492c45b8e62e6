"""The outbox's other jobs: a registry, filled at start-up, of the emails that later stages
queue (monthly reports), so that the worker sends them without importing those stages.

Invitations and reminders are the worker's own (``collect`` queues them). Any other kind of
outbox item belongs to a stage above ``act``, which registers a ``JobHandler`` for it when
the process starts: ``cxpulse.report.jobs.register()`` for the monthly reports, called by
the web app and by ``cxpulse worker``. The worker claims the items of every registered kind
and of ``EXPECTED_KINDS``: an item whose kind has no handler is a mistake in how the process
was started, which the worker reports on the item and in the log (``NoHandler``) rather
than leaving the item queued forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from cxpulse.collect.mailer import Composed
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store.outbox import Claimed

ItemComposer = Callable[[Session, Claimed, SmtpSettings], Composed | None]
"""Turns a claimed outbox item into the email to send (None: nothing to send)."""

BatchComposer = Callable[[Session, Sequence[Claimed], SmtpSettings], list[Composed | None]]
"""Composes a batch of items of one kind with a few reads for all of them: one email (or
None) per item, in order."""

EXPECTED_KINDS = (
    "report",
    "login-notice",
    "case-reply",
    "rule-notice",
    "promoter-email",
    "passive-email",
    "alert-email",
    "webhook-disabled",
    "user-invitation",
    "password-reset",
)
"""Kinds that cxpulse's own stages queue (``report``: the monthly report emails). The worker
claims them even when no handler is registered, so that a process started without the
registration says so instead of never sending them."""


class NoHandler(LookupError):
    """An outbox item of a kind that no stage registered a handler for in this process."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"no handler is registered for outbox items of kind {kind!r}: the process did not "
            "register it at start-up (e.g. cxpulse.report.jobs.register())"
        )
        self.kind = kind


@dataclass(frozen=True)
class JobHandler:
    """What the worker needs to know about one kind of outbox item."""

    kind: str
    compose: ItemComposer
    compose_batch: BatchComposer | None = None
    """The same emails for a whole claimed batch at once (optional): a rule that matches
    thousands of answers an hour queues thousands of notices, and reading each one's rule,
    answer and survey apart cost the worker more than sending it. ``compose`` stays the
    reference (and what an item is composed with when the batch fails)."""
    enqueue_due: Callable[[Session, datetime], int] | None = None
    """Queues the items now due, in the caller's transaction; the count queued. The worker
    calls it about once a minute."""
    has_work: Callable[[Session], bool] | None = None
    """A cheap read: might ``enqueue_due`` queue anything? (False spares the write lock.)"""


class JobRegistry:
    """Handlers by outbox kind. Registering the same handler again does nothing; another
    handler for a kind already taken is refused."""

    def __init__(self, expected: Iterable[str] = ()) -> None:
        self.expected = tuple(expected)
        self._handlers: dict[str, JobHandler] = {}
        self._lock = threading.Lock()

    def register(self, handler: JobHandler) -> None:
        with self._lock:
            known = self._handlers.get(handler.kind)
            if known is None:
                self._handlers[handler.kind] = handler
            elif known != handler:
                raise ValueError(f"outbox kind {handler.kind!r} has a handler already")

    def unregister(self, kind: str) -> None:
        with self._lock:
            self._handlers.pop(kind, None)

    def handler(self, kind: str) -> JobHandler:
        """The handler of ``kind``; ``NoHandler`` when none is registered."""
        found = self._handlers.get(kind)
        if found is None:
            raise NoHandler(kind)
        return found

    def handlers(self) -> tuple[JobHandler, ...]:
        return tuple(self._handlers.values())

    def kinds(self) -> tuple[str, ...]:
        """The kinds a worker claims: the registered ones and the expected ones."""
        return tuple(dict.fromkeys((*self._handlers, *self.expected)))


REGISTRY = JobRegistry(EXPECTED_KINDS)
"""The process's registry: what ``OutboxWorker`` uses unless given another."""
