"""Many contacts created or updated at once, for files (``collect.contacts_csv``, the one
writer of ``cxpulse contacts import``, the API's import and the import pages).

The rule is that of one invitation request (``collect.invitation_requests.resolve_contact``,
with ``store.contacts.upsert_contact``): a row with an external id updates the contact with
that id (given fields overwrite, attributes merge) or creates it; a row with only an email
updates the organisation's first contact with that address (name, language, attributes) or
creates one. Done row by row, that is three statements and a flush per row; here the
contacts a file names are read in a few ``IN`` queries and the new ones inserted in one
flush, so that a hundred rows take milliseconds. Later rows see the contacts earlier rows
created or changed, as they would one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import email_addresses
from cxpulse.store.contacts import MAX_PHONE_LENGTH
from cxpulse.store.models import Contact

__all__ = ["ContactValues", "upsert_many"]

_CHUNK = 500


@dataclass(frozen=True)
class ContactValues:
    external_id: str | None
    email: str | None
    name: str | None = None
    locale: str | None = None
    attributes: Mapping[str, object] | None = None
    phone: str | None = None
    """In E.164 form (checked by the caller); None keeps the contact's."""


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _known(
    session: Session, organisation_id: int, externals: set[str], emails: set[str]
) -> tuple[dict[str, Contact], dict[str, Contact]]:
    by_external: dict[str, Contact] = {}
    by_email: dict[str, Contact] = {}
    for chunk in _chunks(sorted(externals)):
        for contact in session.scalars(
            select(Contact).where(
                Contact.organisation_id == organisation_id, Contact.external_id.in_(chunk)
            )
        ):
            by_external[contact.external_id or ""] = contact
    for chunk in _chunks(sorted(emails)):
        found = session.scalars(
            select(Contact)
            .where(Contact.organisation_id == organisation_id, Contact.email.in_(chunk))
            .order_by(Contact.id)
        )
        for contact in found:
            by_email.setdefault(contact.email or "", contact)  # the lowest id, as one by one
    return by_external, by_email


def upsert_many(
    session: Session, organisation_id: int, rows: Sequence[ContactValues]
) -> list[tuple[Contact, bool]]:
    """Each row's contact, created (True) or updated, in the order of ``rows``; ``Invalid``
    naming the field of a value the store refuses (callers check rows first)."""
    externals = {row.external_id for row in rows if row.external_id}
    emails = {
        address
        for row in rows
        if row.email and not row.external_id
        if (address := email_addresses.lookup_email(row.email)) is not None
    }
    by_external, by_email = _known(session, organisation_id, externals, emails)
    made: list[tuple[Contact, bool]] = []
    for row in rows:
        address = email_addresses.email("email", row.email)
        name = values.text("name", row.name, 200)
        locale = values.text("locale", row.locale, 35)
        attributes = values.text_mapping("attributes", row.attributes)
        phone = values.text("phone", row.phone, MAX_PHONE_LENGTH)
        external = values.text("external_id", row.external_id, 200)
        found = by_external.get(external) if external else by_email.get(address or "")
        if found is None:
            contact = Contact(
                organisation_id=organisation_id,
                external_id=external,
                email=address,
                name=name,
                locale=locale,
                attributes=attributes,
                phone=phone,
            )
            session.add(contact)
            if external:
                by_external[external] = contact
            elif address:
                by_email[address] = contact
            made.append((contact, True))
            continue
        if external and address is not None:
            found.email = address  # by external id, the address given overwrites
        if name is not None:
            found.name = name
        if locale is not None:
            found.locale = locale
        if attributes:
            found.attributes = {**found.attributes, **attributes}
        if phone is not None:
            found.phone = phone
        made.append((found, False))
    session.flush()
    return made
