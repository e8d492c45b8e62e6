"""The signed-in contact pages, plain HTML that works without JavaScript:

- ``/app/contacts``: the organisation's contacts, newest first, a page at a time, found by a
  few letters of name, address or external id and by one attribute's value;
- ``/app/contacts/{id}``: one contact: fields, attributes, whether email reaches them, and
  their invitations and answers across surveys as a timeline (``store.customer_timeline``,
  as on a case's page), with the forms to unsubscribe and re-subscribe;
- ``/app/contacts/new`` and ``/app/contacts/{id}/edit``: the contact form, with the API's
  rules (``collect.contact_edits``);
- ``/app/contacts/import``: the CSV import with a column mapping (``contact_import_pages``,
  included here because this module's router is the one the app registers).

Reading needs ``contacts:read``, changing ``contacts:write``, as in the API. Forms carry the
page's CSRF token as a field (``page_forms.form_caller``); every change is audited.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse import i18n, redaction
from cxpulse.collect import contact_edits
from cxpulse.store import contact_listing, contacts, customer_timeline, invitations, sms_opt_outs
from cxpulse.store.cursors import decode_cursor, encode_cursor
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import Contact
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.contact_forms import ContactForm, attributes_text, read_form
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import contact_import_pages, page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.page_flow import ItemPages, guarded_page
from cxpulse.web.routes.timeline_words import timeline_words
from cxpulse.web.schemas import MAX_ID

router = APIRouter(include_in_schema=False)
# The import's pages first: /app/contacts/import must not be read as a contact's id.
router.include_router(contact_import_pages.router)

PAGES = ItemPages("/app/contacts", "contact", Permission.CONTACTS_READ, Permission.CONTACTS_WRITE)
ContactId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 50
KEY_ATTRIBUTES = 3
"""Attributes shown per contact in the list; the contact's page shows them all."""
TIMELINE_WORDS = timeline_words("sent")
NOTICES = {
    "created": "The contact was added.",
    "saved": "Saved.",
    "unsubscribed": "Unsubscribed: no more survey emails go to this address.",
    "resubscribed": "Re-subscribed: survey emails may go to this address again.",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _contact(session: Session, caller: Principal, contact_id: int) -> Contact:
    return contacts.get_contact(session, caller.organisation_id, contact_id)


def _language(locale: str | None) -> str:
    """``Svenska (sv-SE)`` for a tag of one of our languages, else the tag as stored."""
    if not locale:
        return ""
    known = i18n.normalise(locale)
    if known is None:
        return locale
    name = i18n.LANGUAGE_NAMES[known]
    return name if locale == known else f"{name} ({locale})"


def _languages(current: str | None) -> list[tuple[str, str]]:
    offered = [("", "Not set")] + [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES]
    if current and current not in i18n.LANGUAGES:
        offered.append((current, current))
    return offered


# -- the list ----------------------------------------------------------------------------------


def _after(text: str) -> tuple[datetime, int] | None:
    if not text:
        return None
    try:
        return decode_cursor(text)
    except Invalid:
        return None  # a damaged link: the first page


def _list_row(contact: Contact, unsubscribed: set[str]) -> dict[str, Any]:
    attributes = sorted((contact.attributes or {}).items())
    return {
        "contact": contact,
        "language": _language(contact.locale),
        "key_attributes": attributes[:KEY_ATTRIBUTES],
        "more_attributes": max(len(attributes) - KEY_ATTRIBUTES, 0),
        "unsubscribed": bool(contact.email) and contact.email in unsubscribed,
    }


@router.get("/app/contacts", response_class=HTMLResponse)
def contacts_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return PAGES.page(request, caller, lambda: _contacts_page(request, session, caller))


def _contacts_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    params = request.query_params
    text = params.get("q", "")[: contact_listing.MAX_SEARCH_LENGTH]
    attribute = params.get("attribute", "")[:100]
    value = params.get("value", "")[:1000]
    listing = contact_listing.search_contacts(
        session,
        caller.organisation_id,
        text=text,
        attribute=attribute or None,
        value=value,
        after=_after(params.get("after", "")[:200]),
        limit=PAGE_SIZE,
    )
    search = [("q", text), ("attribute", attribute), ("value", value)]
    kept = [(name, given) for name, given in search if given]
    context = {
        "rows": [_list_row(contact, listing.unsubscribed) for contact in listing.items],
        "q": text,
        "attribute": attribute,
        "value": value,
        "attribute_names": contact_listing.attribute_names(session, caller.organisation_id),
        "searching": bool(kept),
        "next_query": urlencode([*kept, ("after", encode_cursor(listing.next_after))])
        if listing.next_after
        else None,
        "first_query": urlencode(kept) if "after" in params else None,
        "can_write": Permission.CONTACTS_WRITE in caller.permissions,
        "notice": contact_import_pages.imported_notice(request),
    }
    return render_page(request, "app/contacts/list.html", context)


# -- one contact -------------------------------------------------------------------------------


def _contact_view(
    request: Request,
    session: Session,
    caller: Principal,
    contact: Contact,
    *,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    org = caller.organisation_id
    entries = [
        replace(entry, text=redaction.redact(entry.text).text if entry.text else entry.text)
        for entry in customer_timeline.timeline(session, org, contact.id)
    ]
    notice = next((text for name, text in NOTICES.items() if name in request.query_params), None)
    context = {
        "contact": contact,
        "language": _language(contact.locale),
        "attributes": sorted((contact.attributes or {}).items()),
        "unsubscribed": invitations.is_unsubscribed(session, org, contact.email),
        "sms_opted_out": bool(contact.phone)
        and sms_opt_outs.is_opted_out(session, org, contact.phone or ""),
        "timeline": list(reversed(entries)),
        "timeline_words": TIMELINE_WORDS,
        "when": _when,
        "can_write": Permission.CONTACTS_WRITE in caller.permissions,
        "can_read_cases": Permission.CASES_READ in caller.permissions,
        "errors": errors or {},
        "reason": reason,
        "notice": notice,
    }
    return render_page(request, "app/contacts/contact.html", context, status_code)


@router.get("/app/contacts/new", response_class=HTMLResponse)
def new_contact_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return guarded_page(
        request,
        caller,
        Permission.CONTACTS_WRITE,
        lambda: _form_page(request, None, ContactForm({}), {}),
        back="/app/contacts",
    )


@router.get("/app/contacts/{contact_id}", response_class=HTMLResponse)
def contact_page(
    contact_id: ContactId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return PAGES.item_page(
        request,
        caller,
        lambda: _contact_view(request, session, caller, _contact(session, caller, contact_id)),
    )


# -- the contact form --------------------------------------------------------------------------


def _form_page(
    request: Request,
    contact: Contact | None,
    form: ContactForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "contact": contact,
        "typed": form.typed,
        "errors": errors,
        "languages": _languages(form.typed.get("locale")),
        "action": f"/app/contacts/{contact.id}/edit" if contact else "/app/contacts/new",
    }
    return render_page(request, "app/contacts/form.html", context, status_code)


def _typed_of(contact: Contact) -> ContactForm:
    return ContactForm(
        {
            "name": contact.name or "",
            "email": contact.email or "",
            "phone": contact.phone or "",
            "external_id": contact.external_id or "",
            "locale": contact.locale or "",
            "attributes": attributes_text(contact.attributes or {}),
        }
    )


def _fields(form: ContactForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values for ``collect.contact_edits`` and every problem by its field."""
    problems: dict[str, str] = {}
    try:
        attributes: dict[str, str] = form.attributes()
    except Invalid as error:
        problems["attributes"] = error.message
        attributes = {}
    fields: dict[str, Any] = {
        "external_id": form.value("external_id"),
        "email": form.value("email"),
        "name": form.value("name"),
        "locale": form.value("locale"),
        "phone": form.value("phone"),
        "attributes": attributes,
    }
    for name, message in contact_edits.field_problems(**fields).items():
        problems.setdefault(name, message)
    return fields, problems


@router.get("/app/contacts/{contact_id}/edit", response_class=HTMLResponse)
def edit_contact_page(
    contact_id: ContactId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    def build() -> HTMLResponse:
        contact = _contact(session, caller, contact_id)
        return _form_page(request, contact, _typed_of(contact), {})

    return PAGES.form_page(request, caller, contact_id, build)


@router.post("/app/contacts/new", max_body_size=contact_import_pages.FORM_BODY_BYTES)
async def create_contact_form(request: Request, session: DbSession) -> Response:
    try:
        caller, posted = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, "/app/contacts")
    form = read_form(posted)
    fields, problems = _fields(form)
    if not problems:
        try:
            contact = contact_edits.create_contact(session, caller.organisation_id, **fields)
            audit.record(session, caller, "create", "contact", contact.id)
            session.commit()
            return RedirectResponse(f"/app/contacts/{contact.id}?created=1", status_code=303)
        except (Invalid, Conflict) as error:
            session.rollback()
            problems[error.field.partition(".")[0]] = error.message
    return _form_page(request, None, form, problems, 422)


@router.post("/app/contacts/{contact_id}/edit", max_body_size=contact_import_pages.FORM_BODY_BYTES)
async def update_contact_form(
    contact_id: ContactId, request: Request, session: DbSession
) -> Response:
    back = f"/app/contacts/{contact_id}"
    try:
        caller, posted = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
        contact = _contact(session, caller, contact_id)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, back)
    except NotFound:
        return problem_page(request, PAGES.missing, back=PAGES.list_url)
    form = read_form(posted)
    fields, problems = _fields(form)
    if not problems:
        try:
            contact_edits.update_contact(session, caller.organisation_id, contact_id, fields)
            audit.record(
                session, caller, "update", "contact", contact_id, {"fields": sorted(fields)}
            )
            session.commit()
            return RedirectResponse(f"{back}?saved=1", status_code=303)
        except (Invalid, Conflict) as error:
            session.rollback()
            problems[error.field.partition(".")[0]] = error.message
            contact = _contact(session, caller, contact_id)
    return _form_page(request, contact, form, problems, 422)


# -- unsubscribe and re-subscribe --------------------------------------------------------------


@router.post(
    "/app/contacts/{contact_id}/unsubscribe", max_body_size=contact_import_pages.FORM_BODY_BYTES
)
async def unsubscribe_form(contact_id: ContactId, request: Request, session: DbSession) -> Response:
    back = f"/app/contacts/{contact_id}"

    def change(caller: Principal, _: FormData) -> str:
        created = contact_edits.unsubscribe(session, caller.organisation_id, contact_id, "app")
        if created:
            audit.record(session, caller, "create", "unsubscribe", None, {"contact_id": contact_id})
        return f"{back}?unsubscribed=1"

    def refused(_caller: Principal, _form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        problem = PageProblem(422, "Not unsubscribed", error.message)
        return problem_page(request, problem, back=back)

    return await PAGES.item_form(request, session, contact_id, change, refused)


@router.post(
    "/app/contacts/{contact_id}/resubscribe", max_body_size=contact_import_pages.FORM_BODY_BYTES
)
async def resubscribe_form(contact_id: ContactId, request: Request, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> str:
        _contact(session, caller, contact_id)  # an unknown contact is 404 before any message
        why = contact_edits.resubscribe(session, caller.organisation_id, contact_id, _reason(form))
        audit.record(
            session,
            caller,
            "delete",
            "unsubscribe",
            None,
            {"contact_id": contact_id, "reason": why},
        )
        return f"/app/contacts/{contact_id}?resubscribed=1"

    def refused(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        return _contact_view(
            request,
            session,
            caller,
            _contact(session, caller, contact_id),
            errors={error.field: error.message},
            reason=_reason(form),
            status_code=422,
        )

    return await PAGES.item_form(request, session, contact_id, change, refused)


def _reason(form: FormData) -> str:
    """The reason typed for a re-subscription, cut to what the store checks at most."""
    given = form.get("reason")
    return given[:5000] if isinstance(given, str) else ""
