"""Colleagues invited by email, and passwords chosen through an emailed link (an invitation
or a password reset).

An invited user is an ordinary user of the organisation with ``invited_at`` set and a
password nobody knows (a long random one, hashed like any other: a login with it costs the
same argon2 computation, so its timing does not tell an invitation from an account). The
link of the email names the user and a *mark* of the user's password hash at the time
(``link_mark``): choosing a password changes the hash, so every link made before dies at
once, used or not. Renewing an invitation draws a new random password for the same reason.

Choosing a password through a link clears ``invited_at`` and ends every session of the user
(a reset is what someone does when they fear that their password is known).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import accounts, email_addresses, web_sessions
from cxpulse.store.errors import Invalid
from cxpulse.store.models import User
from cxpulse.store.types import utc_now

_MARK_LENGTH = 24


class DeadLink(LookupError):
    """The link's user is gone or deactivated, or its password changed since it was sent."""


def _unknown_password() -> str:
    return secrets.token_urlsafe(32)


def link_mark(user: User) -> str:
    """What a link remembers of the user's password hash: a digest (the hash is no secret
    of the link's reader, but need not travel in an email either)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:_MARK_LENGTH]


def invite(
    session: Session, organisation_id: int, *, email: str, role: str, name: str | None = None
) -> User:
    """A new user of the organisation who has still to choose a password; the rules of
    ``accounts.create_user`` (a ``Conflict`` when the organisation has the address)."""
    user = accounts.create_user(
        session,
        organisation_id,
        email=email,
        password=_unknown_password(),
        role=role,
        name=name,
    )
    user.invited_at = utc_now()
    session.flush()
    return user


def renew(session: Session, organisation_id: int, user_id: int) -> User:
    """A pending invitation sent again: earlier links stop working. ``Invalid`` when the
    user has chosen a password already."""
    user = accounts.get_user(session, organisation_id, user_id)
    if user.invited_at is None:
        raise Invalid("user", "has accepted the invitation already")
    if not user.is_active:
        raise Invalid("user", "is deactivated: reactivate the user first")
    accounts.set_password(session, organisation_id, user_id, _unknown_password())
    user.invited_at = utc_now()
    session.flush()
    return user


def open_link(
    session: Session, user_id: int, mark: str, *, invitation: bool, lock: bool = False
) -> User:
    """The user a link was made for, while the link still works; ``DeadLink`` otherwise.
    An invitation's link also dies once the invitation is accepted. ``lock``: the user's row
    is locked until the transaction ends (to use the link: two posts of one link at once
    must not both choose a password; the second then finds the mark changed)."""
    user = session.get(User, user_id, with_for_update=lock, populate_existing=lock)
    if (
        user is None
        or not user.is_active
        or not secrets.compare_digest(link_mark(user), mark)
        or (invitation and user.invited_at is None)
    ):
        raise DeadLink()
    return user


def choose_password(session: Session, user: User, password: str) -> int:
    """Set the password the user chose through a link (``Invalid`` naming ``password`` when
    the rules refuse it), accept a pending invitation and end the user's sessions; how many
    sessions ended."""
    accounts.set_password(session, user.organisation_id, user.id, password)
    user.invited_at = None
    ended = web_sessions.revoke_all(session, user.organisation_id, user.id)
    session.flush()
    return ended


def reset_candidates(session: Session, email: str) -> list[User]:
    """The active accounts of an address that a password reset goes to (one per
    organisation where it has one; none for an address that is no address)."""
    address = email_addresses.lookup_email(email)
    if address is None:
        return []
    query = select(User).where(User.email == address, User.is_active.is_(True)).order_by(User.id)
    return list(session.scalars(query))
