"""Contacts: the people who answer, with the attributes scores are segmented by; one at a
time or imported from a CSV file.

The rules of one contact are ``collect.contact_edits``'s (shared with the pages of
``/app/contacts``), those of a file ``collect.contacts_csv``'s (shared with the pages and
``cxpulse contacts import``). The API offers no re-subscribe: an unsubscribe is undone only
from a contact's page, with a reason recorded in the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cxpulse.collect import contact_edits
from cxpulse.collect.contacts_csv import ContactImport, ParsedContacts, import_contacts
from cxpulse.store import contacts
from cxpulse.store.models import Contact
from cxpulse.web import audit
from cxpulse.web.access import CanReadContacts, CanWriteContacts, Principal
from cxpulse.web.cursors import decode_id_cursor
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import ContactId, id_page, problems
from cxpulse.web.routes.csv_uploads import (
    ENCODING_HELP,
    MAX_LISTED_PROBLEMS,
    UPLOAD_BODY_BYTES,
    encoding_named,
    parse_contacts,
    read_csv,
    row_problems,
)
from cxpulse.web.schemas import (
    ContactCreate,
    ContactOut,
    ContactPage,
    ContactUpdate,
    FieldProblems,
    Text320,
)

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])


class ContactImportProblem(BaseModel):
    line: int
    column: str
    message: str


class ContactImportOut(BaseModel):
    created: int
    updated: int
    invalid: int
    problems: list[ContactImportProblem]


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
    return id_page(ContactPage, "contact", [contact_out(c) for c in page.items], page.next_after)


@router.post(
    "",
    operation_id="createContact",
    summary="Create a contact",
    status_code=status.HTTP_201_CREATED,
    response_model=ContactOut,
    responses=problems(409),
)
def create_contact(body: ContactCreate, caller: CanWriteContacts, session: DbSession) -> ContactOut:
    contact = contact_edits.create_contact(session, caller.organisation_id, **body.model_dump())
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
    contact_id: ContactId,
    body: ContactUpdate,
    caller: CanWriteContacts,
    session: DbSession,
) -> ContactOut:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if "attributes" in changes and changes["attributes"] is None:
        changes["attributes"] = {}
    contact = contact_edits.update_contact(session, caller.organisation_id, contact_id, changes)
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


@router.post(
    "/import",
    operation_id="importContacts",
    summary="Create or update contacts from a CSV file",
    description=(
        "Columns `external_id,email,name,locale,phone` and any other column as an attribute "
        "(`phone` in international form, such as +46701234567). A row "
        "updates the contact with its external id, else with its email, else creates one. "
        "All rows or none, unless `skip_invalid=true`. Files up to 10 MB."
    ),
    response_model=ContactImportOut,
    responses={
        **problems(),
        413: {"model": FieldProblems, "description": "The file is over 10 MB."},
    },
    max_body_size=UPLOAD_BODY_BYTES,
)
async def import_contacts_csv(
    file: Annotated[UploadFile, File(description="A CSV file of at most 10 MB.")],
    caller: CanWriteContacts,
    session: DbSession,
    skip_invalid: Annotated[bool, Query()] = False,
    encoding: Annotated[str | None, Form(max_length=40, description=ENCODING_HELP)] = None,
) -> ContactImportOut:
    parsed = parse_contacts(await read_csv(file, encoding_named(encoding)))
    if parsed.problems and not skip_invalid:
        raise row_problems(parsed.problems)

    # The request's session already holds its database turn (see ``deps``).
    def store_them() -> ContactImportOut:
        result = store_import(session, caller, parsed, skip_invalid=True)
        return ContactImportOut(
            created=result.created,
            updated=result.updated,
            invalid=result.invalid,
            problems=[
                ContactImportProblem(line=p.line, column=p.column, message=p.message)
                for p in result.problems[:MAX_LISTED_PROBLEMS]
            ],
        )

    return await run_in_threadpool(store_them)


def store_import(
    session: Session,
    caller: Principal,
    parsed: ParsedContacts,
    *,
    skip_invalid: bool,
    filename: str | None = None,
) -> ContactImport:
    """Store a file's checked rows (all or none unless ``skip_invalid``), audit the import
    (with the name of the file a page uploaded) and commit: the API's import and the last
    step of the pages' (``contact_import_pages``)."""
    result = import_contacts(
        session, caller.organisation_id, parsed.rows, parsed.problems, skip_invalid=skip_invalid
    )
    details: dict[str, Any] = {"created": result.created, "updated": result.updated}
    if filename is not None:
        details["file"] = filename[:200]
    audit.record(session, caller, "import", "contact", None, details)
    session.commit()
    return result
