"""The checks before sending, decided from a batch's context (the checks at commit time run
against the database in tests/act/test_worker.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cxpulse.act import send_checks
from cxpulse.act.send_checks import SURVEY_CLOSED, BatchContext
from cxpulse.store.models import Contact, Invitation, Organisation, Survey
from cxpulse.store.outbox import Claimed

NOW = datetime(2026, 10, 12, 12, tzinfo=UTC)


def _context(**invitation: object) -> BatchContext:
    fields: dict[str, object] = {
        "id": 1,
        "organisation_id": 1,
        "survey_id": 2,
        "contact_id": 3,
        "status": "scheduled",
        "reminded_at": None,
    }
    fields.update(invitation)
    return BatchContext(
        invitations={1: Invitation(**fields)},
        contacts={3: Contact(id=3, organisation_id=1, email="a@b.example")},
        surveys={2: Survey(id=2, organisation_id=1, status="active", throttle_days=None)},
        organisations={1: Organisation(id=1, slug="o", name="O", throttle_days=30)},
    )


def _item(kind: str = "invitation", invitation_id: int = 1) -> Claimed:
    payload = {"invitation_id": invitation_id}
    return Claimed(9, 1, kind, f"{kind}:{invitation_id}", payload, 1, NOW)


def test_a_scheduled_invitation_to_an_active_survey_is_sent() -> None:
    assert send_checks.skip_reason(_item(), _context(), NOW) is None


def test_reasons_to_close_an_invitation_unsent() -> None:
    assert send_checks.skip_reason(_item(invitation_id=5), _context(), NOW) == (
        "",
        "the invitation was deleted",
    )
    cancelled = _context(status="cancelled")
    assert send_checks.skip_reason(_item(), cancelled, NOW) == ("", "the invitation is cancelled")
    closed = _context()
    closed.surveys[2].status = "closed"
    assert send_checks.skip_reason(_item(), closed, NOW) == ("cancelled", SURVEY_CLOSED)
    unsubscribed = _context()
    unsubscribed.unsubscribed.add((1, "a@b.example"))
    assert send_checks.skip_reason(_item(), unsubscribed, NOW) == (
        "unsubscribed",
        "the address unsubscribed",
    )
    no_address = _context()
    no_address.contacts[3].email = None
    assert send_checks.skip_reason(_item(), no_address, NOW) == (
        "failed",
        "the contact has no email address",
    )


def test_the_throttle_window_of_the_survey_or_else_the_organisation() -> None:
    context = _context()
    context.last_sent[3] = NOW - timedelta(days=10)
    assert send_checks.throttle(context, context.invitations[1]) == 30
    assert send_checks.skip_reason(_item(), context, NOW) == (
        "throttled",
        "contacted on 2026-10-02; at most one invitation per 30 days",
    )
    context.surveys[2].throttle_days = 7
    assert send_checks.skip_reason(_item(), context, NOW) is None


def test_a_reminder_only_for_a_sent_unanswered_invitation() -> None:
    sent = _context(status="sent")
    assert send_checks.skip_reason(_item("reminder"), sent, NOW) is None
    sent.answered.add(1)
    assert send_checks.skip_reason(_item("reminder"), sent, NOW) == ("", "answered already")
    scheduled = _context()
    assert send_checks.skip_reason(_item("reminder"), scheduled, NOW) == (
        "",
        "no reminder for an invitation that is scheduled",
    )
    reminded = _context(status="sent", reminded_at=NOW)
    assert send_checks.skip_reason(_item("reminder"), reminded, NOW) == (
        "",
        "no reminder for an invitation that is sent",
    )
