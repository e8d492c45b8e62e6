"""The ``sms`` tasks on SQLite and PostgreSQL, against a real HTTP receiver on loopback
playing Twilio: invitations carry their signed link, opted-out numbers get nothing, an
outage is retried, a bad number ends the item, and no item ever sends twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.sms_receiver import SmsReceiver, sms_receiver

from cxpulse.act import sms_sending
from cxpulse.act.tasks import TaskContext, TaskRegistry, TaskRunner
from cxpulse.collect.links import LinkSigner
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import contacts, outbox
from cxpulse.store import sms_opt_outs as opt_outs
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Invitation, Organisation, OutboxItem, Survey

from .conftest import Clock

PHONE = "+46701234567"
PUBLIC = "https://cx.example"


@pytest.fixture
def receiver() -> Iterator[SmsReceiver]:
    with sms_receiver() as running:
        yield running


def _runner(
    sessions: sessionmaker[Session], clock: Clock, receiver: SmsReceiver, **settings: object
) -> TaskRunner:
    registry = TaskRegistry()
    sms_sending.register(receiver.settings(**settings), registry)
    context = TaskContext(
        sessions=sessions,
        read_sessions=sessions,
        clock=clock,
        links=LinkSigner("test-key"),
        smtp=SmtpSettings(public_url=PUBLIC),
    )
    return TaskRunner(context, registry)


def _sms_invitation(
    sessions: sessionmaker[Session], org: Organisation, survey: Survey, phone: str | None = PHONE
) -> int:
    """An invitation by SMS as the invitation path stores it: the row and its ``sms`` item."""
    with sessions.begin() as session:
        contact = contacts.create_contact(session, org.id, name="Ana", locale="sv")
        contact.phone = phone
        invitation = Invitation(
            organisation_id=org.id,
            survey_id=survey.id,
            contact_id=contact.id,
            channel="sms",
            status="scheduled",
            send_at=datetime.now(UTC),
        )
        session.add(invitation)
        session.flush()
        outbox.enqueue(
            session, org.id, "sms", f"sms:{invitation.id}", {"invitation_id": invitation.id}
        )
        return invitation.id


def _invitation(sessions: sessionmaker[Session], invitation_id: int) -> Invitation:
    with sessions() as session:
        found = session.get(Invitation, invitation_id)
        assert found is not None
        return found


def _item_state(sessions: sessionmaker[Session], key: str) -> tuple[str, str | None]:
    with sessions() as session:
        row = session.execute(
            select(OutboxItem.state, OutboxItem.last_error).where(OutboxItem.dedupe_key == key)
        ).one()
        return row.state, row.last_error


def test_an_invitation_by_sms_sends_its_link_once(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    receiver: SmsReceiver,
) -> None:
    invitation_id = _sms_invitation(sessions, org, survey)
    runner = _runner(sessions, clock, receiver)
    assert runner.run_once() == 1
    (posted,) = receiver.messages
    assert posted.form["To"] == PHONE
    body = posted.form["Body"]
    assert body.startswith("Acme")
    assert "STOPP" in body
    link = body.split(f"{PUBLIC}/r/", 1)[1].split()[0]
    claims = LinkSigner("test-key").verify(link, "answer")
    assert (claims.invitation_id, claims.survey_id) == (invitation_id, survey.id)
    sent = _invitation(sessions, invitation_id)
    assert sent.status == "sent"
    assert sent.sent_at is not None
    assert _item_state(sessions, f"sms:{invitation_id}") == ("sent", None)
    # Queued again (a retried request, say): the invitation is sent, nothing goes out.
    with sessions.begin() as session:
        outbox.enqueue(session, org.id, "sms", "again", {"invitation_id": invitation_id})
    runner.run_once()
    assert len(receiver.messages) == 1


def test_opted_out_numbers_get_nothing(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    receiver: SmsReceiver,
) -> None:
    invitation_id = _sms_invitation(sessions, org, survey)
    with sessions.begin() as session:
        opt_outs.add_opt_out(session, org.id, PHONE, "stop")
        sms_sending.queue_sms(session, org.id, PHONE, "Your case was answered", dedupe_key="n1")
    _runner(sessions, clock, receiver).run_once()
    assert receiver.messages == []
    assert _invitation(sessions, invitation_id).status == "unsubscribed"
    assert _item_state(sessions, "sms:n1") == ("sent", None)


def test_an_outage_is_retried_and_a_bad_number_ends_the_item(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    receiver: SmsReceiver,
) -> None:
    invitation_id = _sms_invitation(sessions, org, survey)
    runner = _runner(sessions, clock, receiver)
    receiver.failures.append((503, {"message": "Service Unavailable"}))
    runner.run_once()
    assert receiver.messages == []
    assert _invitation(sessions, invitation_id).status == "scheduled"
    state, error = _item_state(sessions, f"sms:{invitation_id}")
    assert state == "pending"
    assert error is not None
    assert "503" in error
    # Due again after its backoff: this time the provider takes it.
    clock.offset += outbox.backoff(1) * 2
    runner.run_once()
    assert len(receiver.messages) == 1
    assert _invitation(sessions, invitation_id).status == "sent"

    refused = _sms_invitation(sessions, org, survey)
    receiver.failures.append(
        (400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"})
    )
    runner.run_once()
    invitation = _invitation(sessions, refused)
    assert invitation.status == "unsubscribed"
    assert "21610" in (invitation.reason or "")
    assert _item_state(sessions, f"sms:{refused}")[0] == "dead"
    with sessions() as session:
        assert opt_outs.is_opted_out(session, org.id, PHONE)


def test_a_worker_that_died_after_the_handover_does_not_send_again(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    receiver: SmsReceiver,
) -> None:
    with sessions.begin() as session:
        sms_sending.queue_sms(session, org.id, "+31612345678", "Case 12 is yours", dedupe_key="x")
        item_id = session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == "sms:x"))
        assert item_id is not None
        # What a worker leaves behind when it dies between the handover and the provider's
        # answer: the handover recorded, the item still claimed (its lock long expired).
        assert opt_outs.begin_handover(session, org.id, item_id)
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id)
            .values(state="sending", locked_until=datetime(2000, 1, 1, tzinfo=UTC), attempts=1)
        )
    _runner(sessions, clock, receiver).run_once()
    assert receiver.messages == []
    assert _item_state(sessions, "sms:x")[0] == "sent"


def test_without_settings_items_wait(
    sessions: sessionmaker[Session],
    org: Organisation,
    survey: Survey,
    clock: Clock,
    receiver: SmsReceiver,
) -> None:
    invitation_id = _sms_invitation(sessions, org, survey)
    _runner(sessions, clock, receiver, account="").run_once()
    state, error = _item_state(sessions, f"sms:{invitation_id}")
    assert state == "pending"
    assert "not configured" in (error or "")
    assert _invitation(sessions, invitation_id).status == "scheduled"


def test_register_is_idempotent_and_new_settings_replace(receiver: SmsReceiver) -> None:
    registry = TaskRegistry()
    sms_sending.register(receiver.settings(), registry)
    sms_sending.register(receiver.settings(), registry)
    sms_sending.register(receiver.settings(sender="+46700000000"), registry)
    sms_sending.register(registry=registry)
    (handler,) = registry.handlers()
    assert handler == sms_sending.sms_handler(receiver.settings(sender="+46700000000"))


def test_a_notification_needs_a_valid_number(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session, pytest.raises(Invalid, match="phone"):
        sms_sending.queue_sms(session, org.id, "0701234567", "x", dedupe_key="k")
