"""Unsubscribes: the API's opt-out for an address, and the public page behind the unsubscribe
link of an email (``/u/<token>``).

``GET /u/<token>`` only shows a button: mail scanners fetch every link of an email, and a
fetch must not unsubscribe anybody. ``POST /u/<token>`` unsubscribes, both from that button
and as the one-click unsubscribe of RFC 8058 (``List-Unsubscribe=One-Click``) that mail
programs send.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from cxpulse import i18n, templating
from cxpulse.collect import invitations as triggers
from cxpulse.collect.links import LinkProblem
from cxpulse.collect.mailer import DOMAIN
from cxpulse.store import email_addresses
from cxpulse.store import invitations as store
from cxpulse.store.errors import NotFound
from cxpulse.web import audit
from cxpulse.web.access import CanWriteContacts
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import Text320
from cxpulse.web.state import app_state, database_turn
from cxpulse.web.tokens import retry_after_header

router = APIRouter()

PAGE_TEMPLATE = "survey/unsubscribe.html"
"""In ``web/templates``; its words are in the emails' gettext domain (``mailer.DOMAIN``)."""

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


class UnsubscribeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Text320 = Field(
        description="Any spelling of the address: it is stored, and matched, in its canonical "
        "form (case folded, Unicode normalised, international domain in ASCII)."
    )


class UnsubscribeOut(BaseModel):
    email: str
    created: bool


@router.post(
    "/api/v1/unsubscribes",
    operation_id="createUnsubscribe",
    summary="Stop all survey emails to an address",
    description="For an opt-out received elsewhere (phone, support ticket). Repeating it, in "
    "any spelling of the address, is harmless; invitations to the address are then stored as "
    "`unsubscribed` and never sent. A value that is no address (a control or invisible "
    "character, a mailbox name beyond ASCII) is a 422 naming `email`.",
    status_code=status.HTTP_201_CREATED,
    response_model=UnsubscribeOut,
    responses=problems(),
    tags=["invitations"],
)
def create_unsubscribe(
    body: UnsubscribeIn, caller: CanWriteContacts, session: DbSession, response: Response
) -> UnsubscribeOut:
    # The one rule of addresses (store.email_addresses), as for contacts and users.
    address = email_addresses.required_email("email", body.email)
    created = store.add_unsubscribe(session, caller.organisation_id, address, "api")
    if created:
        audit.record(session, caller, "create", "unsubscribe", None)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return UnsubscribeOut(email=address, created=created)


# The public page behind the link of an email


def _page(
    language: str,
    *,
    status_code: int = 200,
    problem: str | None = None,
    organisation: str = "",
    email: str = "",
    action: str = "",
    done: bool = False,
) -> HTMLResponse:
    gettext, _ = i18n.gettext_for(DOMAIN, language)
    html = templating.render(
        PAGE_TEMPLATE,
        {
            "_": gettext,
            "language": language,
            "problem": gettext(problem) if problem else None,
            "organisation": organisation,
            "email": email,
            "action": action,
            "done": done,
        },
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _language(request: Request) -> str:
    return i18n.negotiate(accept_language=request.headers.get("accept-language"))


def _target_language(request: Request, target: triggers.LinkTarget) -> str:
    return i18n.negotiate(
        invitation=target.invitation.language,
        contact=target.contact.locale if target.contact else None,
        accept_language=request.headers.get("accept-language"),
    )


def _email(target: triggers.LinkTarget) -> str:
    return target.contact.email if target.contact and target.contact.email else ""


def _link_problem(request: Request, error: LinkProblem) -> HTMLResponse:
    message = (
        "This link has expired."
        if error.expired
        else ("This link is damaged. Copy the whole address from the email.")
    )
    return _page(_language(request), status_code=410 if error.expired else 404, problem=message)


@router.get("/u/{token}", include_in_schema=False)
async def unsubscribe_page(token: str, request: Request) -> HTMLResponse:
    state = app_state(request)
    try:
        claims = state.links.verify(token, "unsubscribe")
    except LinkProblem as error:
        return _link_problem(request, error)

    def load() -> triggers.LinkTarget:
        with state.read_sessions() as session:
            return triggers.invitation_for_link(session, claims.invitation_id, claims.survey_id)

    try:
        async with database_turn(state, writes=False):
            target = await run_in_threadpool(load)
    except NotFound:
        return _link_problem(request, LinkProblem("gone"))
    return _page(
        _target_language(request, target),
        organisation=target.organisation.name,
        email=_email(target),
        action=f"/u/{token}",
    )


@router.post("/u/{token}", include_in_schema=False)
async def unsubscribe(token: str, request: Request) -> Response:
    state = app_state(request)
    client = request.client.host if request.client else "unknown"
    wait = await state.public_limiter.take_async(client)
    if wait:
        return Response(status_code=429, headers={"Retry-After": retry_after_header(wait)})
    try:
        claims = state.links.verify(token, "unsubscribe")
    except LinkProblem as error:
        return _link_problem(request, error)
    body = (await request.body())[:1000]
    one_click = b"List-Unsubscribe=One-Click" in body

    def record() -> triggers.LinkTarget:
        with state.sessions() as session:
            target = triggers.invitation_for_link(session, claims.invitation_id, claims.survey_id)
            triggers.unsubscribe(session, target, "list-unsubscribe" if one_click else "link")
            session.commit()
            return target

    try:
        async with database_turn(state, writes=True):
            target = await run_in_threadpool(record)
    except NotFound:
        return _link_problem(request, LinkProblem("gone"))
    if one_click:
        return Response(status_code=200)
    return _page(
        _target_language(request, target),
        organisation=target.organisation.name,
        email=_email(target),
        done=True,
    )
