"""Contacts: the people who answer, with the attributes scores are segmented by."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from cxpulse.store import contacts
from cxpulse.store.models import Contact
from cxpulse.web import audit
from cxpulse.web.access import CanReadContacts, CanWriteContacts
from cxpulse.web.cursors import decode_id_cursor, encode_id_cursor
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import ContactId, problems
from cxpulse.web.schemas import ContactCreate, ContactOut, ContactPage, ContactUpdate, Text320

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut.model_validate(contact)


@router.get(
    "",
    operation_id="listContacts",
    summary="List contacts",
    description="In id order, `limit` at a time; pass `next_cursor` back as `cursor`.",
    response_model=ContactPage,
    responses=problems(),
)
def list_contacts(
    caller: CanReadContacts,
    session: DbSession,
    email: Annotated[Text320 | None, Query(description="Only contacts with this email.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> ContactPage:
    after = decode_id_cursor("contact", cursor) if cursor else None
    page = contacts.list_contacts(
        session, caller.organisation_id, email=email, after=after, limit=limit
    )
    return ContactPage(
        items=[contact_out(c) for c in page.items],
        next_cursor=encode_id_cursor("contact", page.next_after) if page.next_after else None,
    )


@router.post(
    "",
    operation_id="createContact",
    summary="Create a contact",
    status_code=status.HTTP_201_CREATED,
    response_model=ContactOut,
    responses=problems(409),
)
def create_contact(body: ContactCreate, caller: CanWriteContacts, session: DbSession) -> ContactOut:
    contact = contacts.create_contact(session, caller.organisation_id, **body.model_dump())
    audit.record(session, caller, "create", "contact", contact.id)
    session.commit()
    return contact_out(contact)


@router.get(
    "/{contact_id}",
    operation_id="getContact",
    summary="Get a contact",
    response_model=ContactOut,
    responses=problems(404),
)
def get_contact(contact_id: ContactId, caller: CanReadContacts, session: DbSession) -> ContactOut:
    return contact_out(contacts.get_contact(session, caller.organisation_id, contact_id))


@router.patch(
    "/{contact_id}",
    operation_id="updateContact",
    summary="Change a contact",
    description="Only the fields sent change; `attributes` replaces the whole set.",
    response_model=ContactOut,
    responses=problems(404, 409),
)
def update_contact(
    contact_id: ContactId, body: ContactUpdate, caller: CanWriteContacts, session: DbSession
) -> ContactOut:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if "attributes" in changes and changes["attributes"] is None:
        changes["attributes"] = {}
    contact = contacts.update_contact(session, caller.organisation_id, contact_id, **changes)
    audit.record(session, caller, "update", "contact", contact.id, {"fields": sorted(changes)})
    session.commit()
    return contact_out(contact)


@router.delete(
    "/{contact_id}",
    operation_id="deleteContact",
    summary="Delete a contact",
    description="Their responses stay, no longer linked to anyone.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problems(404),
)
def delete_contact(contact_id: ContactId, caller: CanWriteContacts, session: DbSession) -> Response:
    contacts.delete_contact(session, caller.organisation_id, contact_id)
    audit.record(session, caller, "delete", "contact", contact_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
