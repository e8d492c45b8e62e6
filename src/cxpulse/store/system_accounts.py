"""Organisations and users that the system creates (the CLI, the demo), each with its audit
entry in the same transaction: ``actor`` is ``system`` and ``details["via"]`` names the door."""

from __future__ import annotations

from sqlalchemy.orm import Session

from cxpulse.store import accounts, audit
from cxpulse.store.models import Organisation, User


def create_organisation(
    session: Session, *, via: str, slug: str, name: str, industry: str | None = None
) -> Organisation:
    """``accounts.create_organisation``, audited as created by the system through ``via``."""
    organisation = accounts.create_organisation(session, slug=slug, name=name, industry=industry)
    audit.record_system(
        session, organisation.id, "create", "organisation", organisation.id, details={"via": via}
    )
    return organisation


def create_user(
    session: Session,
    organisation_id: int,
    *,
    via: str,
    email: str,
    password: str,
    role: str,
    name: str | None = None,
) -> User:
    """``accounts.create_user``, audited (with the role) as created by the system through
    ``via``."""
    user = accounts.create_user(
        session, organisation_id, email=email, password=password, role=role, name=name
    )
    audit.record_system(
        session, organisation_id, "create", "user", user.id, details={"role": user.role, "via": via}
    )
    return user
