"""Organisations, users and API keys.

Everything here is scoped to an organisation except the ways in: a login (``find_login``,
``check_login``, ``record_login``, together ``authenticate``; a login names no organisation,
hence globally unique emails), ``session_user`` and ``lookup_api_key``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import security
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import (
    API_KEY_SCOPES,
    DEFAULT_THROTTLE_DAYS,
    ROLES,
    ApiKey,
    Organisation,
    User,
)
from cxpulse.store.types import utc_now

MIN_PASSWORD_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
"""``last_used_at`` is refreshed at most this often, so that reads do not all become writes."""


# Organisations


def create_organisation(
    session: Session,
    *,
    slug: str,
    name: str,
    industry: str | None = None,
    throttle_days: int = DEFAULT_THROTTLE_DAYS,
) -> Organisation:
    values.slug("slug", slug)
    if session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict("slug", f"an organisation {slug!r} exists already")
    if throttle_days < 0:
        raise Invalid("throttle_days", "must not be negative")
    organisation = Organisation(
        slug=slug,
        name=values.required_text("name", name, 200),
        industry=values.text("industry", industry, 100),
        throttle_days=throttle_days,
    )
    session.add(organisation)
    session.flush()
    return organisation


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation", organisation_id)
    return organisation


def get_organisation_by_slug(session: Session, slug: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound("organisation", slug)
    return organisation


# Users


def _email(value: str) -> str:
    email = values.required_text("email", value, 320).lower()
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email):
        raise Invalid("email", f"{value!r} is not an email address")
    return email


def _role(value: str) -> str:
    if value not in ROLES:
        raise Invalid("role", f"must be one of {', '.join(ROLES)}")
    return value


def _password(value: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"needs at least {MIN_PASSWORD_LENGTH} characters")
    return value


def create_user(
    session: Session,
    organisation_id: int,
    *,
    email: str,
    password: str,
    role: str,
    name: str | None = None,
) -> User:
    get_organisation(session, organisation_id)
    address = _email(email)
    if session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict("email", "an account with this email exists already")
    user = User(
        organisation_id=organisation_id,
        email=address,
        name=values.text("name", name, 200),
        role=_role(role),
        password_hash=security.hash_password(_password(password)),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, organisation_id: int, user_id: int) -> User:
    user = session.scalar(
        select(User).where(User.organisation_id == organisation_id, User.id == user_id)
    )
    if user is None:
        raise NotFound("user", user_id)
    return user


def list_users(session: Session, organisation_id: int) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.organisation_id == organisation_id).order_by(User.id)
        )
    )


def refuse_losing_last_owner(
    session: Session,
    user: User,
    *,
    role: str | values.Unset = values.UNSET,
    is_active: bool | values.Unset = values.UNSET,
) -> None:
    """Raise Conflict (naming ``role``, else ``is_active``) when demoting or deactivating
    ``user`` would leave the organisation without an active owner."""
    stops_owning = (
        user.role == "owner"
        and user.is_active
        and ((role is not values.UNSET and role != "owner") or is_active is False)
    )
    if not stops_owning:
        return
    others = session.scalar(
        select(func.count()).where(
            User.organisation_id == user.organisation_id,
            User.role == "owner",
            User.is_active.is_(True),
            User.id != user.id,
        )
    )
    if not others:
        field = "role" if role is not values.UNSET else "is_active"
        raise Conflict(field, "the organisation would be left without an owner")


def update_user(
    session: Session,
    organisation_id: int,
    user_id: int,
    *,
    role: str | values.Unset = values.UNSET,
    name: str | values.Unset | None = values.UNSET,
    is_active: bool | values.Unset = values.UNSET,
) -> User:
    user = get_user(session, organisation_id, user_id)
    refuse_losing_last_owner(session, user, role=role, is_active=is_active)
    if role is not values.UNSET:
        user.role = _role(role)
    if name is not values.UNSET:
        user.name = values.text("name", name, 200)
    if is_active is not values.UNSET:
        user.is_active = bool(is_active)
    session.flush()
    return user


def set_password(session: Session, organisation_id: int, user_id: int, password: str) -> None:
    user = get_user(session, organisation_id, user_id)
    user.password_hash = security.hash_password(_password(password))
    session.flush()


@dataclass(frozen=True)
class LoginCandidate:
    """What checking a password needs of the user an email names."""

    user_id: int
    password_hash: str
    is_active: bool


@dataclass(frozen=True)
class CheckedLogin:
    """A password found right for an active user: the hash it was checked against, and a new
    hash when that one is weaker than today's defaults."""

    user_id: int
    checked_hash: str
    new_hash: str | None


def find_login(session: Session, email: str) -> LoginCandidate | None:
    """The user a login's email names (emails are unique across organisations), if any."""
    row = session.execute(
        select(User.id, User.password_hash, User.is_active).where(
            User.email == email.strip().lower()
        )
    ).one_or_none()
    return None if row is None else LoginCandidate(row[0], row[1], row[2])


