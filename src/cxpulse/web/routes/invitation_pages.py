"""The signed-in pages of invitations, plain HTML that works without JavaScript:

- ``/app/invitations``: every invitation with its state (``store.invitation_states``),
  filtered by survey and state, the counts per state at the top, newest first and
  keyset-paged (``?before=`` the last row's key);
- ``/app/invitations/cancel``: withdraw one scheduled invitation (``?invitation=ID``) or every
  scheduled one of a survey (``?survey=ID``), after a confirmation page;
- sending a survey (``/app/invitations/new`` and its steps): ``invitation_send_pages``,
  whose routes this router includes.

Reading needs ``contacts:read`` and changing ``contacts:write``, as the REST API's
invitation routes; the changes go through the same stage functions (``collect.invitations``)
and are audited. This router is registered without a body limit (sending takes a CSV file),
so each of its POST routes sets its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from cxpulse.collect import invitations as triggers
from cxpulse.store import cursors, invitation_states, surveys
from cxpulse.store import invitations as invitation_store
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import Survey
from cxpulse.web import audit
from cxpulse.web.deps import DbSession
from cxpulse.web.form_values import MAX_ID, MAX_SMALL_ID, parse_id, parse_whole
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import invitation_send_pages, page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, check_allowed, problem_page
from cxpulse.web.routes.dashboard import render as render_page

router = APIRouter(include_in_schema=False)
router.include_router(invitation_send_pages.router)

PAGE_SIZE = 50
FORM_BODY_BYTES = 64_000
STATE_WORDS = {
    "scheduled": "Scheduled",
    "sent": "Sent",
    "unknown": "Delivery unknown",
    "failed": "Failed",
    "throttled": "Throttled",
    "unsubscribed": "Unsubscribed",
    "cancelled": "Cancelled",
    "answered": "Answered",
}
STATE_HELP = {
    "scheduled": "waiting for its time, or for the worker",
    "sent": "the mail server accepted it",
    "unknown": "the connection dropped before the server confirmed it; never sent again",
    "failed": "given up after retries",
    "throttled": "not sent: the person was invited recently",
    "unsubscribed": "not sent: the address unsubscribed",
    "cancelled": "withdrawn before sending",
    "answered": "the person answered",
}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def _list_url(survey_id: int | None, state: str | None, **more: str) -> str:
    query = {
        k: v for k, v in {"survey": str(survey_id or ""), "state": state or "", **more}.items() if v
    }
    return "/app/invitations" + (f"?{urlencode(query)}" if query else "")


def _notice(request: Request) -> str | None:
    count = parse_whole(request.query_params.get("cancelled"), 0, MAX_ID)
    if count is not None:
        return (
            "No scheduled invitation was left to cancel."
            if count == 0
            else f"{count:,} scheduled invitation{'s' if count != 1 else ''} cancelled."
        )
    return None


@router.get("/app/invitations", response_class=HTMLResponse)
def invitations_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    try:
        check_allowed(caller, Permission.CONTACTS_READ)
    except PageProblem as problem:
        return problem_page(request, problem)
    params = request.query_params
    all_surveys = surveys.list_surveys(session, caller.organisation_id)
    names = {s.id: s.name for s in all_surveys}
    survey_id = parse_id(params.get("survey"), MAX_SMALL_ID)
    if survey_id not in names:
        survey_id = None
    state = params.get("state") or None
    if state not in invitation_states.STATES:
        state = None
    before: tuple[datetime, int] | None = None
    cursor = params.get("before")
    if cursor:
        try:
            before = cursors.decode_cursor(cursor[:200])
        except Invalid:
            before = None
    counts = invitation_states.state_counts(session, caller.organisation_id, survey_id)
    page = invitation_states.list_with_states(
        session,
        caller.organisation_id,
        survey_id=survey_id,
        state=state,
        before=before,
        limit=PAGE_SIZE,
    )
    can_write = Permission.CONTACTS_WRITE in caller.permissions
    scheduled = counts.get("scheduled", 0) if survey_id is not None else 0
    context: dict[str, Any] = {
        "surveys": all_surveys,
        "names": names,
        "survey_id": survey_id,
        "state": state,
        "states": [(s, STATE_WORDS[s], STATE_HELP[s]) for s in invitation_states.STATES],
        "words": STATE_WORDS,
        "counts": counts,
        "total": sum(counts.values()),
        "rows": page.items,
        "when": _when,
        "count_url": lambda s: _list_url(survey_id, s),
        "next_url": _list_url(survey_id, state, before=cursors.encode_cursor(page.next_after))
        if page.next_after
        else None,
        "first_url": _list_url(survey_id, state) if before else None,
        "can_write": can_write,
        "cancel_all_url": f"/app/invitations/cancel?survey={survey_id}"
        if can_write and scheduled
        else None,
        "notice": _notice(request),
    }
    return render_page(request, "app/invitations/list.html", context)


# ----------------------------------------------------------------------------- cancelling


def _missing(what: str) -> PageProblem:
    return PageProblem(404, "Not found", f"There is no such {what} in your organisation.")


def _chosen(given: object, what: str, limit: int) -> int | None:
    """The id of the ``what`` a cancel names; None when it names none; 404 when what it
    gives is no id at all ("²", a number past the column's range)."""
    text = given.strip() if isinstance(given, str) else ""
    if not text:
        return None
    found = parse_id(text, limit)
    if found is None:
        raise _missing(what)
    return found


def _cancel_context(
    session: Session, organisation_id: int, invitation_id: int | None, survey_id: int | None
) -> dict[str, Any]:
    """What the confirmation page names; ``PageProblem`` when it names nothing."""
    if invitation_id is not None:
        try:
            invitation = invitation_store.get_invitation(session, organisation_id, invitation_id)
        except NotFound:
            raise _missing("invitation") from None
        survey = surveys.get_survey(session, organisation_id, invitation.survey_id)
        return {"invitation": invitation, "survey": survey, "count": 1}
    if survey_id is not None:
        try:
            found: Survey = surveys.get_survey(session, organisation_id, survey_id)
        except NotFound:
            raise _missing("survey") from None
        count = invitation_states.scheduled_count(session, organisation_id, survey_id)
        return {"invitation": None, "survey": found, "count": count}
    raise PageProblem(400, "Nothing to cancel", "Choose an invitation or a survey to cancel.")


@router.get("/app/invitations/cancel", response_class=HTMLResponse)
def cancel_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    params = request.query_params
    try:
        check_allowed(caller, Permission.CONTACTS_WRITE)
        context = _cancel_context(
            session,
            caller.organisation_id,
            _chosen(params.get("invitation"), "invitation", MAX_ID),
            _chosen(params.get("survey"), "survey", MAX_SMALL_ID),
        )
    except PageProblem as problem:
        return problem_page(request, problem, back="/app/invitations")
    return render_page(request, "app/invitations/cancel.html", context)


@router.post("/app/invitations/cancel", max_body_size=FORM_BODY_BYTES)
async def cancel_form(request: Request, session: DbSession) -> Response:
    back = "/app/invitations"
    try:
        caller, form = await page_forms.form_caller(request, session, Permission.CONTACTS_WRITE)
        invitation_id = _chosen(form.get("invitation"), "invitation", MAX_ID)
        survey_id = _chosen(form.get("survey"), "survey", MAX_SMALL_ID)
        if invitation_id is not None:
            try:
                invitation = triggers.cancel_invitation(
                    session, caller.organisation_id, invitation_id
                )
            except NotFound:
                raise _missing("invitation") from None
            except Invalid as refused:
                raise PageProblem(
                    409, "Not cancelled", f"The invitation {refused.message}."
                ) from None
            audit.record(
                session,
                caller,
                "cancel",
                "invitation",
                invitation.id,
                {"survey_id": invitation.survey_id, "source": "page"},
            )
            session.commit()
            return RedirectResponse(
                _list_url(invitation.survey_id, None, cancelled="1"), status_code=303
            )
        if survey_id is None:
            raise PageProblem(400, "Nothing to cancel", "Choose an invitation or a survey.")
        try:
            ids = triggers.cancel_scheduled(session, caller.organisation_id, survey_id)
        except NotFound:
            raise _missing("survey") from None
        if ids:
            audit.record(
                session,
                caller,
                "cancel",
                "invitation",
                None,
                {"survey_id": survey_id, "count": len(ids), "ids": ids[:1000], "source": "page"},
            )
        session.commit()
    except PageProblem as problem:
        session.rollback()
        return page_forms.form_problem(request, problem, back)
    return RedirectResponse(_list_url(survey_id, None, cancelled=str(len(ids))), status_code=303)
