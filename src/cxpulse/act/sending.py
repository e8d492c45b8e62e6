"""Sending one claimed outbox item: compose, the two-step SMTP send, and every outcome.

``ItemSender.send`` takes an invitation or reminder (checked with ``act.send_checks``) or an
item of a registered job kind (``act.jobs``), composes its email, sends it up to the end of
DATA, commits the item ``completing`` (and the invitation ``sent``) while its claim still
holds, then sends the end of data and reads the server's verdict; the accepted items are
confirmed ``sent`` in the next commit. A refusal retries with backoff or gives up; a
connection dropped after the end of data leaves the item ``unconfirmed``. The overview of
why this never sends twice is in ``act.worker``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.act import send_checks
from cxpulse.act.jobs import JobRegistry, NoHandler
from cxpulse.collect import invitations as triggers
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import Branding, Composed, compose
from cxpulse.collect.smtp import (
    DeliveryUnknown,
    SmtpConnection,
    SmtpRefused,
    SmtpSettings,
    SmtpUnavailable,
)
from cxpulse.store import invitation_sends, outbox

logger = logging.getLogger("cxpulse.worker")

KINDS = (triggers.INVITATION_KIND, triggers.REMINDER_KIND)
"""The worker's own kinds; any other belongs to a registered job (``act.jobs``)."""


