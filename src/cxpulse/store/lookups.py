"""Rows found by what a person types on the command line: organisation and survey slugs,
API key ids, across organisations.

The rest of the store works inside one caller's organisation; these lookups serve an
operator who may name no organisation at all. When the database holds one organisation it
is meant; a survey slug that only one organisation uses names that survey. What cannot be
decided raises ``Unresolved``, whose message says what there is to choose from.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.errors import StoreError
from cxpulse.store.models import ApiKey, Organisation, Survey


class Unresolved(StoreError, LookupError):
    """A slug names no row, or several; the message lists the candidates."""


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, oldest first."""
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


def _slugs(organisations: list[Organisation]) -> str:
    return ", ".join(sorted(o.slug for o in organisations))


def find_organisation(session: Session, slug: str | None) -> Organisation:
    """The organisation ``slug``; without one, the database's only organisation."""
    if slug is not None:
        found = session.scalar(select(Organisation).where(Organisation.slug == slug))
        if found is None:
            raise Unresolved(f"no organisation {slug!r} in this database")
        return found
    organisations = list_organisations(session)
    if not organisations:
        raise Unresolved(
            "the database has no organisation yet: run `cxpulse demo` or "
            "`cxpulse create-user --create-org NAME`"
        )
    if len(organisations) > 1:
        raise Unresolved(
            f"the database has several organisations; pick one with --org ({_slugs(organisations)})"
        )
    return organisations[0]


def find_survey(session: Session, slug: str, organisation: str | None) -> Survey:
    """The survey ``slug`` of the organisation ``organisation``; without one, of the only
    organisation that has a survey ``slug``."""
    query = select(Survey, Organisation).join(
        Organisation, Organisation.id == Survey.organisation_id
    )
    query = query.where(Survey.slug == slug)
    if organisation is not None:
        query = query.where(Organisation.slug == organisation)
    found = [(row[0], row[1]) for row in session.execute(query.order_by(Organisation.slug))]
    if len(found) == 1:
        return found[0][0]
    if found:
        owners = ", ".join(owner.slug for _, owner in found)
        raise Unresolved(
            f"survey {slug!r} exists in several organisations; pick one with --org ({owners})"
        )
    if organisation is not None:
        owner = session.scalar(select(Organisation).where(Organisation.slug == organisation))
        if owner is None:
            raise Unresolved(
                f"no survey {slug!r} in organisation {organisation!r} (no such organisation)"
            )
        raise Unresolved(_missing_survey(session, slug, owner))
    organisations = list_organisations(session)
    if len(organisations) == 1:
        raise Unresolved(_missing_survey(session, slug, organisations[0]))
    if not organisations:
        find_organisation(session, None)  # raises: no organisation yet
    raise Unresolved(f"no survey {slug!r} in any organisation")


def _missing_survey(session: Session, slug: str, owner: Organisation) -> str:
    known = list(
        session.scalars(
            select(Survey.slug).where(Survey.organisation_id == owner.id).order_by(Survey.id)
        )
    )
    return f"no survey {slug!r} in organisation {owner.slug!r}" + (
        f"; its surveys: {', '.join(known)}" if known else "; it has no survey yet"
    )


def find_api_key(session: Session, key_id: int, organisation: str | None) -> ApiKey | None:
    """The API key ``key_id``, if it exists (and belongs to ``organisation`` when named)."""
    query = select(ApiKey).where(ApiKey.id == key_id)
    if organisation is not None:
        owner = find_organisation(session, organisation)
        query = query.where(ApiKey.organisation_id == owner.id)
    return session.scalar(query)
