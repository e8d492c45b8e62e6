"""Organisations, users and API keys.

Everything here is scoped to an organisation except the ways in: a login (``find_login``,
``check_login``, ``record_login``, together ``authenticate``), ``session_user`` and
``lookup_api_key``.

A user's address is unique within the organisation, not across organisations: creating a
user looks at no other organisation, so its answer cannot tell whether the address has an
account elsewhere (an address that is already a user of the same organisation is a 409,
which tells the organisation only about itself). A login names no organisation: it checks
the password against every account of the address, and the password picks the account.
The hashes of one address's accounts share their salt (``store.account_passwords``), so a
login costs one argon2 computation however many accounts the address has, and its timing
does not tell either. When one password opens several of them, the most recently used wins.
Addresses are in their canonical form (``store.email_addresses``) when stored and looked up.

One module (about 430 lines) because the ways in read organisations, users and keys
together, and the routes, the CLI and the session layer import them from here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import account_passwords, email_addresses, scoped, security
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
    """A user of the organisation. ``Conflict`` only when the organisation has a user with
    this address (in any spelling); accounts of the address elsewhere change nothing that
    the caller sees (see the module's docstring)."""
    get_organisation(session, organisation_id)
    address = email_addresses.required_email("email", email)
    same_organisation = select(User.id).where(
        User.organisation_id == organisation_id, User.email == address
    )
    if session.scalar(same_organisation) is not None:
        raise Conflict("email", "a user of this organisation with this address exists already")
    user = User(
        organisation_id=organisation_id,
        email=address,
        name=values.text("name", name, 200),
        role=_role(role),
        password_hash=account_passwords.hash_for_address(
            _password(password), _address_hashes(session, address)
        ),
    )
    session.add(user)
    session.flush()
    return user


def _address_hashes(session: Session, address: str, *, besides: int | None = None) -> list[str]:
    """The password hashes of the accounts ``address`` has (but ``besides``), oldest first:
    a new hash of the address takes their salt (``store.account_passwords``)."""
    query = select(User.password_hash).where(User.email == address)
    if besides is not None:
        query = query.where(User.id != besides)
    return list(session.scalars(query.order_by(User.id)))


def get_user(session: Session, organisation_id: int, user_id: int) -> User:
    return scoped.get_one(
        session, User, organisation_id, User.id == user_id, entity="user", key=user_id
    )


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
    """Set the user's password (hashed with the salt of the address's other accounts)."""
    user = get_user(session, organisation_id, user_id)
    others = _address_hashes(session, user.email, besides=user.id)
    user.password_hash = account_passwords.hash_for_address(_password(password), others)
    session.flush()


@dataclass(frozen=True)
class LoginAccount:
    """One account of the address a login names."""

    user_id: int
    password_hash: str
    is_active: bool
    last_login_at: datetime | None


@dataclass(frozen=True)
class LoginCandidate:
    """What checking a password needs of the accounts an address names: one in most
    cases, one per organisation where the address has an account."""

    email: str
    """The address in its canonical form: the same for every spelling of it."""
    accounts: tuple[LoginAccount, ...]
    """Oldest first; never empty."""

    @property
    def user_id(self) -> int:
        """The address's oldest account: stable whichever account logs in, so a name for
        the address (a lockout's, say) that does not tell how many accounts it has."""
        return self.accounts[0].user_id


@dataclass(frozen=True)
class CheckedLogin:
    """A password found right for an active user: the hash it was checked against, and a new
    hash when that one is weaker than today's defaults."""

    user_id: int
    checked_hash: str
    new_hash: str | None


_NEVER = datetime.min.replace(tzinfo=UTC)


def find_login(session: Session, email: str) -> LoginCandidate | None:
    """The accounts a login's address names, in any spelling of the address (``Ana@X.test``
    is ``ana@x.test``); None when it names none, or is no address."""
    address = email_addresses.lookup_email(email)
    if address is None:
        return None
    rows = session.execute(
        select(User.id, User.password_hash, User.is_active, User.last_login_at)
        .where(User.email == address)
        .order_by(User.id)
    ).all()
    if not rows:
        return None
    return LoginCandidate(address, tuple(LoginAccount(*row) for row in rows))


def check_login(found: LoginCandidate | None, password: str) -> CheckedLogin | None:
    """The checked login when the password is right for an active account, else None.

    Needs no database session, so that callers can run it outside one: argon2 takes tens of
    milliseconds, and on SQLite a writing session would hold the write lock all that time.
    It costs one argon2 computation whether the address has no account (so that timing does
    not tell which addresses have accounts), one, or several (so that it does not tell how
    many). When the password opens several accounts, the most recently used one wins.
    """
    hashes = [] if found is None else [account.password_hash for account in found.accounts]
    matched = account_passwords.matches(password, hashes)
    if found is None:
        return None
    opened = [a for a, ok in zip(found.accounts, matched, strict=True) if ok and a.is_active]
    if not opened:
        return None
    account = max(opened, key=lambda a: (a.last_login_at or _NEVER, -a.user_id))
    # A new hash would get a new salt: only an address with one account may move on to
    # today's parameters, so that the accounts of an address keep sharing theirs.
    rehash = (
        security.hash_password(password)
        if len(found.accounts) == 1 and security.password_needs_rehash(account.password_hash)
        else None
    )
    return CheckedLogin(account.user_id, account.password_hash, rehash)


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
    return scoped.get_one(
        session, ApiKey, organisation_id, ApiKey.id == key_id, entity="api key", key=key_id
    )


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

_ACTIVE_KEY_ID = select(ApiKey.__table__.c.id).where(
    ApiKey.__table__.c.id == bindparam("id"),
    ApiKey.__table__.c.revoked_at.is_(None),
)


def active_api_key_ids(session: Session, key_ids: Collection[int]) -> set[int]:
    """Those of ``key_ids`` that exist and are not revoked: one query for many requests."""
    if not key_ids:
        return set()
    connection = session.connection()
    if len(key_ids) == 1:
        # The usual batch, one client's key: a fixed statement, where an expanding IN list
        # is rendered again on every execution.
        (key_id,) = key_ids
        return set(connection.execute(_ACTIVE_KEY_ID, {"id": key_id}).scalars())
    return set(connection.execute(_ACTIVE_KEY_IDS, {"ids": list(key_ids)}).scalars())


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