@dataclass
class RoundStats:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    reminders_scheduled: int = 0

    def add(self, other: RoundStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class ItemSender:
    """Sends claimed items one at a time over one SMTP connection kept open: the per-item
    part of ``OutboxWorker``, which sets these attributes."""

    engine: Engine
    jobs: JobRegistry
    smtp_settings: SmtpSettings
    links: LinkSigner
    lock_seconds: float
    max_attempts: int
    clock: Callable[[], datetime]
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    connection: SmtpConnection
    _accepted: list[int]
    """Items whose messages the server accepted, to confirm in the next commit."""
    _composed: dict[int, Composed | None]
    """Emails composed for the batch in hand by their handlers' ``compose_batch``, by item
    id (an item missing here is composed on its own)."""

    def compose_batch(self, items: list[outbox.Claimed]) -> None:
        """Compose the claimed job items whose kinds compose in batches, a read for each
        kind rather than several per item. A batch that fails is logged and left to the
        items' own ``compose``, which records the failure on the item that causes it."""
        self._composed.clear()
        by_kind: dict[str, list[outbox.Claimed]] = {}
        for item in items:
            if item.kind not in KINDS:
                by_kind.setdefault(item.kind, []).append(item)
        for kind, group in by_kind.items():
            try:
                handler = self.jobs.handler(kind)
            except NoHandler:
                continue
            if handler.compose_batch is None:
                continue
            try:
                with self.read_sessions() as session:
                    composed = handler.compose_batch(session, group, self.smtp_settings)
            except Exception:
                logger.exception("composing a batch of %s items failed", kind)
                continue
            if len(composed) == len(group):
                self._composed.update(zip((item.id for item in group), composed, strict=True))

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds this worker claims: its own and the jobs' (read each round, so that a
        registration after the worker was made counts)."""
        return (*KINDS, *self.jobs.kinds())

    def confirm_accepted(self) -> None:
        """Commit ``sent`` for the messages the server accepted since the last commit."""
        if self._accepted:
            with self.sessions.begin() as session:
                outbox.confirm(session, self._accepted)
            self._accepted.clear()

    def postpone(self, items: list[outbox.Claimed], stats: RoundStats) -> None:
        """The server cannot be reached: put the rest of the batch back untried."""
        if not items:
            return
        now = self.clock()
        with self.sessions.begin() as session:
            for item in items:
                outbox.retry(session, item, "postponed: the SMTP server is unavailable", now=now)
        stats.retried += len(items)

    def send(
        self, item: outbox.Claimed, context: send_checks.BatchContext, stats: RoundStats
    ) -> bool:
        """Send or close one item; False when the server is unreachable."""
        if item.kind not in KINDS:
            return self._send_job(item, stats)
        invitation_id = int(item.payload.get("invitation_id", 0))
        reminder = item.kind == triggers.REMINDER_KIND
        skip = send_checks.skip_reason(item, context, self.clock())
        if skip is not None:
            status, reason = skip
            with self.sessions.begin() as session:
                outbox.drop(session, item, reason, now=self.clock())
                if status:
                    invitation_sends.set_status(session, invitation_id, status, reason)
            stats.skipped += 1
            return True
        invitation = context.invitations[invitation_id]
        contact = context.contacts[invitation.contact_id]
        survey = context.surveys[invitation.survey_id]
        organisation = context.organisations[invitation.organisation_id]
        try:
            composed = compose(
                invitation,
                contact,
                survey,
                organisation.name,
                links=self.links,
                settings=self.smtp_settings,
                reminder=reminder,
                branding=Branding.of(organisation, self.smtp_settings.public_url),
            )
        except Exception as error:  # a broken template or stored value: retrying cannot help
            logger.exception("cannot compose the email of invitation %s", invitation_id)
            message = f"cannot compose the email: {type(error).__name__}: {error}"
            self._failed(item, invitation_id, reminder, message, stats, error, permanent=True)
            return True
        try:
            self.connection.start(composed.sender, composed.recipients, composed.data)
        except (SmtpRefused, SmtpUnavailable) as error:
            self._failed(item, invitation_id, reminder, str(error), stats, error)
            return not isinstance(error, SmtpUnavailable)
        sent_at = self.clock()
        late: tuple[str, str] | None = None
        with self.sessions.begin() as session:
            # Checked again where the send is committed: the batch was loaded a while ago,
            # and with several threads another one may just have sent to this contact.
            late = send_checks.late_reason(session, invitation, contact, reminder, sent_at)
            held = late is None and outbox.finish(
                session, item, now=sent_at, lock_seconds=self.lock_seconds
            )
            if held:
                invitation_sends.mark_sent(session, invitation_id, reminder, sent_at)
            outbox.confirm(session, self._accepted)
        self._accepted.clear()
        if late is not None:
            status, reason = late
            with self.sessions.begin() as session:
                outbox.drop(session, item, reason, now=self.clock())
                if status:
                    invitation_sends.set_status(
                        session, invitation_id, status, reason, only_scheduled=True
                    )
            self.connection.abandon()
            logger.info("invitation %s not sent: %s", invitation_id, reason)
            stats.skipped += 1
            return True
        if not held:
            # Another worker took the item over after our lock expired: let it send.
            self.connection.abandon()
            logger.warning("outbox item %s was taken over; not sending it here", item.id)
            stats.skipped += 1
            return True
        try:
            self.connection.complete()
        except SmtpRefused as error:
            self._failed(item, invitation_id, reminder, str(error), stats, error, after_commit=True)
            return True
        except DeliveryUnknown as error:
            self._unconfirmed(item.id, invitation_id, reminder, error)
        else:
            self._accepted.append(item.id)
        stats.sent += 1
        if not reminder:
            context.last_sent[contact.id] = sent_at
        return True

    def _send_job(self, item: outbox.Claimed, stats: RoundStats) -> bool:
        """An item of a registered job (a report): compose, then the same two-step send."""
        # No invitation to update: ``_failed`` and friends are told so with id 0, reminder.
        try:
            handler = self.jobs.handler(item.kind)
        except NoHandler as error:
            # Retried with backoff, then dead: another worker may have the handler, and the
            # item says why it was not sent.
            logger.error("outbox item %s: %s", item.id, error)
            self._failed(item, 0, True, str(error), stats, error)
            return True
        composed: Composed | None
        try:
            if item.id in self._composed:
                composed = self._composed.pop(item.id)
            else:
                with self.read_sessions() as session:
                    composed = handler.compose(session, item, self.smtp_settings)
        except Exception as error:
            logger.exception("cannot compose outbox item %s (%s)", item.id, item.kind)
            message = f"cannot compose the email: {type(error).__name__}: {error}"
            self._failed(item, 0, True, message, stats, error, permanent=True)
            return True
        if composed is None:
            with self.sessions.begin() as session:
                outbox.drop(session, item, "nothing to send", now=self.clock())
            stats.skipped += 1
            return True
        try:
            self.connection.start(composed.sender, composed.recipients, composed.data)
        except (SmtpRefused, SmtpUnavailable) as error:
            self._failed(item, 0, True, str(error), stats, error)
            return not isinstance(error, SmtpUnavailable)
        with self.sessions.begin() as session:
            held = outbox.finish(session, item, now=self.clock(), lock_seconds=self.lock_seconds)
            outbox.confirm(session, self._accepted)
        self._accepted.clear()
        if not held:
            self.connection.abandon()
            stats.skipped += 1
            return True
        try:
            self.connection.complete()
        except SmtpRefused as error:
            self._failed(item, 0, True, str(error), stats, error, after_commit=True)
            return True
        except DeliveryUnknown as error:
            self._unconfirmed(item.id, 0, True, error)
        else:
            self._accepted.append(item.id)
        stats.sent += 1
        return True

    def _unconfirmed(
        self, item_id: int, invitation_id: int, reminder: bool, error: DeliveryUnknown
    ) -> None:
        """The connection dropped after the end of data: most likely delivered, not known."""
        reason = f"delivery unknown: {error}"
        logger.warning("outbox item %s: %s; counted as sent, not sent again", item_id, reason)
        with self.sessions.begin() as session:
            outbox.mark_unconfirmed(session, item_id, reason)
            if invitation_id and not reminder:
                invitation_sends.set_reason(session, invitation_id, reason)

    def _failed(
        self,
        item: outbox.Claimed,
        invitation_id: int,
        reminder: bool,
        message: str,
        stats: RoundStats,
        error: Exception,
        *,
        permanent: bool = False,
        after_commit: bool = False,
    ) -> None:
        """Retry later or give up; ``after_commit``: the send was already recorded (the
        server refused the end of the message), so it is undone too."""
        permanent = permanent or (isinstance(error, SmtpRefused) and error.permanent)
        give_up = permanent or item.attempts >= self.max_attempts
        now = self.clock()
        with self.sessions.begin() as session:
            if give_up:
                ours = outbox.bury(session, item, message, now=now, after_commit=after_commit)
            else:
                ours = outbox.retry(session, item, message, now=now, after_commit=after_commit)
            if not ours:
                # Our lock expired and another worker holds the item: its outcome stands.
                logger.warning("outbox item %s was taken over; leaving it", item.id)
                stats.skipped += 1
                return
            if invitation_id and after_commit:
                invitation_sends.undo_sent(session, invitation_id, reminder)
            if give_up:
                if invitation_id and not reminder:
                    reason = f"gave up after {item.attempts} attempts: {message}"
                    invitation_sends.set_status(session, invitation_id, "failed", reason)
                stats.failed += 1
            else:
                if invitation_id and not reminder:
                    invitation_sends.set_reason(session, invitation_id, f"retrying: {message}")
                stats.retried += 1
        logger.info("invitation %s not sent: %s", invitation_id, message)