def check_login(found: LoginCandidate | None, password: str) -> CheckedLogin | None:
    """The checked login when the password is right and the user active, else None.

    Needs no database session, so that callers can run it outside one: argon2 takes tens of
    milliseconds, and on SQLite a writing session would hold the write lock all that time.
    Unknown emails cost one hash too, so that timing does not tell which emails exist.
    """
    if found is None:
        security.burn_password_check(password)
        return None
    if not security.verify_password(password, found.password_hash) or not found.is_active:
        return None
    rehash = (
        security.hash_password(password)
        if security.password_needs_rehash(found.password_hash)
        else None
    )
    return CheckedLogin(found.user_id, found.password_hash, rehash)


def record_login(session: Session, checked: CheckedLogin) -> User | None:
    """Note the login (and store the stronger hash, unless the password changed meanwhile);
    None when the user was deactivated or removed since the check."""
    user = session.get(User, checked.user_id)
    if user is None or not user.is_active:
        return None
    user.last_login_at = utc_now()
    if checked.new_hash is not None and user.password_hash == checked.checked_hash:
        user.password_hash = checked.new_hash
    session.flush()
    return user


def session_user(session: Session, user_id: int) -> User | None:
    """The user a signed browser session names, if it still exists (the session, like a
    login, is a way in and names no organisation)."""
    return session.get(User, user_id)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (which of the two is wrong
    is not told). The three steps apart: ``find_login``, ``check_login``, ``record_login``."""
    checked = check_login(find_login(session, email), password)
    return None if checked is None else record_login(session, checked)


# API keys


def create_api_key(
    session: Session,
    organisation_id: int,
    *,
    name: str,
    scope: str,
    created_by: int | None = None,
) -> tuple[ApiKey, str]:
    """The new key and its plaintext, which exists only in this return value."""
    get_organisation(session, organisation_id)
    if scope not in API_KEY_SCOPES:
        raise Invalid("scope", f"must be one of {', '.join(API_KEY_SCOPES)}")
    if created_by is not None:
        get_user(session, organisation_id, created_by)
    generated = security.generate_api_key()
    key = ApiKey(
        organisation_id=organisation_id,
        name=values.required_text("name", name, 100),
        prefix=generated.prefix,
        key_hash=generated.key_hash,
        scope=scope,
        created_by=created_by,
    )
    session.add(key)
    session.flush()
    return key, generated.plaintext


def get_api_key(session: Session, organisation_id: int, key_id: int) -> ApiKey:
    key = session.scalar(
        select(ApiKey).where(ApiKey.organisation_id == organisation_id, ApiKey.id == key_id)
    )
    if key is None:
        raise NotFound("api key", key_id)
    return key


def list_api_keys(session: Session, organisation_id: int) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)
        )
    )


def revoke_api_key(session: Session, organisation_id: int, key_id: int) -> ApiKey:
    key = get_api_key(session, organisation_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = utc_now()
        session.flush()
    return key


def lookup_api_key(
    session: Session, plaintext: str, *, now: datetime | None = None, touch: bool = True
) -> ApiKey | None:
    """The active key ``plaintext`` stands for, else None; records when it was last used."""
    parts = security.split_api_key(plaintext)
    if parts is None:
        return None
    prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not security.api_key_matches(secret, key.key_hash):
        return None
    if key.revoked_at is not None:
        return None
    if touch:
        moment = now or utc_now()
        if key.last_used_at is None or moment - key.last_used_at >= LAST_USED_RESOLUTION:
            key.last_used_at = moment
            session.flush()
    return key


_ACTIVE_KEY_IDS = select(ApiKey.__table__.c.id).where(
    ApiKey.__table__.c.id.in_(bindparam("ids", expanding=True)),
    ApiKey.__table__.c.revoked_at.is_(None),
)


def active_api_key_ids(session: Session, key_ids: Collection[int]) -> set[int]:
    """Those of ``key_ids`` that exist and are not revoked: one query for many requests."""
    if not key_ids:
        return set()
    found = session.connection().execute(_ACTIVE_KEY_IDS, {"ids": list(key_ids)})
    return set(found.scalars())


def touch_api_keys(
    session: Session, key_ids: Collection[int], *, now: datetime | None = None
) -> None:
    """Record that the keys were used, where their last use is older than
    ``LAST_USED_RESOLUTION`` (so that concurrent writers update a key at most once a minute)."""
    if not key_ids:
        return
    moment = now or utc_now()
    stale = moment - LAST_USED_RESOLUTION
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id.in_(set(key_ids)),
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= stale),
        )
        .values(last_used_at=moment)
        .execution_options(synchronize_session=False)
    )
