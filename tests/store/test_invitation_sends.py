"""The invitation rows around a send: a batch's rows, the locked send-time state, outcomes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, invitation_sends, surveys
from cxpulse.store.models import Contact, Invitation, Organisation, Response, Survey, Unsubscribe

SENT_AT = datetime(2026, 10, 12, 12, tzinfo=UTC)


def _invitation(session: Session, survey: Survey, email: str | None = "a@b.example") -> Invitation:
    contact = Contact(organisation_id=survey.organisation_id, email=email)
    session.add(contact)
    session.flush()
    invitation = Invitation(
        organisation_id=survey.organisation_id, survey_id=survey.id, contact_id=contact.id
    )
    session.add(invitation)
    session.flush()
    return invitation


def _fresh(session: Session, invitation: Invitation) -> Invitation:
    session.expire_all()
    found = session.get(Invitation, invitation.id)
    assert found is not None
    return found


def test_batch_rows_load_the_invitations_and_their_rows(
    session: Session, org: Organisation, survey: Survey
) -> None:
    first = _invitation(session, survey)
    second = _invitation(session, survey, email=None)
    session.add(
        Response(
            organisation_id=org.id,
            survey_id=survey.id,
            score=5,
            submitted_at=SENT_AT,
            invitation_id=second.id,
        )
    )
    session.flush()

    rows = invitation_sends.batch_rows(session, {first.id, second.id, 0})

    assert set(rows.invitations) == {first.id, second.id}
    assert set(rows.contacts) == {first.contact_id, second.contact_id}
    assert set(rows.surveys) == {survey.id}
    assert set(rows.organisations) == {org.id}
    assert rows.answered == {second.id}
    assert invitation_sends.batch_rows(session, []).invitations == {}


def test_the_send_state_reads_statuses_throttles_and_unsubscribes(
    session: Session, org: Organisation, survey: Survey
) -> None:
    invitation = _invitation(session, survey)
    state = invitation_sends.lock_send_state(
        session, invitation.id, invitation.contact_id, "a@b.example"
    )
    assert state == invitation_sends.SendState(
        status="scheduled",
        reminded_at=None,
        survey_status="active",
        survey_throttle=None,
        organisation_throttle=org.throttle_days,
        unsubscribed=False,
    )
    session.add(Unsubscribe(organisation_id=org.id, email="a@b.example", source="link"))
    survey.throttle_days = 3
    session.flush()
    state = invitation_sends.lock_send_state(
        session, invitation.id, invitation.contact_id, " A@B.example "
    )
    assert state is not None
    assert state.unsubscribed
    assert state.survey_throttle == 3
    other = accounts.create_organisation(session, slug="other", name="Other")
    session.add(Unsubscribe(organisation_id=other.id, email="c@d.example", source="link"))
    session.flush()
    state = invitation_sends.lock_send_state(
        session, invitation.id, invitation.contact_id, "c@d.example"
    )
    assert state is not None
    assert not state.unsubscribed
    assert invitation_sends.lock_send_state(session, invitation.id + 1000, 1, "x@y.z") is None
    assert (
        invitation_sends.lock_send_state(session, invitation.id, invitation.contact_id + 1, "")
        is None
    )


def test_the_send_state_locks_the_invitation_and_the_contact(
    database_kind: str, sessions: sessionmaker[Session]
) -> None:
    if database_kind == "sqlite":
        pytest.skip("SQLite's write transaction serialises senders: there is no row lock")
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        survey = surveys.create_survey(
            session, org.id, slug="s", name="S", metric="csat", status="active"
        )
        invitation = _invitation(session, survey)
        ids = invitation.id, invitation.contact_id
    with sessions.begin() as holder:
        assert invitation_sends.lock_send_state(holder, *ids, "a@b.example") is not None
        for model, row_id in ((Invitation, ids[0]), (Contact, ids[1])):
            with sessions.begin() as other, pytest.raises(OperationalError):
                other.execute(
                    select(model.id).where(model.id == row_id).with_for_update(nowait=True)
                )


def test_the_send_state_locks_every_contact_with_the_address(
    database_kind: str, sessions: sessionmaker[Session]
) -> None:
    """Throttling counts per address, so two sends to two contacts with one address must
    take turns as two sends to one contact do."""
    if database_kind == "sqlite":
        pytest.skip("SQLite's write transaction serialises senders: there is no row lock")
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        other = accounts.create_organisation(session, slug="other", name="Other")
        survey = surveys.create_survey(
            session, org.id, slug="s", name="S", metric="csat", status="active"
        )
        invitation = _invitation(session, survey, "ann@x.test")
        twin = Contact(organisation_id=org.id, email="ann@x.test", external_id="crm-2")
        stranger = Contact(organisation_id=org.id, email="bo@x.test")
        elsewhere = Contact(organisation_id=other.id, email="ann@x.test")
        session.add_all([twin, stranger, elsewhere])
        session.flush()
        ids = invitation.id, invitation.contact_id
        twin_id, free_ids = twin.id, (stranger.id, elsewhere.id)
    with sessions.begin() as holder:
        assert invitation_sends.lock_send_state(holder, *ids, "Ann@X.test") is not None
        with sessions.begin() as other_session, pytest.raises(OperationalError):
            other_session.execute(
                select(Contact.id).where(Contact.id == twin_id).with_for_update(nowait=True)
            )
        with sessions.begin() as other_session:
            for free in free_ids:
                other_session.execute(
                    select(Contact.id).where(Contact.id == free).with_for_update(nowait=True)
                )


def test_mark_sent_records_a_send_once(session: Session, survey: Survey) -> None:
    invitation = _invitation(session, survey)
    invitation.reason = "retrying: busy"
    session.flush()
    invitation_sends.mark_sent(session, invitation.id, False, SENT_AT)
    sent = _fresh(session, invitation)
    assert (sent.status, sent.reason) == ("sent", None)
    assert sent.sent_at is not None
    assert sent.sent_at.replace(tzinfo=UTC) == SENT_AT
    invitation_sends.mark_sent(session, invitation.id, True, SENT_AT)
    assert _fresh(session, invitation).reminded_at is not None
    later = datetime(2026, 10, 20, tzinfo=UTC)
    invitation_sends.mark_sent(session, invitation.id, True, later)
    invitation_sends.mark_sent(session, invitation.id, False, later)
    again = _fresh(session, invitation)
    assert again.reminded_at is not None
    assert again.reminded_at.replace(tzinfo=UTC) == SENT_AT
    assert again.sent_at is not None
    assert again.sent_at.replace(tzinfo=UTC) == SENT_AT


def test_undo_sent_takes_the_send_back(session: Session, survey: Survey) -> None:
    invitation = _invitation(session, survey)
    invitation_sends.mark_sent(session, invitation.id, False, SENT_AT)
    invitation_sends.mark_sent(session, invitation.id, True, SENT_AT)
    invitation_sends.undo_sent(session, invitation.id, True)
    reminded = _fresh(session, invitation)
    assert (reminded.status, reminded.reminded_at) == ("sent", None)
    invitation_sends.undo_sent(session, invitation.id, False)
    undone = _fresh(session, invitation)
    assert (undone.status, undone.sent_at) == ("scheduled", None)


def test_status_and_reason_updates(session: Session, survey: Survey) -> None:
    invitation = _invitation(session, survey)
    invitation_sends.set_reason(session, invitation.id, "x" * 300)
    noted = _fresh(session, invitation)
    assert (noted.status, noted.reason) == ("scheduled", "x" * 200)
    invitation_sends.set_status(session, invitation.id, "failed", "gave up")
    failed = _fresh(session, invitation)
    assert (failed.status, failed.reason) == ("failed", "gave up")
    invitation_sends.set_status(
        session, invitation.id, "cancelled", "survey closed", only_scheduled=True
    )
    kept = _fresh(session, invitation)
    assert (kept.status, kept.reason) == ("failed", "gave up")


def test_reminders_are_wanted_once_a_survey_sends_them(session: Session, survey: Survey) -> None:
    assert not invitation_sends.reminders_wanted(session)
    survey.reminder_days = 3
    session.flush()
    assert invitation_sends.reminders_wanted(session)
