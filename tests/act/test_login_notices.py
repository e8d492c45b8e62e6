"""The login notice (``act.login_notices``) on SQLite and PostgreSQL: queued once an hour per
account, composed for the account's current address, skipped for a deactivated user."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.act import login_notices
from cxpulse.act.jobs import JobRegistry
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import login_attempts, outbox
from cxpulse.store.models import Organisation, OutboxItem, User
from cxpulse.store.types import utc_now

SMTP = SmtpSettings(mail_from="cxpulse <cx@acme.example>", public_url="https://cx.example")


def _failure(source_lock: bool) -> login_attempts.Failure:
    return login_attempts.Failure(
        source_failures=5,
        account_failures=20,
        source_locked_for=timedelta(minutes=1) if source_lock else None,
        account_delay=None if source_lock else timedelta(seconds=5),
        lock_started=True,
    )


def _claimed(session: Session) -> outbox.Claimed:
    (item,) = outbox.claim(session, [login_notices.KIND], now=utc_now() + timedelta(seconds=1))
    return item


def test_one_notice_an_hour_per_account(session: Session, org: Organisation) -> None:
    user = User(organisation_id=org.id, email="ana@acme.example", role="owner", password_hash="h")
    session.add(user)
    session.flush()
    now = utc_now().replace(minute=5)
    assert login_notices.enqueue(
        session, user.id, source="192.0.2.1", failure=_failure(True), now=now
    )
    later = now + timedelta(minutes=30)
    assert not login_notices.enqueue(
        session, user.id, source="192.0.2.2", failure=_failure(False), now=later
    )
    next_hour = now + timedelta(hours=1)
    assert login_notices.enqueue(
        session, user.id, source="192.0.2.3", failure=_failure(False), now=next_hour
    )
    assert not login_notices.enqueue(session, 987654321, source="x", failure=_failure(True))
    kinds = session.scalars(select(OutboxItem.kind)).all()
    assert kinds == [login_notices.KIND] * 2


def test_the_notice_goes_to_the_current_address_and_not_to_a_deactivated_user(
    session: Session, org: Organisation
) -> None:
    user = User(
        organisation_id=org.id,
        email="ana@acme.example",
        name="Ana",
        role="owner",
        password_hash="h",
    )
    session.add(user)
    session.flush()
    login_notices.enqueue(session, user.id, source="198.51.100.4", failure=_failure(False))
    item = _claimed(session)
    user.email = "ana.new@acme.example"
    composed = login_notices.compose_notice(session, item, SMTP)
    assert composed is not None
    assert composed.recipients == ("ana.new@acme.example",)
    message = message_from_bytes(composed.data, policy=policy.default)
    assert message["To"] == "Ana <ana.new@acme.example>"
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert "several addresses" in body
    assert "5 seconds" in body
    assert "https://cx.example/app/sessions" in body
    user.is_active = False
    assert login_notices.compose_notice(session, item, SMTP) is None


def test_waits_in_words() -> None:
    words = [login_notices.duration(s) for s in (0.2, 1, 59, 60, 61, 3599, 3600, 7200)]
    assert words == [
        "1 second",
        "1 second",
        "59 seconds",
        "1 minute",
        "2 minutes",
        "1 hour",
        "1 hour",
        "2 hours",
    ]


def test_registering_twice_is_harmless() -> None:
    registry = JobRegistry()
    login_notices.register(registry)
    login_notices.register(registry)
    assert registry.kinds() == (login_notices.KIND,)
