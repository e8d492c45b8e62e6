"""The outbox worker against a real SMTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act.jobs import EXPECTED_KINDS, JobRegistry
from cxpulse.act.worker import SURVEY_CLOSED, OutboxWorker
from cxpulse.collect.invitations import InvitationRequest, create_invitations
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpConnection
from cxpulse.config import ConfigError
from cxpulse.store import outbox
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey

from .conftest import Clock


class PausingConnection(SmtpConnection):
    """A real SMTP connection that runs ``meanwhile`` once the message is on its way (after
    DATA, before its end): what another request or thread does while the worker sends."""

    meanwhile: Callable[[], None] | None = None

    def start(self, sender: str, recipient: str | Sequence[str], message: bytes) -> None:
        super().start(sender, recipient, message)
        if self.meanwhile is not None:
            action, self.meanwhile = self.meanwhile, None
            action()


@pytest.fixture
def pausing(engine: Engine, server: SmtpTestServer, clock: Clock) -> Iterator[OutboxWorker]:
    made = OutboxWorker(
        engine,
        server.settings(),
        LinkSigner("test-key"),
        clock=clock,
        connection_factory=PausingConnection,
    )
    yield made
    made.connection.close()


def _meanwhile(worker: OutboxWorker, action: Callable[[], None]) -> None:
    assert isinstance(worker.connection, PausingConnection)
    worker.connection.meanwhile = action


def _invite(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, *requests: InvitationRequest
) -> list[int]:
    with sessions.begin() as session:
        made = create_invitations(session, org.id, survey.id, list(requests))
        return [t.invitation.id for t in made]


def _status(sessions: sessionmaker[Session], invitation_id: int) -> Invitation:
    with sessions() as session:
        found = session.get(Invitation, invitation_id)
        assert found is not None
        return found


def test_sends_each_invitation_once(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    ids = _invite(
        sessions,
        org,
        survey,
        *(InvitationRequest(email=f"p{n}@example.com") for n in range(5)),
    )
    stats = worker.drain()
    assert stats.sent == 5
    assert worker.drain().claimed == 0
    received = server.wait_for(5)
    assert sorted(r.recipients[0] for r in received) == [f"p{n}@example.com" for n in range(5)]
    ids_seen = {r.parsed()["Message-ID"] for r in received}
    assert ids_seen == {f"<cxpulse.invitation.{i}@acme.example>" for i in ids}
    for invitation_id in ids:
        assert _status(sessions, invitation_id).status == "sent"
    with sessions() as session:
        states = set(session.scalars(select(OutboxItem.state)))
    assert states == {"sent"}


def test_a_hang_up_after_the_end_of_data_is_unconfirmed_and_never_resent(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    [lost, fine] = _invite(
        sessions,
        org,
        survey,
        InvitationRequest(email="lost@example.com"),
        InvitationRequest(email="fine@example.com"),
    )
    server.hang_up_after_next(1)
    assert worker.run_once().sent == 2
    clock.offset += timedelta(days=1)
    assert worker.drain().claimed == 0
    assert [r.recipients[0] for r in server.received] == ["lost@example.com", "fine@example.com"]
    with sessions() as session:
        states = dict(session.execute(select(OutboxItem.dedupe_key, OutboxItem.state)).all())
    assert sorted(states.values()) == ["sent", "unconfirmed"]
    unknown = _status(sessions, lost)
    assert unknown.status == "sent"
    assert unknown.reason is not None
    assert unknown.reason.startswith("delivery unknown")
    assert _status(sessions, fine).reason is None


def test_items_a_dead_worker_left_completing_are_flagged_on_its_invitations(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    [invitation_id] = _invite(sessions, org, survey, InvitationRequest(email="x@example.com"))
    dead = OutboxWorker(engine, server.settings(), LinkSigner("test-key"), clock=clock)
    with sessions.begin() as session:
        [item] = outbox.claim(session, ("invitation",), lock_seconds=60, now=clock())
        assert outbox.finish(session, item, now=clock(), lock_seconds=60)
    assert dead.flag_unconfirmed() == 0  # its lock still holds: it may be alive
    clock.offset += timedelta(minutes=2)
    assert dead.flag_unconfirmed() == 1
    assert _status(sessions, invitation_id).reason == outbox.UNCONFIRMED_BY_CRASH
    dead.connection.close()


def test_retries_after_a_temporary_refusal_then_gives_up(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    [first, second] = _invite(
        sessions,
        org,
        survey,
        InvitationRequest(email="a@example.com"),
        InvitationRequest(email="b@example.com"),
    )
    server.refuse_next(1)
    stats = worker.run_once()
    assert (stats.sent, stats.retried) == (1, 1)
    retrying = _status(sessions, first)
    assert retrying.status == "scheduled"
    assert retrying.sent_at is None
    assert retrying.reason is not None
    assert "451" in retrying.reason
    assert worker.run_once().claimed == 0  # backing off
    clock.offset += timedelta(minutes=5)
    assert worker.run_once().sent == 1
    assert _status(sessions, first).status == "sent"
    assert len(server.received) == 2
    # A recipient refused for good: failed with the reason, never retried.
    [third] = _invite(sessions, org, survey, InvitationRequest(email="c@example.com"))
    server.handler.refuse_rcpt = "550 5.1.1 No such user"
    stats = worker.run_once()
    assert stats.failed == 1
    failed = _status(sessions, third)
    assert failed.status == "failed"
    assert failed.reason is not None
    assert "550" in failed.reason
    assert second  # sent in the first round


def test_send_time_checks_unsubscribes_throttles_and_cancellations(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    from cxpulse.collect.invitations import cancel_invitation
    from cxpulse.store import invitations as store

    gone, busy, withdrawn, fine = _invite(
        sessions,
        org,
        survey,
        InvitationRequest(email="gone@example.com"),
        InvitationRequest(email="busy@example.com"),
        InvitationRequest(email="withdrawn@example.com"),
        InvitationRequest(email="fine@example.com"),
    )
    with sessions.begin() as session:
        store.add_unsubscribe(session, org.id, "gone@example.com", "link")
        cancel_invitation(session, org.id, withdrawn)
        # Meanwhile another invitation reached the busy contact (sent by another path).
        other = session.get(Invitation, busy)
        assert other is not None
        session.add(
            Invitation(
                organisation_id=org.id,
                survey_id=survey.id,
                contact_id=other.contact_id,
                status="sent",
                sent_at=other.send_at,
                send_at=other.send_at,
            )
        )
    stats = worker.drain()
    assert (stats.sent, stats.skipped) == (1, 3)
    assert [r.recipients for r in server.wait_for(1)] == [["fine@example.com"]]
    assert _status(sessions, gone).status == "unsubscribed"
    assert _status(sessions, busy).status == "throttled"
    assert _status(sessions, withdrawn).status == "cancelled"
    assert _status(sessions, fine).status == "sent"


def test_one_reminder_to_those_who_did_not_answer(
    sessions: sessionmaker[Session],
    org: Organisation,
    worker: OutboxWorker,
    server: SmtpTestServer,
    clock: Clock,
) -> None:
    from cxpulse.store import invitations as store
    from cxpulse.store import responses, surveys

    with sessions.begin() as session:
        survey = surveys.create_survey(
            session,
            org.id,
            slug="remind",
            name="Remind",
            metric="nps",
            status="active",
            reminder_days=3,
        )
    answered, silent, leaving = _invite(
        sessions,
        org,
        survey,
        *(InvitationRequest(email=f"{n}@example.com") for n in ("answered", "silent", "leaving")),
    )
    assert worker.drain().sent == 3
    with sessions.begin() as session:
        responses.add_responses(
            session,
            org.id,
            [responses.NewResponse(survey_id=survey.id, score=9, invitation_id=answered)],
        )
        store.add_unsubscribe(session, org.id, "leaving@example.com", "link")
    worker.schedule_reminders()
    assert worker.drain().sent == 0  # too early
    clock.offset += timedelta(days=3, minutes=1)
    assert worker.schedule_reminders() == 2
    stats = worker.drain()
    assert (stats.sent, stats.skipped) == (1, 1)
    received = server.wait_for(4)
    reminder = received[-1].parsed()
    assert received[-1].recipients == ["silent@example.com"]
    assert reminder["Message-ID"] == f"<cxpulse.reminder.{silent}@acme.example>"
    assert reminder["Subject"].startswith("Reminder:")
    assert _status(sessions, silent).reminded_at is not None
    clock.offset += timedelta(days=3)
    assert worker.schedule_reminders() == 0
    assert worker.drain().sent == 0
    assert len(server.received) == 4
    assert leaving


def test_unreachable_server_postpones_the_batch(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
) -> None:
    from tests.smtp_server import free_port

    from cxpulse.collect.links import LinkSigner
    from cxpulse.collect.smtp import SmtpSettings

    _invite(
        sessions, org, survey, *(InvitationRequest(email=f"u{n}@example.com") for n in range(3))
    )
    down = SmtpSettings(host="127.0.0.1", port=free_port(), mail_from="s@acme.example")
    worker = OutboxWorker(engine, down, LinkSigner("k"), clock=clock, max_attempts=2)
    stats = worker.run_once()
    assert (stats.sent, stats.retried) == (0, 3)
    with sessions() as session:
        errors = set(session.scalars(select(OutboxItem.last_error)))
    assert any("cannot connect" in (e or "") for e in errors)
    clock.offset += timedelta(hours=1)
    stats = worker.run_once()
    assert stats.failed == 1  # the second attempt of the first item was its last
    with sessions() as session:
        failed = session.scalars(select(Invitation).where(Invitation.status == "failed")).all()
    assert len(failed) == 1
    assert failed[0].reason is not None
    assert failed[0].reason.startswith("gave up after 2 attempts")


def test_the_web_app_sends_from_its_own_thread(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi.testclient import TestClient

    from cxpulse.config import Settings
    from cxpulse.web import create_app

    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "true")
    monkeypatch.setenv("CXPULSE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CXPULSE_SMTP_PORT", str(server.port))
    monkeypatch.setenv("CXPULSE_MAIL_FROM", "surveys@acme.example")
    settings = Settings(database_url=engine.url.render_as_string(False), secret_key="k")
    with TestClient(create_app(settings, engine)):
        [invitation] = _invite(sessions, org, survey, InvitationRequest(email="w@example.com"))
        [received] = server.wait_for(1, timeout=15)
    assert received.parsed()["Message-ID"] == f"<cxpulse.invitation.{invitation}@acme.example>"
    monkeypatch.setenv("CXPULSE_INLINE_WORKER", "maybe")
    with pytest.raises(ConfigError, match="CXPULSE_INLINE_WORKER"):
        Settings(database_url=engine.url.render_as_string(False), secret_key="k")


def test_workers_side_by_side_send_each_invitation_once(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
) -> None:
    from collections import Counter

    from cxpulse.act.worker import drain_together
    from cxpulse.collect.links import LinkSigner

    ids = _invite(
        sessions, org, survey, *(InvitationRequest(email=f"t{n}@x.example") for n in range(60))
    )
    workers = [
        OutboxWorker(engine, server.settings(), LinkSigner("k"), batch_size=7) for _ in range(3)
    ]
    stats = drain_together(workers)
    for each in workers:
        each.connection.close()
    assert stats.sent == 60
    counted = Counter(r.parsed()["Message-ID"] for r in server.wait_for(60))
    assert set(counted.values()) == {1}
    assert len(counted) == len(ids)


@pytest.fixture
def jobs() -> JobRegistry:
    """A registry of this test's own, as a process fills its registry at start-up."""
    return JobRegistry(EXPECTED_KINDS)


