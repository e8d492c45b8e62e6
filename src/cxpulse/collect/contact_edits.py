"""One contact created or changed, by the API (``/api/v1/contacts``) and by the pages
(``/app/contacts/new``, ``/app/contacts/{id}/edit``): one set of rules, two shells.

The store's writers (``store.contacts``) apply the rule of each text field, of addresses
(``store.email_addresses``) and of attribute names and values; the phone number's rule
(E.164 with its country code, ``collect.sms.e164``) is applied here, before the store sees
the number, because the phone number library belongs to ``collect``.

:func:`field_problems` runs every field's rule at once, so that a form can show each
message next to its field instead of the first one only; the writers stay the authority.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Unpack

from sqlalchemy.orm import Session

from cxpulse.collect import sms
from cxpulse.store import _values as values
from cxpulse.store import contacts, email_addresses, invitations
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact

__all__ = [
    "create_contact",
    "field_problems",
    "phone_number",
    "resubscribe",
    "unsubscribe",
    "update_contact",
]


def phone_number(value: str | None) -> str | None:
    """A phone number in E.164 form (``+46701234567``); None for none. ``Invalid`` on
    ``phone`` for anything that is not a valid number with its country code."""
    if value is None or not value.strip():
        return None
    return sms.e164("phone", value)


def create_contact(
    session: Session, organisation_id: int, **fields: Unpack[contacts.ContactFields]
) -> Contact:
    """A new contact; ``Invalid`` or ``Conflict`` (a taken external id) naming the field."""
    fields["phone"] = phone_number(fields.get("phone"))
    return contacts.create_contact(session, organisation_id, **fields)


def update_contact(
    session: Session, organisation_id: int, contact_id: int, changes: Mapping[str, Any]
) -> Contact:
    """Change the fields named in ``changes`` (``attributes`` replaces the whole set)."""
    given = dict(changes)
    if "phone" in given:
        given["phone"] = phone_number(given["phone"])
    return contacts.update_contact(session, organisation_id, contact_id, **given)


def field_problems(
    *,
    external_id: str | None,
    email: str | None,
    name: str | None,
    locale: str | None,
    attributes: Mapping[str, object] | None,
    phone: str | None,
) -> dict[str, str]:
    """Every field's problem by field name (``attributes`` for a name or value), empty when
    the writers will accept the fields (but for a taken external id, which needs the
    database)."""
    checks: list[Callable[[], object]] = [
        lambda: values.text("external_id", external_id, 200),
        lambda: email_addresses.email("email", email),
        lambda: values.text("name", name, 200),
        lambda: values.text("locale", locale, 35),
        lambda: values.text_mapping("attributes", attributes),
        lambda: phone_number(phone),
    ]
    found: dict[str, str] = {}
    for check in checks:
        try:
            check()
        except Invalid as error:
            field, _, rest = error.field.partition(".")
            message = f"{rest}: {error.message}" if rest else error.message
            found.setdefault(field, message)
    return found


# -- unsubscribes ----------------------------------------------------------------------------

MAX_REASON_LENGTH = 1000


def unsubscribe(session: Session, organisation_id: int, contact_id: int, source: str) -> bool:
    """Stop all survey email to the contact's address; True when new. ``Invalid`` on
    ``email`` when the contact has no address."""
    contact = contacts.get_contact(session, organisation_id, contact_id)
    if not contact.email:
        raise Invalid("email", "the contact has no email address to unsubscribe")
    return invitations.add_unsubscribe(session, organisation_id, contact.email, source)


def resubscribe(session: Session, organisation_id: int, contact_id: int, reason: str) -> str:
    """Undo the unsubscribe of the contact's address; the reason, checked, for the audit
    log. A person who unsubscribed asked not to be emailed: only a recorded reason (they
    asked again, by phone or in a ticket) may undo it. ``Invalid`` on ``reason`` when it is
    blank or too long, on ``email`` when the address is not unsubscribed."""
    why = values.text("reason", reason, MAX_REASON_LENGTH)
    if not why:
        raise Invalid("reason", "say why: when and how the person asked to hear from you again")
    contact = contacts.get_contact(session, organisation_id, contact_id)
    if not contact.email or not invitations.remove_unsubscribe(
        session, organisation_id, contact.email
    ):
        raise Invalid("email", "the contact's address is not unsubscribed")
    return why
