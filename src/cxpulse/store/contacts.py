"""Contacts: the people who answer, with the attributes their scores are segmented by.

Addresses are stored in their canonical form (``store.email_addresses``) by every write here,
and looked up in it, so that ``Ana@X.test`` and ``ana@x.test`` are one person to find, to
throttle and to unsubscribe. Two contacts may still share an address when the
organisation's own ids (``external_id``) say they are two records.

A phone number arrives here in E.164 form: its rule (``collect.sms.e164``) needs the phone
number library, which belongs to ``collect`` (``collect.contact_edits`` applies it for the
API and the pages); the store keeps only its length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store import _values as values
from cxpulse.store import email_addresses, scoped
from cxpulse.store.errors import Conflict, NotFound
from cxpulse.store.models import Contact

MAX_PHONE_LENGTH = 32


@dataclass(frozen=True)
class ContactPage:
    items: list[Contact]
    next_after: int | None
    """Pass as ``after`` to get the next page; None on the last page."""


def _check_external_id_free(
    session: Session, organisation_id: int, external_id: str | None, own_id: int | None = None
) -> None:
    if external_id is None:
        return
    query = select(Contact.id).where(
        Contact.organisation_id == organisation_id, Contact.external_id == external_id
    )
    found = session.scalar(query)
    if found is not None and found != own_id:
        raise Conflict("external_id", f"a contact with external id {external_id!r} exists")


class ContactFields(TypedDict, total=False):
    """A contact's own fields as ``create_contact`` takes them, each None for none; the
    one list of them for the writers that pass them on (``collect.contact_edits``)."""

    external_id: str | None
    email: str | None
    name: str | None
    locale: str | None
    attributes: Mapping[str, object] | None
    phone: str | None


def create_contact(
    session: Session, organisation_id: int, **fields: Unpack[ContactFields]
) -> Contact:
    unknown = fields.keys() - ContactFields.__optional_keys__
    if unknown:  # what a keyword-only signature would refuse, for callers that pass a dict
        raise TypeError(f"create_contact() got unexpected fields: {', '.join(sorted(unknown))}")
    external = values.text("external_id", fields.get("external_id"), 200)
    _check_external_id_free(session, organisation_id, external)
    contact = Contact(
        organisation_id=organisation_id,
        external_id=external,
        email=email_addresses.email("email", fields.get("email")),
        name=values.text("name", fields.get("name"), 200),
        locale=values.text("locale", fields.get("locale"), 35),
        attributes=values.text_mapping("attributes", fields.get("attributes")),
        phone=values.text("phone", fields.get("phone"), MAX_PHONE_LENGTH),
    )
    session.add(contact)
    session.flush()
    return contact


def get_contact(session: Session, organisation_id: int, contact_id: int) -> Contact:
    return scoped.get_one(
        session,
        Contact,
        organisation_id,
        Contact.id == contact_id,
        entity="contact",
        key=contact_id,
    )


def get_contact_by_external_id(session: Session, organisation_id: int, external_id: str) -> Contact:
    where = Contact.external_id == external_id
    return scoped.get_one(
        session, Contact, organisation_id, where, entity="contact", key=external_id
    )


def find_by_email(session: Session, organisation_id: int, email: str) -> Contact | None:
    """The organisation's first contact (lowest id) with this address in its canonical form
    (``Ana@X.test`` finds ``ana@x.test``); None when there is none or the address has no
    canonical form. Stored addresses are canonical, so one indexed comparison does."""
    address = email_addresses.lookup_email(email)
    if address is None:
        return None
    return session.scalar(
        select(Contact)
        .where(Contact.organisation_id == organisation_id, Contact.email == address)
        .order_by(Contact.id)
        .limit(1)
    )


def missing_contact_ids(session: Session, organisation_id: int, ids: set[int]) -> set[int]:
    """Those of ``ids`` that are not contacts of the organisation (another's count as missing)."""
    if not ids:
        return set()
    found = session.scalars(
        select(Contact.id).where(Contact.organisation_id == organisation_id, Contact.id.in_(ids))
    )
    return ids - set(found)


def list_contacts(
    session: Session,
    organisation_id: int,
    *,
    email: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> ContactPage:
    """Contacts in id order, ``limit`` at a time; ``email``: those with this address in
    its canonical form (none when it has none)."""
    query = select(Contact).where(Contact.organisation_id == organisation_id)
    if email is not None:
        address = email_addresses.lookup_email(email)
        if address is None:
            return ContactPage([], None)
        query = query.where(Contact.email == address)
    if after is not None:
        query = query.where(Contact.id > after)
    rows = list(session.scalars(query.order_by(Contact.id).limit(limit + 1)))
    more = len(rows) > limit
    items = rows[:limit]
    return ContactPage(items, items[-1].id if more and items else None)


def update_contact(
    session: Session,
    organisation_id: int,
    contact_id: int,
    *,
    external_id: str | values.Unset | None = values.UNSET,
    email: str | values.Unset | None = values.UNSET,
    name: str | values.Unset | None = values.UNSET,
    locale: str | values.Unset | None = values.UNSET,
    attributes: Mapping[str, object] | values.Unset = values.UNSET,
    phone: str | values.Unset | None = values.UNSET,
) -> Contact:
    """Change the given fields; ``attributes`` replaces the whole set."""
    contact = get_contact(session, organisation_id, contact_id)
    if external_id is not values.UNSET:
        external = values.text("external_id", external_id, 200)
        _check_external_id_free(session, organisation_id, external, contact.id)
        contact.external_id = external
    if email is not values.UNSET:
        contact.email = email_addresses.email("email", email)
    if name is not values.UNSET:
        contact.name = values.text("name", name, 200)
    if locale is not values.UNSET:
        contact.locale = values.text("locale", locale, 35)
    if attributes is not values.UNSET:
        contact.attributes = values.text_mapping("attributes", attributes)
    if phone is not values.UNSET:
        contact.phone = values.text("phone", phone, MAX_PHONE_LENGTH)
    session.flush()
    return contact


def upsert_contact(
    session: Session,
    organisation_id: int,
    external_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    locale: str | None = None,
    attributes: Mapping[str, object] | None = None,
) -> tuple[Contact, bool]:
    """The contact with this external id, created or updated; True when created.

    Given fields overwrite, fields left None keep their value; attributes merge.
    """
    try:
        contact = get_contact_by_external_id(session, organisation_id, external_id)
    except NotFound:
        created = create_contact(
            session,
            organisation_id,
            external_id=external_id,
            email=email,
            name=name,
            locale=locale,
            attributes=attributes,
        )
        return created, True
    if email is not None:
        contact.email = email_addresses.email("email", email)
    if name is not None:
        contact.name = values.text("name", name, 200)
    if locale is not None:
        contact.locale = values.text("locale", locale, 35)
    if attributes:
        contact.attributes = {
            **contact.attributes,
            **values.text_mapping("attributes", attributes),
        }
    session.flush()
    return contact, False


def delete_contact(session: Session, organisation_id: int, contact_id: int) -> None:
    """Delete the contact; their responses stay, no longer linked to anyone."""
    contact = get_contact(session, organisation_id, contact_id)
    session.delete(contact)
    session.flush()