def test_monthly_reports_queued_by_the_report_stage_are_emailed_once(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    server: SmtpTestServer,
    clock: Clock,
    jobs: JobRegistry,
) -> None:
    from datetime import UTC, datetime

    from cxpulse.report import jobs as report_jobs
    from cxpulse.report.schedules import enqueue_due_reports
    from cxpulse.store.models import ReportSchedule

    report_jobs.register(jobs)  # what the web app and `cxpulse worker` do at start-up
    report_jobs.register(jobs)  # twice is harmless
    worker = OutboxWorker(engine, server.settings(), LinkSigner("k"), clock=clock, jobs=jobs)
    with sessions.begin() as session:
        session.add(
            ReportSchedule(
                organisation_id=org.id,
                survey_id=survey.id,
                recipients={"emails": ["boss@acme.example", "team@acme.example"]},
                language="en",
            )
        )
    assert worker.schedule_jobs() == 1  # the worker queues due reports once a minute
    assert worker.schedule_jobs() == 0
    with sessions.begin() as session:
        assert enqueue_due_reports(session, datetime.now(UTC)) == []
        [month] = session.scalars(select(OutboxItem.payload)).all()
        month = month["month"]
    stats = worker.drain()
    worker.connection.close()
    assert stats.sent == 1
    [received] = server.wait_for(1)
    assert received.recipients == ["boss@acme.example", "team@acme.example"]
    message = received.parsed()
    assert message["Message-ID"].startswith("<cxpulse.report.")
    assert month in message["Message-ID"]
    assert "monthly report" in message["Subject"]
    assert message.get_body(("html",)) is not None
    assert worker.drain().claimed == 0
    with sessions() as session:
        assert session.scalars(select(OutboxItem.state)).all() == ["sent"]


