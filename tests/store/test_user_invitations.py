"""Invited users and links that choose a password (``store.user_invitations``) on SQLite and
PostgreSQL: an invited user cannot log in, a link dies once a password is chosen or the
invitation renewed, choosing ends the user's sessions, resets go to active accounts."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, user_invitations, web_sessions
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import Organisation

PASSWORD = "correct horse battery"


def test_an_invited_user_has_no_usable_password(session: Session, org: Organisation) -> None:
    user = user_invitations.invite(
        session, org.id, email="Bo@Acme.Example", role="analyst", name="Bo"
    )
    assert user.invited_at is not None
    assert user.email == "bo@acme.example"
    # A real argon2 hash of a password nobody knows: a login costs the same and fails.
    assert user.password_hash.startswith("$argon2")
    assert accounts.authenticate(session, "bo@acme.example", "") is None
    with pytest.raises(Conflict):
        user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
    with pytest.raises(Invalid) as refused:
        user_invitations.invite(session, org.id, email="cy@acme.example", role="boss")
    assert refused.value.field == "role"


def test_a_link_works_until_a_password_is_chosen(session: Session, org: Organisation) -> None:
    user = user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
    mark = user_invitations.link_mark(user)
    assert user_invitations.open_link(session, user.id, mark, invitation=True) is user
    started = web_sessions.start(session, user, lifetime=timedelta(hours=1))
    with pytest.raises(Invalid):
        user_invitations.choose_password(session, user, "short")
    assert user_invitations.choose_password(session, user, PASSWORD) == 1
    assert user.invited_at is None
    assert web_sessions.lookup(session, started.secret) is None
    assert accounts.authenticate(session, "bo@acme.example", PASSWORD) is not None
    for invitation in (True, False):
        with pytest.raises(user_invitations.DeadLink):
            user_invitations.open_link(session, user.id, mark, invitation=invitation)
    # A reset link made now works once, and not as an invitation.
    fresh = user_invitations.link_mark(user)
    assert user_invitations.open_link(session, user.id, fresh, invitation=False) is user
    with pytest.raises(user_invitations.DeadLink):
        user_invitations.open_link(session, user.id, fresh, invitation=True)
    with pytest.raises(user_invitations.DeadLink):
        user_invitations.open_link(session, 987654321, fresh, invitation=False)


def test_renewing_replaces_the_link(session: Session, org: Organisation) -> None:
    user = user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
    first = user_invitations.link_mark(user)
    user_invitations.renew(session, org.id, user.id)
    with pytest.raises(user_invitations.DeadLink):
        user_invitations.open_link(session, user.id, first, invitation=True)
    second = user_invitations.link_mark(user)
    assert user_invitations.open_link(session, user.id, second, invitation=True) is user
    accounts.update_user(session, org.id, user.id, is_active=False)
    with pytest.raises(user_invitations.DeadLink):
        user_invitations.open_link(session, user.id, second, invitation=True)
    with pytest.raises(Invalid):
        user_invitations.renew(session, org.id, user.id)
    accounts.update_user(session, org.id, user.id, is_active=True)
    user_invitations.choose_password(session, user, PASSWORD)
    with pytest.raises(Invalid):
        user_invitations.renew(session, org.id, user.id)


def test_resets_go_to_each_active_account_of_the_address(
    session: Session, org: Organisation, other_org: Organisation
) -> None:
    here = accounts.create_user(
        session, org.id, email="ana@acme.example", password=PASSWORD, role="owner"
    )
    there = accounts.create_user(
        session, other_org.id, email="ana@acme.example", password=PASSWORD, role="viewer"
    )
    found = user_invitations.reset_candidates(session, "ANA@acme.example ")
    assert [user.id for user in found] == [here.id, there.id]
    accounts.update_user(session, other_org.id, there.id, is_active=False)
    assert [u.id for u in user_invitations.reset_candidates(session, "ana@acme.example")] == [
        here.id
    ]
    assert user_invitations.reset_candidates(session, "nobody@acme.example") == []
    assert user_invitations.reset_candidates(session, "not an address") == []


def test_two_posts_of_one_link_at_once_choose_one_password(
    sessions: sessionmaker[Session], database_kind: str
) -> None:
    """The first use holds the user's row until it commits; the second, started meanwhile,
    waits and then finds the link dead (SQLite's writes are one at a time already)."""
    if database_kind == "sqlite":
        pytest.skip("SQLite serialises writers; the row lock is PostgreSQL's")
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme")
        user = user_invitations.invite(session, org.id, email="bo@acme.example", role="viewer")
        user_id, mark = user.id, user_invitations.link_mark(user)
    outcome: list[str] = []

    def second() -> None:
        try:
            with sessions.begin() as racing:
                found = user_invitations.open_link(
                    racing, user_id, mark, invitation=True, lock=True
                )
                user_invitations.choose_password(racing, found, "another password 2")
            outcome.append("chosen")
        except user_invitations.DeadLink:
            outcome.append("dead")

    with sessions() as session:
        found = user_invitations.open_link(session, user_id, mark, invitation=True, lock=True)
        user_invitations.choose_password(session, found, PASSWORD)
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive(), "the second use should wait for the first"
        session.commit()
    racer.join(10)
    assert outcome == ["dead"]
    with sessions() as session:
        assert accounts.authenticate(session, "bo@acme.example", PASSWORD) is not None
