"""Browser sessions kept on the server, so that they can end before they expire.

Logging in ``start``s a session: a new random secret every time (a login never reuses a
session, so one planted in a browser before its owner logs in is worthless). The cookie
carries the secret, signed (``web.tokens``); the table keeps only its SHA-256, so that a copy
of the database signs nobody in. Every signed-in request calls ``lookup``: one query on a
unique index, joined to the user, which also answers whether the user is still active and
still has the password the session began with. A session ends when it expires, when it is
``revoke``d (logout, a user's "sign out everywhere", an owner or admin) or when its user's
password changes, wherever that happens (its ``password_mark`` no longer matches).

``last_seen_at`` is written at most once a minute (``LAST_SEEN_RESOLUTION``), so that
reading pages does not become a write per request. Sessions that ended more than
``KEEP_ENDED`` ago are deleted when their user next logs in.

Like a login, ``lookup`` names no organisation (the secret is the way in); everything else
is scoped to the caller's organisation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.orm import Session

from cxpulse.store.errors import NotFound
from cxpulse.store.models import User, WebSession
from cxpulse.store.types import utc_now

LAST_SEEN_RESOLUTION = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)
"""How long a session that ended stays in the table before its user's next login removes it."""
SECRET_BYTES = 32
MAX_USER_AGENT = 200
MAX_SOURCE = 64


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def password_mark(password_hash: str) -> str:
    """What a session remembers of its user's password: a digest of the hash (no secret)."""
    return hashlib.sha256(password_hash.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    """A new session; ``secret`` exists only here and in the cookie made from it."""

    id: int
    secret: str
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    """A session that is valid now, and who it signs in."""

    id: int
    user_id: int
    organisation_id: int
    role: str
    last_seen_at: datetime
    expires_at: datetime

    def needs_touch(self, now: datetime) -> bool:
        return self.last_seen_at <= now - LAST_SEEN_RESOLUTION


def start(
    session: Session,
    user: User,
    *,
    lifetime: timedelta,
    user_agent: str | None = None,
    source: str | None = None,
    now: datetime | None = None,
) -> Started:
    """A new session of ``user`` (flushed, not committed); clears the user's long-ended ones.
    A new session is a sign-in, whatever door it came through (the login form, the first
    run's set-up, an invitation or reset link), so it is the user's last login too."""
    moment = now or utc_now()
    user.last_login_at = moment
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = WebSession(
        organisation_id=user.organisation_id,
        user_id=user.id,
        secret_hash=secret_hash(secret),
        password_mark=password_mark(user.password_hash),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + lifetime,
        user_agent=(user_agent or None) and user_agent[:MAX_USER_AGENT],
        source=(source or None) and source[:MAX_SOURCE],
    )
    session.add(row)
    forgotten = moment - KEEP_ENDED
    session.execute(
        delete(WebSession)
        .where(
            WebSession.user_id == user.id,
            or_(WebSession.expires_at < forgotten, WebSession.revoked_at < forgotten),
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return Started(row.id, secret, row.expires_at)


def lookup(session: Session, secret: str, *, now: datetime | None = None) -> ActiveSession | None:
    """The session ``secret`` stands for when it is valid now, else None."""
    row = session.execute(
        select(
            WebSession.id,
            WebSession.user_id,
            WebSession.organisation_id,
            WebSession.password_mark,
            WebSession.last_seen_at,
            WebSession.expires_at,
            WebSession.revoked_at,
            User.role,
            User.is_active,
            User.password_hash,
        )
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.secret_hash == secret_hash(secret))
    ).one_or_none()
    if row is None:
        return None
    moment = now or utc_now()
    if (
        row.revoked_at is not None
        or row.expires_at <= moment
        or not row.is_active
        or not secrets.compare_digest(row.password_mark, password_mark(row.password_hash))
    ):
        return None
    return ActiveSession(
        id=row.id,
        user_id=row.user_id,
        organisation_id=row.organisation_id,
        role=row.role,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


def touch(session: Session, session_id: int, *, now: datetime | None = None) -> None:
    """Record that the session was used, unless that was recorded in the last minute (so
    that concurrent requests write it at most once)."""
    moment = now or utc_now()
    session.execute(
        update(WebSession)
        .where(
            WebSession.id == session_id,
            WebSession.last_seen_at <= moment - LAST_SEEN_RESOLUTION,
        )
        .values(last_seen_at=moment)
        .execution_options(synchronize_session=False)
    )


def _active(moment: datetime) -> list[ColumnElement[bool]]:
    return [WebSession.revoked_at.is_(None), WebSession.expires_at > moment]


def list_active(
    session: Session, organisation_id: int, user_id: int, *, now: datetime | None = None
) -> list[WebSession]:
    """The user's sessions that are valid now, the most recently used first."""
    moment = now or utc_now()
    return list(
        session.scalars(
            select(WebSession)
            .where(
                WebSession.organisation_id == organisation_id,
                WebSession.user_id == user_id,
                *_active(moment),
            )
            .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
        )
    )


def revoke(
    session: Session,
    organisation_id: int,
    user_id: int,
    session_id: int,
    *,
    now: datetime | None = None,
) -> None:
    """End one session of the user; NotFound when the user has no such session (another
    user's, or another organisation's, is not found either). Ending an ended one is fine."""
    found = session.scalar(
        select(WebSession).where(
            WebSession.id == session_id,
            WebSession.organisation_id == organisation_id,
            WebSession.user_id == user_id,
        )
    )
    if found is None:
        raise NotFound("session", session_id)
    if found.revoked_at is None:
        found.revoked_at = now or utc_now()
        session.flush()


def revoke_all(
    session: Session,
    organisation_id: int,
    user_id: int,
    *,
    keep: int | None = None,
    now: datetime | None = None,
) -> int:
    """End every valid session of the user except ``keep``; how many ended."""
    moment = now or utc_now()
    conditions = [
        WebSession.organisation_id == organisation_id,
        WebSession.user_id == user_id,
        *_active(moment),
    ]
    if keep is not None:
        conditions.append(WebSession.id != keep)
    ended = session.execute(
        update(WebSession)
        .where(*conditions)
        .values(revoked_at=moment)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


def revoke_secret(session: Session, secret: str, *, now: datetime | None = None) -> bool:
    """End the session ``secret`` stands for (a logout, or a login replacing it); True when
    one was valid until now."""
    ended = session.execute(
        update(WebSession)
        .where(WebSession.secret_hash == secret_hash(secret), WebSession.revoked_at.is_(None))
        .values(revoked_at=now or utc_now())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(ended, "rowcount", 0))


def keep_after_password_change(session: Session, session_id: int, password_hash: str) -> None:
    """Let the session that changed its user's password stay valid with the new one."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(password_mark=password_mark(password_hash))
        .execution_options(synchronize_session=False)
    )
