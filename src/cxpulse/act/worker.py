"""The outbox worker: sends invitation and reminder emails, never twice each, and the
emails other stages queue (monthly reports, through ``composers``).

A round (``run_once``) schedules due reminders, claims a batch of due outbox items, and for
each one:

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
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, parseaddr

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import invitations as triggers
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.mailer import (
    Composed,
    address_header,
    compose,
    header_text,
    multipart_alternative,
)
from cxpulse.collect.smtp import (
    DeliveryUnknown,
    SmtpConnection,
    SmtpRefused,
    SmtpSettings,
    SmtpUnavailable,
)
from cxpulse.config import ConfigError, Settings
from cxpulse.store import invitations as store
from cxpulse.store import outbox
from cxpulse.store.db import session_factory
from cxpulse.store.models import (
    Contact,
    Invitation,
    Organisation,
    Response,
    Survey,
    Unsubscribe,
)
from cxpulse.store.types import utc_now

logger = logging.getLogger("cxpulse.worker")

KINDS = (triggers.INVITATION_KIND, triggers.REMINDER_KIND)
REPORT_KIND = "report"

ItemComposer = Callable[[Session, outbox.Claimed, SmtpSettings], Composed | None]
"""Turns an outbox item of another kind into the email to send (None: nothing to send)."""


def compose_report(session: Session, item: outbox.Claimed, smtp: SmtpSettings) -> Composed | None:
    """A monthly report (``report.monthly`` queues them) as one email to its recipients."""
    # The worker runs the background work of every stage, reports included; imported here
    # so that the collect and act stages themselves never depend on the report stage.
    from cxpulse.report.monthly import report_email

    payload = item.payload
    recipients = [str(r).strip() for r in payload.get("recipients", []) if str(r).strip()]
    if not recipients:
        return None
    month = str(payload["month"])
    content = report_email(session, item.organisation_id, int(payload["survey_id"]), month)
    ident = f"<cxpulse.report.{int(payload['schedule_id'])}.{month}@{smtp.domain}>"
    headers = [
        ("Subject", header_text(content.subject)),
        ("From", address_header(*parseaddr(smtp.mail_from))),
        ("To", ", ".join(address_header("", r) for r in recipients)),
        ("Date", format_datetime(utc_now())),
        ("Message-ID", ident),
        ("Auto-Submitted", "auto-generated"),
    ]
    data = multipart_alternative(headers, content.text, content.html)
    return Composed(
        message_id=ident,
        sender=smtp.from_address,
        recipient=recipients[0],
        language=str(payload.get("language") or "en"),
        data=data,
        also_to=tuple(recipients[1:]),
    )


DEFAULT_COMPOSERS: dict[str, ItemComposer] = {REPORT_KIND: compose_report}
DEFAULT_BATCH_SIZE = 200
SURVEY_CLOSED = "survey closed"
REMINDER_INTERVAL_SECONDS = 60.0


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


@dataclass
class _Context:
    """What a batch needs to decide and compose, loaded in a few queries."""

    invitations: dict[int, Invitation] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    surveys: dict[int, Survey] = field(default_factory=dict)
    organisations: dict[int, Organisation] = field(default_factory=dict)
    unsubscribed: set[tuple[int, str]] = field(default_factory=set)
    answered: set[int] = field(default_factory=set)
    last_sent: dict[int, datetime] = field(default_factory=dict)


class OutboxWorker:
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
        composers: Mapping[str, ItemComposer] | None = None,
    ) -> None:
        self.engine = engine
        self.composers = dict(DEFAULT_COMPOSERS if composers is None else composers)
        self.kinds = (*KINDS, *self.composers)
        self.smtp_settings = smtp
        self.links = links
        self.batch_size = batch_size
        self.lock_seconds = lock_seconds
        self.max_attempts = max_attempts
        self.clock = clock
        self.sessions: sessionmaker[Session] = session_factory(engine)
        self.read_sessions: sessionmaker[Session] = session_factory(engine, read_only=True)
        self.connection = connection_factory(smtp)
        self._next_reminder_check = 0.0
        self._next_stale_check = 0.0
        self._accepted: list[int] = []
        """Items whose messages the server accepted, to confirm in the next commit."""

    # one round

    def run_once(self) -> RoundStats:
        """Schedule due reminders (once a minute), then send one batch of due items."""
        stats = RoundStats()
        if time.monotonic() >= self._next_reminder_check:
            self._next_reminder_check = time.monotonic() + REMINDER_INTERVAL_SECONDS
            stats.reminders_scheduled = self.schedule_reminders()
            if REPORT_KIND in self.composers:
                self.schedule_reports()
        if time.monotonic() >= self._next_stale_check:
            # As often as a lock can expire, so that a dead worker's items show soon.
            interval = min(REMINDER_INTERVAL_SECONDS, max(1.0, self.lock_seconds))
            self._next_stale_check = time.monotonic() + interval
            self.flag_unconfirmed()
        with self.read_sessions() as session:
            if not outbox.has_due(session, self.kinds, now=self.clock()):
                return stats
        with self.sessions.begin() as session:
            items = outbox.claim(
                session,
                self.kinds,
                limit=self.batch_size,
                lock_seconds=self.lock_seconds,
                now=self.clock(),
            )
        stats.claimed = len(items)
        if items:
            context = self._load(items)
            try:
                for position, item in enumerate(items):
                    if not self._handle(item, context, stats):
                        self._postpone(items[position + 1 :], stats)
                        break
            finally:
                self.confirm_accepted()
        return stats

    def confirm_accepted(self) -> None:
        """Commit ``sent`` for the messages the server accepted since the last commit."""
        if self._accepted:
            with self.sessions.begin() as session:
                outbox.confirm(session, self._accepted)
            self._accepted.clear()

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
                    self._set_invitation(session, invitation_id, reason=outbox.UNCONFIRMED_BY_CRASH)
        for item in items:
            logger.warning("outbox item %s: %s", item.id, outbox.UNCONFIRMED_BY_CRASH)
        return len(items)

    def _postpone(self, items: list[outbox.Claimed], stats: RoundStats) -> None:
        """The server cannot be reached: put the rest of the batch back untried."""
        if not items:
            return
        now = self.clock()
        with self.sessions.begin() as session:
            for item in items:
                outbox.retry(session, item, "postponed: the SMTP server is unavailable", now=now)
        stats.retried += len(items)

    def drain(self, *, max_rounds: int = 1000) -> RoundStats:
        """Rounds until nothing is due (for tests and the command line)."""
        total = RoundStats()
        for _ in range(max_rounds):
            stats = self.run_once()
            total.add(stats)
            if stats.claimed == 0:
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
                if stats.claimed == 0:
                    stop.wait(idle_seconds)
        finally:
            try:
                self.confirm_accepted()
            finally:
                self.connection.close()

    def schedule_reminders(self) -> int:
        with self.read_sessions() as session:
            # Most installations use no reminders: then never take the write lock for them.
            wanted = session.scalar(
                select(Survey.id).where(Survey.reminder_days.is_not(None)).limit(1)
            )
        if wanted is None:
            return 0
        with self.sessions.begin() as session:
            return triggers.schedule_reminders(session, now=self.clock())

    def schedule_reports(self) -> int:
        """Queue last month's report of each active schedule, once a month (see
        ``report.monthly.enqueue_due_reports``); the count queued."""
        from cxpulse.report.monthly import enqueue_due_reports
        from cxpulse.store.models import ReportSchedule

        with self.read_sessions() as session:
            wanted = session.scalar(
                select(ReportSchedule.id).where(ReportSchedule.active.is_(True)).limit(1)
            )
        if wanted is None:
            return 0
        with self.sessions.begin() as session:
            return len(enqueue_due_reports(session, self.clock()))

    # a batch

    def _load(self, items: list[outbox.Claimed]) -> _Context:
        ids = {int(item.payload.get("invitation_id", 0)) for item in items}
        context = _Context()
        with self.read_sessions() as session:
            for row in session.scalars(select(Invitation).where(Invitation.id.in_(ids))):
                context.invitations[row.id] = row
            invitations = list(context.invitations.values())
            contact_ids = {i.contact_id for i in invitations}
            for contact in session.scalars(select(Contact).where(Contact.id.in_(contact_ids))):
                context.contacts[contact.id] = contact
            survey_ids = {i.survey_id for i in invitations}
            for survey in session.scalars(select(Survey).where(Survey.id.in_(survey_ids))):
                context.surveys[survey.id] = survey
            org_ids = {i.organisation_id for i in invitations}
            for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids))):
                context.organisations[org.id] = org
            for org_id in org_ids:
                emails = [
                    c.email
                    for i in invitations
                    if i.organisation_id == org_id
                    and (c := context.contacts.get(i.contact_id)) is not None
                    and c.email
                ]
                for email in store.unsubscribed_among(session, org_id, emails):
                    context.unsubscribed.add((org_id, email))
            context.answered = set(
                session.scalars(
                    select(Response.invitation_id).where(Response.invitation_id.in_(ids))
                )
            )
            longest = max((self._throttle(context, i) for i in invitations), default=0)
            if longest > 0:
                context.last_sent = store.last_sent(
                    session,
                    contact_ids,
                    self.clock() - timedelta(days=longest),
                    exclude=ids,
                )
        return context

    @staticmethod
    def _throttle(context: _Context, invitation: Invitation) -> int:
        survey = context.surveys.get(invitation.survey_id)
        org = context.organisations.get(invitation.organisation_id)
        if survey is None or org is None:
            return 0
        return triggers.throttle_days(org, survey)

    def _skip_reason(self, item: outbox.Claimed, context: _Context) -> tuple[str, str] | None:
        """Why not to send, as (new invitation status or '', reason); None to send."""
        invitation = context.invitations.get(int(item.payload.get("invitation_id", 0)))
        if invitation is None:
            return "", "the invitation was deleted"
        contact = context.contacts.get(invitation.contact_id)
        reminder = item.kind == triggers.REMINDER_KIND
        if reminder:
            if invitation.status != "sent" or invitation.reminded_at is not None:
                return "", f"no reminder for an invitation that is {invitation.status}"
            if invitation.id in context.answered:
                return "", "answered already"
        elif invitation.status != "scheduled":
            return "", f"the invitation is {invitation.status}"
        survey = context.surveys.get(invitation.survey_id)
        if survey is None or survey.status != "active":
            return ("" if reminder else "cancelled"), SURVEY_CLOSED
        if contact is None or not contact.email:
            return ("failed" if not reminder else ""), "the contact has no email address"
        if (
            invitation.organisation_id,
            store.normalise_email(contact.email),
        ) in context.unsubscribed:
            return ("unsubscribed" if not reminder else ""), "the address unsubscribed"
        if not reminder:
            days = self._throttle(context, invitation)
            last = context.last_sent.get(contact.id)
            if days > 0 and last is not None and self.clock() - last < timedelta(days=days):
                contacted = last.date().isoformat()
                return "throttled", (
                    f"contacted on {contacted}; at most one invitation per {days} days"
                )
        return None

    def _handle(self, item: outbox.Claimed, context: _Context, stats: RoundStats) -> bool:
        """Send or close one item; False when the server is unreachable."""
        if item.kind in self.composers:
            return self._handle_other(item, stats)
        invitation_id = int(item.payload.get("invitation_id", 0))
        reminder = item.kind == triggers.REMINDER_KIND
        skip = self._skip_reason(item, context)
        if skip is not None:
            status, reason = skip
            with self.sessions.begin() as session:
                outbox.drop(session, item, reason, now=self.clock())
                if status:
                    self._set_invitation(session, invitation_id, status=status, reason=reason)
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
            late = self._late_reason(session, invitation, contact, reminder, sent_at)
            held = late is None and outbox.finish(
                session, item, now=sent_at, lock_seconds=self.lock_seconds
            )
            if held:
                self._mark_sent(session, invitation_id, reminder, sent_at)
            outbox.confirm(session, self._accepted)
        self._accepted.clear()
        if late is not None:
            status, reason = late
            with self.sessions.begin() as session:
                outbox.drop(session, item, reason, now=self.clock())
                if status:
                    self._set_invitation(
                        session, invitation_id, status=status, reason=reason, only_scheduled=True
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
            self._refused_after_commit(item, invitation_id, reminder, str(error), stats, error)
            return True
        except DeliveryUnknown as error:
            self._unconfirmed(item.id, invitation_id, reminder, error)
        else:
            self._accepted.append(item.id)
        stats.sent += 1
        if not reminder:
            context.last_sent[contact.id] = sent_at
        return True

    def _handle_other(self, item: outbox.Claimed, stats: RoundStats) -> bool:
        """An item of another stage (a report): compose, then the same two-step send."""
        # No invitation to update: ``_failed`` and friends are told so with id 0, reminder.
        try:
            with self.read_sessions() as session:
                composed = self.composers[item.kind](session, item, self.smtp_settings)
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
                self._set_invitation(session, invitation_id, reason=reason)

    def _refused_after_commit(
        self,
        item: outbox.Claimed,
        invitation_id: int,
        reminder: bool,
        message: str,
        stats: RoundStats,
        error: SmtpRefused,
    ) -> None:
        self._failed(item, invitation_id, reminder, message, stats, error, after_commit=True)

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
                if reminder:
                    self._set_invitation(session, invitation_id, reminded_at=None)
                else:
                    self._set_invitation(session, invitation_id, status="scheduled", sent_at=None)
            if give_up:
                if invitation_id and not reminder:
                    reason = f"gave up after {item.attempts} attempts: {message}"
                    self._set_invitation(session, invitation_id, status="failed", reason=reason)
                stats.failed += 1
            else:
                if invitation_id and not reminder:
                    self._set_invitation(
                        session, invitation_id, reason=f"retrying: {message}"[:200]
                    )
                stats.retried += 1
        logger.info("invitation %s not sent: %s", invitation_id, message)

    def _late_reason(
        self,
        session: Session,
        invitation: Invitation,
        contact: Contact,
        reminder: bool,
        now: datetime,
    ) -> tuple[str, str] | None:
        """``_skip_reason`` again inside the transaction that commits the send."""
        # One statement, since it runs for every email. On PostgreSQL it locks the contact, so
        # that two threads sending to the same contact take turns here and the second sees
        # the first one's send, and the invitation, so that a cancel arriving now waits for
        # this commit and then finds it sent (one that came first is seen here and wins).
        # SQLite's write transaction already serialises all of them.
        unsubscribed = (
            select(Unsubscribe.id)
            .where(
                Unsubscribe.organisation_id == Invitation.organisation_id,
                Unsubscribe.email == store.normalise_email(contact.email or ""),
            )
            .exists()
        )
        current = session.execute(
            select(
                Invitation.status,
                Invitation.reminded_at,
                Survey.status.label("survey_status"),
                Survey.throttle_days.label("survey_throttle"),
                Organisation.throttle_days.label("organisation_throttle"),
                unsubscribed.label("unsubscribed"),
            )
            .join(Contact, Contact.id == Invitation.contact_id)
            .join(Survey, Survey.id == Invitation.survey_id)
            .join(Organisation, Organisation.id == Invitation.organisation_id)
            .where(Invitation.id == invitation.id, Contact.id == contact.id)
            .with_for_update(of=[Invitation, Contact])
        ).one_or_none()
        if current is None:
            return "", "the invitation was deleted"
        if reminder and (current.status != "sent" or current.reminded_at is not None):
            return "", f"no reminder for an invitation that is {current.status}"
        if not reminder and current.status != "scheduled":
            return "", f"the invitation is {current.status}"
        if current.survey_status != "active":
            return ("" if reminder else "cancelled"), SURVEY_CLOSED
        if contact.email and current.unsubscribed:
            return ("" if reminder else "unsubscribed"), "the address unsubscribed"
        if reminder:
            return None
        days = (
            current.survey_throttle
            if current.survey_throttle is not None
            else current.organisation_throttle
        )
        if days > 0:
            since = now - timedelta(days=days)
            last = store.last_sent(session, [contact.id], since, exclude=[invitation.id])
            if contact.id in last:
                contacted = last[contact.id].date().isoformat()
                return "throttled", (
                    f"contacted on {contacted}; at most one invitation per {days} days"
                )
        return None

    @staticmethod
    def _mark_sent(session: Session, invitation_id: int, reminder: bool, sent_at: datetime) -> None:
        # Conditional as well, though ``_late_reason`` has just checked under a lock.
        query = update(Invitation).where(Invitation.id == invitation_id)
        if reminder:
            query = query.where(Invitation.reminded_at.is_(None)).values(reminded_at=sent_at)
        else:
            query = query.where(Invitation.status == "scheduled").values(
                status="sent", sent_at=sent_at, reason=None
            )
        session.execute(query.execution_options(synchronize_session=False))

    @staticmethod
    def _set_invitation(
        session: Session, invitation_id: int, *, only_scheduled: bool = False, **changes: object
    ) -> None:
        if isinstance(changes.get("reason"), str):
            changes["reason"] = str(changes["reason"])[:200]
        query = update(Invitation).where(Invitation.id == invitation_id)
        if only_scheduled:
            query = query.where(Invitation.status == "scheduled")
        session.execute(query.values(**changes).execution_options(synchronize_session=False))


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


def inline_worker_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """``CXPULSE_INLINE_WORKER``: true (default) or false."""
    env = os.environ if environ is None else environ
    text = env.get("CXPULSE_INLINE_WORKER", "").strip().lower()
    if text in ("0", "false", "no", "off"):
        return False
    if text in ("", "1", "true", "yes", "on"):
        return True
    raise ConfigError(f"CXPULSE_INLINE_WORKER must be true or false, got {text!r}")


def start_inline_worker(engine: Engine, settings: Settings) -> InlineWorker | None:
    """The worker of ``cxpulse serve``, started in a thread; None when
    ``CXPULSE_INLINE_WORKER=false`` (``cxpulse worker`` runs apart, or a test drives one)."""
    if not inline_worker_enabled():
        return None
    worker = OutboxWorker(engine, SmtpSettings.from_env(), LinkSigner(settings.secret_key))
    inline = InlineWorker(worker)
    inline.start()
    logger.info("outbox worker started in the web process")
    return inline
