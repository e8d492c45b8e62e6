"""Server-side browser sessions (``store.web_sessions``) on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import web_sessions
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, User, WebSession
from cxpulse.store.types import utc_now

HOURS_12 = timedelta(hours=12)


def _user(session: Session, org: Organisation, email: str, role: str = "analyst") -> User:
    user = User(organisation_id=org.id, email=email, role=role, password_hash="hash-1")
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def ana(session: Session, org: Organisation) -> User:
    return _user(session, org, "ana@acme.example")


def test_only_a_hash_of_the_secret_is_stored_and_it_finds_the_session(
    session: Session, ana: User
) -> None:
    started = web_sessions.start(
        session, ana, lifetime=HOURS_12, user_agent="Firefox on Linux", source="203.0.113.9"
    )
    row = session.get(WebSession, started.id)
    assert row is not None
    assert started.secret not in row.secret_hash
    assert row.secret_hash == web_sessions.secret_hash(started.secret)
    assert len(started.secret) >= 40
    assert (row.user_agent, row.source) == ("Firefox on Linux", "203.0.113.9")
    found = web_sessions.lookup(session, started.secret)
    assert found is not None
    assert (found.id, found.user_id, found.organisation_id, found.role) == (
        started.id,
        ana.id,
        ana.organisation_id,
        "analyst",
    )
    assert web_sessions.lookup(session, started.secret + "x") is None
    assert web_sessions.lookup(session, "") is None


def test_every_start_is_a_new_session(session: Session, ana: User) -> None:
    first = web_sessions.start(session, ana, lifetime=HOURS_12)
    second = web_sessions.start(session, ana, lifetime=HOURS_12)
    assert first.id != second.id
    assert first.secret != second.secret


def test_a_session_ends_when_revoked_expired_deactivated_or_the_password_changes(
    session: Session, ana: User
) -> None:
    now = utc_now()
    revoked, expiring, other = (
        web_sessions.start(session, ana, lifetime=HOURS_12, now=now) for _ in range(3)
    )
    assert web_sessions.revoke_secret(session, revoked.secret)
    assert not web_sessions.revoke_secret(session, revoked.secret)  # once only
    assert web_sessions.lookup(session, revoked.secret) is None
    assert web_sessions.lookup(session, expiring.secret, now=now + HOURS_12) is None
    assert web_sessions.lookup(session, expiring.secret, now=now + timedelta(hours=11)) is not None
    ana.is_active = False
    session.flush()
    assert web_sessions.lookup(session, other.secret) is None
    ana.is_active = True
    ana.password_hash = "hash-2"  # changed anywhere: the API, the CLI, by hand
    session.flush()
    assert web_sessions.lookup(session, other.secret) is None
    web_sessions.keep_after_password_change(session, other.id, "hash-2")
    assert web_sessions.lookup(session, other.secret) is not None


def test_last_seen_is_written_at_most_once_a_minute(session: Session, ana: User) -> None:
    now = utc_now()
    started = web_sessions.start(session, ana, lifetime=HOURS_12, now=now)
    found = web_sessions.lookup(session, started.secret, now=now)
    assert found is not None
    assert not found.needs_touch(now + timedelta(seconds=59))
    assert found.needs_touch(now + timedelta(seconds=61))
    web_sessions.touch(session, started.id, now=now + timedelta(seconds=30))
    session.expire_all()
    row = session.get(WebSession, started.id)
    assert row is not None
    assert row.last_seen_at == now
    web_sessions.touch(session, started.id, now=now + timedelta(seconds=90))
    session.expire_all()
    row = session.get(WebSession, started.id)
    assert row is not None
    assert row.last_seen_at == now + timedelta(seconds=90)


def test_listing_and_revoking_stay_within_the_user_and_organisation(
    session: Session, org: Organisation, other_org: Organisation, ana: User
) -> None:
    bo = _user(session, org, "bo@acme.example")
    cy = _user(session, other_org, "cy@globex.example")
    now = utc_now()
    mine = [web_sessions.start(session, ana, lifetime=HOURS_12, now=now) for _ in range(3)]
    theirs = web_sessions.start(session, bo, lifetime=HOURS_12, now=now)
    elsewhere = web_sessions.start(session, cy, lifetime=HOURS_12, now=now)
    listed = web_sessions.list_active(session, org.id, ana.id, now=now)
    assert sorted(row.id for row in listed) == sorted(s.id for s in mine)
    assert web_sessions.list_active(session, other_org.id, ana.id, now=now) == []
    with pytest.raises(NotFound):
        web_sessions.revoke(session, org.id, ana.id, theirs.id)
    with pytest.raises(NotFound):
        web_sessions.revoke(session, other_org.id, cy.id, mine[0].id)
    with pytest.raises(NotFound):
        web_sessions.revoke(session, org.id, cy.id, elsewhere.id)
    web_sessions.revoke(session, org.id, ana.id, mine[0].id)
    web_sessions.revoke(session, org.id, ana.id, mine[0].id)  # again: nothing changes
    assert web_sessions.lookup(session, mine[0].secret) is None
    assert web_sessions.revoke_all(session, org.id, ana.id, keep=mine[1].id) == 1
    assert web_sessions.lookup(session, mine[1].secret) is not None
    assert web_sessions.lookup(session, mine[2].secret) is None
    assert web_sessions.revoke_all(session, other_org.id, ana.id) == 0
    assert web_sessions.lookup(session, theirs.secret) is not None
    assert web_sessions.lookup(session, elsewhere.secret) is not None
    assert web_sessions.revoke_all(session, org.id, ana.id) == 1
    assert web_sessions.list_active(session, org.id, ana.id) == []


def test_sessions_ended_long_ago_go_at_the_next_login(session: Session, ana: User) -> None:
    long_ago = utc_now() - web_sessions.KEEP_ENDED - timedelta(days=2)
    old = web_sessions.start(session, ana, lifetime=timedelta(hours=1), now=long_ago)
    recent = web_sessions.start(session, ana, lifetime=timedelta(hours=1))
    web_sessions.revoke_secret(session, recent.secret)
    web_sessions.start(session, ana, lifetime=HOURS_12)
    ids = set(session.scalars(select(WebSession.id).where(WebSession.user_id == ana.id)))
    assert old.id not in ids
    assert recent.id in ids  # ended, but recently: still in the table
    assert session.scalar(select(func.count()).select_from(WebSession)) == 2


def test_long_user_agents_and_sources_are_cut_to_their_columns(session: Session, ana: User) -> None:
    started = web_sessions.start(
        session, ana, lifetime=HOURS_12, user_agent="u" * 500, source="s" * 500
    )
    row = session.get(WebSession, started.id)
    assert row is not None
    assert (len(row.user_agent or ""), len(row.source or "")) == (200, 64)
