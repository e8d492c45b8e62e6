"""The team's account emails (``act.user_emails``) and their links (``act.account_links``) on
SQLite and PostgreSQL: tokens per purpose that expire, the invitation and the reset sent by
the worker through a real SMTP server with escaped text and the public address, nothing
sent once the link is dead, at most one reset every few minutes."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tests.smtp_server import SmtpTestServer

from cxpulse.act import user_emails
from cxpulse.act.account_links import AccountLinkProblem, AccountLinks
from cxpulse.act.worker import OutboxWorker
from cxpulse.store import user_invitations
from cxpulse.store.models import Organisation, OutboxItem
from cxpulse.store.types import utc_now

LINKS = AccountLinks("test-key")


@pytest.fixture(autouse=True)
def _registered() -> None:
    user_emails.register()


def test_tokens_are_bound_to_their_purpose_and_expire() -> None:
    token = LINKS.issue("invitation", 7, "mark")
    found = LINKS.read("invitation", token)
    assert (found.user_id, found.mark) == (7, "mark")
    with pytest.raises(AccountLinkProblem) as wrong:
        LINKS.read("reset", token)
    assert not wrong.value.expired
    reset = LINKS.issue("reset", 7, "mark", now=time.time() - 3601)
    with pytest.raises(AccountLinkProblem) as old:
        LINKS.read("reset", reset)
    assert old.value.expired
    with pytest.raises(AccountLinkProblem):
        AccountLinks("another-key").read("invitation", token)
    # Signed with a previous key: still good after a rotation.
    assert AccountLinks("new-key", ["test-key"]).read("invitation", token).user_id == 7


def test_the_invitation_arrives_with_its_link(
    sessions: sessionmaker[Session],
    org: Organisation,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        organisation = session.get(Organisation, org.id)
        assert organisation is not None
        organisation.name = "Acme <Support>"
        user = user_invitations.invite(
            session, org.id, email="bo@acme.example", role="analyst", name="Bo <b>"
        )
        assert user_emails.enqueue_invitation(session, LINKS, user, inviter="Ana & co")
        mark = user_invitations.link_mark(user)
        user_id = user.id
    worker.drain()
    (received,) = server.wait_for(1)
    assert received.recipients == ["bo@acme.example"]
    message = received.parsed()
    assert message["Subject"] == "You are invited to Acme <Support> on cxpulse"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None
    assert html is not None
    text, page = str(plain.get_content()), str(html.get_content())
    assert "Ana & co invited you to join Acme <Support> on cxpulse, as an analyst." in text
    assert "Ana &amp; co" in page
    assert "Acme &lt;Support&gt;" in page
    assert "<b>" not in page
    assert "Bo &lt;b&gt;" in page
    (url,) = [line for line in text.splitlines() if line.startswith("https://cx.example/invite/")]
    token = url.rsplit("/", 1)[1]
    assert f'href="{url}"' in page
    found = LINKS.read("invitation", token)
    assert (found.user_id, found.mark) == (user_id, mark)


def test_nothing_is_sent_once_the_link_is_dead(
    sessions: sessionmaker[Session],
    org: Organisation,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    with sessions.begin() as session:
        user = user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
        user_emails.enqueue_invitation(session, LINKS, user, inviter=None)
        user_emails.enqueue_reset(session, LINKS, user)
        # Bo chose a password before the worker ran: both links are dead.
        user_invitations.choose_password(session, user, "correct horse battery")
    worker.drain()
    assert server.messages == []
    with sessions() as session:
        states = session.scalars(select(OutboxItem.state)).all()
        assert len(states) == 2
        assert "pending" not in states


def test_one_reset_every_few_minutes(
    sessions: sessionmaker[Session],
    org: Organisation,
    worker: OutboxWorker,
    server: SmtpTestServer,
) -> None:
    now = utc_now().replace(minute=1)
    with sessions.begin() as session:
        user = user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
        user_invitations.choose_password(session, user, "correct horse battery")
        assert user_emails.enqueue_reset(session, LINKS, user, now=now)
        assert not user_emails.enqueue_reset(session, LINKS, user, now=now + timedelta(minutes=5))
        later = now + timedelta(minutes=user_emails.RESET_EVERY_MINUTES)
        assert user_emails.enqueue_reset(session, LINKS, user, now=later)
    assert worker.drain().sent == 2
    message = server.wait_for(2)[0].parsed()
    assert message["Subject"] == "Reset your cxpulse password"
    plain = message.get_body(("plain",))
    assert plain is not None
    assert "https://cx.example/password/reset/" in str(plain.get_content())
    assert "60 minutes" in str(plain.get_content())
