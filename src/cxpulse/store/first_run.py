"""The first run: on a database without any user, the browser sets up the organisation and
its owner (``/setup``); once a user exists, nobody can do that again.

The rule lives here, not in the route, so that every door gives the same answer. "No user
yet" is checked and the owner inserted in one transaction that no other set-up can
interleave with: on SQLite, write sessions begin with ``BEGIN IMMEDIATE`` (``store.db``), so
a second set-up waits for the first to commit and then finds its user; on PostgreSQL, whose
transactions read committed rows only, a transaction-scoped advisory lock serialises the
set-ups the same way (two would otherwise both see no user and both insert one).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import accounts
from cxpulse.store.db import is_sqlite
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import Organisation, User

_SET_UP_LOCK_ID = 0x6378_7365_7475
"""Any constant: the advisory lock every PostgreSQL set-up takes before it looks."""
_MAX_SLUG = 64
_FALLBACK_SLUG = "organisation"


class AlreadySetUp(Conflict):
    """A user exists: the first run is over (the set-up page is gone)."""

    def __init__(self) -> None:
        super().__init__("organisation", "cxpulse is set up already")


@dataclass(frozen=True)
class SetUp:
    """What the set-up created: the organisation and its owner (flushed, not committed)."""

    organisation: Organisation
    owner: User


def needs_set_up(session: Session) -> bool:
    """True while the database has no user at all."""
    return session.scalar(select(User.id).limit(1)) is None


def slug_for(name: str) -> str:
    """A slug made of a name: ``Acme Café & Co`` -> ``acme-cafe-co`` (``organisation`` when
    nothing of the name is a letter or digit)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:_MAX_SLUG].rstrip("-") or _FALLBACK_SLUG


def _free_slug(session: Session, base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` ... when an organisation has it already (one made
    from the command line before the first user, say)."""
    taken = set(
        session.scalars(select(Organisation.slug).where(Organisation.slug.startswith(base)))
    )
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        suffix = f"-{number}"
        candidate = base[: _MAX_SLUG - len(suffix)].rstrip("-") + suffix
    return candidate


def _serialise(session: Session) -> None:
    """Make concurrent set-ups take turns (see the module's docstring)."""
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SET_UP_LOCK_ID})


def set_up(
    session: Session,
    *,
    organisation_name: str,
    owner_name: str,
    email: str,
    password: str,
) -> SetUp:
    """Create the organisation (its slug derived from its name) and its owner, with the
    password rules of every other account. Raises ``AlreadySetUp`` once any user exists,
    ``Invalid`` naming the field refused. The caller commits."""
    _serialise(session)
    if not needs_set_up(session):
        raise AlreadySetUp()
    organisation_name = values.required_text("organisation_name", organisation_name, 200)
    owner = values.required_text("name", owner_name, 200)
    try:
        organisation = accounts.create_organisation(
            session,
            slug=_free_slug(session, slug_for(organisation_name)),
            name=organisation_name,
        )
    except Invalid as error:
        raise Invalid("organisation_name", error.message) from None
    user = accounts.create_user(
        session, organisation.id, email=email, password=password, role="owner", name=owner
    )
    return SetUp(organisation, user)