def test_an_item_whose_kind_has_no_handler_fails_clearly(
    engine: Engine,
    sessions: sessionmaker[Session],
    org: Organisation,
    server: SmtpTestServer,
    clock: Clock,
    jobs: JobRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A report queued by a process that registered the report stage, met by a worker of a
    process that did not: it says why on the item and in the log, retries, then gives up."""
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "report", "report:1:2026-10", {"month": "2026-10"})
    worker = OutboxWorker(
        engine, server.settings(), LinkSigner("k"), clock=clock, jobs=jobs, max_attempts=2
    )
    assert worker.schedule_jobs() == 0  # nothing registered, nothing scheduled
    with caplog.at_level("ERROR", logger="cxpulse.worker"):
        stats = worker.run_once()
    assert (stats.claimed, stats.retried, stats.sent) == (1, 1, 0)
    assert "no handler is registered for outbox items of kind 'report'" in caplog.text
    with sessions() as session:
        [item] = session.scalars(select(OutboxItem)).all()
        assert item.state == "pending"
        assert item.last_error is not None
        assert "no handler is registered" in item.last_error
    clock.offset += timedelta(days=1)
    assert worker.drain().failed == 1
    worker.connection.close()
    with sessions() as session:
        assert session.scalars(select(OutboxItem.state)).all() == ["dead"]
    assert server.received == []


def _close(sessions: sessionmaker[Session], survey_id: int) -> None:
    with sessions.begin() as session:
        found = session.get(Survey, survey_id)
        assert found is not None
        found.status = "closed"


def test_a_survey_closed_before_sending_is_not_emailed(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    pausing: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    [early] = _invite(sessions, org, survey, InvitationRequest(email="early@example.com"))
    _close(sessions, survey.id)
    assert (pausing.drain().sent, len(server.received)) == (0, 0)
    closed_early = _status(sessions, early)
    assert (closed_early.status, closed_early.reason) == ("cancelled", SURVEY_CLOSED)
    # Closed while the message is on its way: the server discards it.
    with sessions.begin() as session:
        reopened = session.get(Survey, survey.id)
        assert reopened is not None
        reopened.status = "active"
    [late] = _invite(sessions, org, survey, InvitationRequest(email="late@example.com"))
    _meanwhile(pausing, lambda: _close(sessions, survey.id))
    stats = pausing.drain()
    assert (stats.sent, stats.skipped) == (0, 1)
    closed_late = _status(sessions, late)
    assert (closed_late.status, closed_late.reason) == ("cancelled", SURVEY_CLOSED)
    time.sleep(0.3)  # time for a wrongly ended message to arrive
    assert server.received == []
    # Not contacted, so not throttled: the next survey may invite them at once.
    with sessions.begin() as session:
        from cxpulse.store import surveys

        other = surveys.create_survey(
            session, org.id, slug="other", name="Other", metric="csat", status="active"
        )
    [again] = _invite(sessions, org, other, InvitationRequest(email="late@example.com"))
    assert _status(sessions, again).status == "scheduled"


def test_a_cancel_while_sending_wins_and_the_message_is_discarded(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    pausing: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    from cxpulse.collect.invitations import cancel_invitation

    [withdrawn] = _invite(sessions, org, survey, InvitationRequest(email="w@example.com"))

    def cancel() -> None:
        with sessions.begin() as session:
            cancel_invitation(session, org.id, withdrawn)

    _meanwhile(pausing, cancel)
    stats = pausing.drain()
    assert (stats.sent, stats.skipped) == (0, 1)
    assert _status(sessions, withdrawn).status == "cancelled"
    time.sleep(0.3)
    assert server.received == []
    with sessions() as session:
        assert set(session.scalars(select(OutboxItem.state))) == {"sent"}  # closed, not retried


def test_unsubscribes_and_other_sends_while_sending_are_seen_before_committing(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    pausing: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    from cxpulse.store import invitations as store

    [leaving] = _invite(sessions, org, survey, InvitationRequest(email="leaving@example.com"))

    def unsubscribe() -> None:
        with sessions.begin() as session:
            store.add_unsubscribe(session, org.id, "leaving@example.com", "link")

    _meanwhile(pausing, unsubscribe)
    assert pausing.drain().sent == 0
    assert _status(sessions, leaving).status == "unsubscribed"

    [busy] = _invite(sessions, org, survey, InvitationRequest(email="busy@example.com"))

    def another_thread_sends() -> None:
        with sessions.begin() as session:
            mine = session.get(Invitation, busy)
            assert mine is not None
            session.add(
                Invitation(
                    organisation_id=org.id,
                    survey_id=survey.id,
                    contact_id=mine.contact_id,
                    status="sent",
                    sent_at=mine.send_at,
                    send_at=mine.send_at,
                )
            )

    _meanwhile(pausing, another_thread_sends)
    assert pausing.drain().sent == 0
    throttled = _status(sessions, busy)
    assert throttled.status == "throttled"
    assert throttled.reason is not None
    assert "30 days" in throttled.reason
    time.sleep(0.3)
    assert server.received == []
