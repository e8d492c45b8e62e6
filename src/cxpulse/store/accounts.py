"""Organisations, users and API keys.

Everything here is scoped to an organisation except the two ways in: ``authenticate`` (a
login names no organisation, hence globally unique emails) and ``lookup_api_key``.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
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


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (which of the two is wrong
    is not told)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        security.burn_password_check(password)
        return None
    if not security.verify_password(password, user.password_hash) or not user.is_active:
        return None
    if security.password_needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = utc_now()
    session.flush()
    return user


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
