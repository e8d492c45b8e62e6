"""The signed-in pages of follow-up cases, plain HTML forms that work without JavaScript:

- ``/app/cases``: the inbox, with tabs (mine, my team's, overdue, all), a state and
  priority filter, sorting by priority or due time, and bulk changes on the ticked cases;
- ``/app/cases/{id}``: one case: the answer (its comment with personal data replaced), the
  history, notes, an email to the customer, the state, assignee and priority forms, and
  the customer's whole timeline across surveys.

Reading needs ``cases:read``; every form needs ``cases:write`` (agents and above) and
carries the page's CSRF token as a field (``access.form_principal``), as the goal and theme
forms do. A refused form comes back as its page with status 422 and the message by the
form. The rules are ``act.cases``'s, shared with the API.

One module over 400 lines: the app registers one router for the case pages, and the two
pages share their form helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.act import cases
from cxpulse.collect.smtp import SmtpSettings
from cxpulse.store import accounts, loop_settings, surveys, teams
from cxpulse.store import cases as case_store
from cxpulse.store.errors import Conflict, Invalid
from cxpulse.store.models import CASE_PRIORITIES, FollowUpCase, User
from cxpulse.store.types import utc_now
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.errors import FieldErrors
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.cases_api import audited_bulk_update, decode_cursor, encode_cursor
from cxpulse.web.routes.dashboard import PageCaller, render
from cxpulse.web.routes.page_flow import ItemPages, run_form, typed_values
from cxpulse.web.routes.timeline_words import timeline_words
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID
from cxpulse.web.state import AppState

router = APIRouter(include_in_schema=False)
PAGES = ItemPages("/app/cases", "case", Permission.CASES_READ, Permission.CASES_WRITE)

CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]
PAGE_SIZE = 50
STATE_WORDS = {
    "new": "New",
    "contacted": "Contacted",
    "resolved": "Resolved",
    "wont_fix": "Won't fix",
}
STATE_FILTERS = {
    "open": ("new", "contacted"),
    "new": ("new",),
    "contacted": ("contacted",),
    "resolved": ("resolved",),
    "wont_fix": ("wont_fix",),
    "any": (),
}
TABS = (("mine", "Mine"), ("team", "My team's"), ("overdue", "Overdue"), ("all", "All"))
EVENT_WORDS = {
    "created": "opened the case",
    "note": "added a note",
    "state": "changed the state",
    "assigned": "changed the assignment",
    "priority": "changed the priority",
    "email_out": "emailed the customer",
    "email_in": "The customer replied by email",
    "resurvey": "re-survey",
}
TIMELINE_WORDS = timeline_words("emailed")


# -- words for times ---------------------------------------------------------------------------


def span_words(span: timedelta) -> str:
    """``timedelta(hours=3, minutes=10)`` -> ``3 h``: a duration as a person reads it."""
    minutes = max(1, int(abs(span).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


class Clock:
    """Times of one organisation's time zone, for the templates."""

    def __init__(self, zone: str, now: datetime) -> None:
        self.zone = ZoneInfo(zone)
        self.zone_name = zone
        self.now = now

    def at(self, moment: datetime | None) -> str:
        if moment is None:
            return "–"
        local = moment.astimezone(self.zone)
        return f"{local:%a %d %b %Y %H:%M} {local.tzname() or self.zone_name}"

    def short(self, moment: datetime) -> str:
        """``04 Dec 14:47``: a moment of the last months, for a table."""
        return f"{moment.astimezone(self.zone):%d %b %H:%M}"

    def due(self, row: FollowUpCase) -> dict[str, Any]:
        """The due time in words: ``overdue by 3 h`` (late), ``in 2 h`` or ``met``."""
        if row.due_at is None:
            return {"text": "–", "overdue": False, "iso": ""}
        iso = row.due_at.isoformat()
        if row.state != "new":
            late = row.first_contact_at is not None and row.first_contact_at > row.due_at
            words = "contacted after the due time" if late else "contacted in time"
            if row.first_contact_at is None:
                words = "closed without contact"
            return {"text": words, "overdue": False, "iso": iso, "at": self.at(row.due_at)}
        left = row.due_at - self.now
        if left < timedelta(0):
            return {
                "text": f"overdue by {span_words(left)}",
                "overdue": True,
                "iso": iso,
                "at": self.at(row.due_at),
            }
        return {
            "text": f"due in {span_words(left)}",
            "overdue": False,
            "iso": iso,
            "at": self.at(row.due_at),
        }


def _clock(session: Session, organisation_id: int) -> Clock:
    return Clock(loop_settings.get_settings(session, organisation_id).timezone, utc_now())


# -- forms -------------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _id(text: str, field: str, limit: int = MAX_SMALL_ID) -> int:
    if not (text.isascii() and text.isdecimal()) or len(text) > 19 or not 1 <= int(text) <= limit:
        raise Invalid(field, "choose one from the list")
    return int(text)


def _workers(session: Session, organisation_id: int) -> list[User]:
    return [
        user
        for user in accounts.list_users(session, organisation_id)
        if user.is_active and user.role in cases.CASE_ROLES
    ]


def _names(session: Session, organisation_id: int) -> dict[int, str]:
    return {
        user.id: user.name or user.email for user in accounts.list_users(session, organisation_id)
    }


# -- the inbox ---------------------------------------------------------------------------------


def _inbox_query(request: Request) -> dict[str, str]:
    params = request.query_params
    view = params.get("view", "mine")
    state = params.get("state", "open")
    priority = params.get("priority", "")
    sort = params.get("sort", "priority")
    if view not in cases.VIEWS:
        view = "mine"
    if state not in STATE_FILTERS:
        state = "open"
    if priority not in CASE_PRIORITIES:
        priority = ""
    if sort not in ("priority", "due", "created"):
        sort = "priority"
    return {"view": view, "state": state, "priority": priority, "sort": sort}


def _inbox_page(
    request: Request,
    session: Session,
    caller: Principal,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    chosen = _inbox_query(request)
    clock = _clock(session, caller.organisation_id)
    org = caller.organisation_id
    if caller.user_id is None and chosen["view"] in ("mine", "team"):
        chosen["view"] = "all"

    def where(view: str) -> case_store.CaseFilter:
        return cases.inbox_filter(
            session,
            org,
            view,
            user_id=caller.user_id,
            states=STATE_FILTERS[chosen["state"]],
            priority=chosen["priority"] or None,
            now=clock.now,
        )

    cursor = request.query_params.get("cursor")
    try:
        after = decode_cursor(chosen["sort"], cursor) if cursor else None
    except FieldErrors:
        after = None
    sort = cast(case_store.SortKey, chosen["sort"])
    page = case_store.list_cases(
        session, org, where(chosen["view"]), sort=sort, after=after, limit=PAGE_SIZE
    )
    counts = {
        view: case_store.count_cases(session, org, where(view))
        for view, _ in TABS
        if caller.user_id is not None or view not in ("mine", "team")
    }
    survey_names = {survey.id: survey.name for survey in surveys.list_surveys(session, org)}
    next_url = None
    if page.next_key is not None:
        next_url = "/app/cases?" + urlencode(
            {**chosen, "cursor": encode_cursor(chosen["sort"], page.next_key)}
        )
    context = {
        "chosen": chosen,
        "tab_urls": {view: "/app/cases?" + urlencode({**chosen, "view": view}) for view, _ in TABS},
        "tabs": [(view, words) for view, words in TABS if view in counts],
        "counts": counts,
        "rows": page.items,
        "clock": clock,
        "names": _names(session, org),
        "team_names": {team.id: team.name for team in teams.list_teams(session, org)},
        "survey_names": survey_names,
        "workers": _workers(session, org),
        "states": STATE_WORDS,
        "state_filters": list(STATE_FILTERS),
        "priorities": CASE_PRIORITIES,
        "can_edit": Permission.CASES_WRITE in caller.permissions,
        "next_url": next_url,
        "paged": cursor is not None,
        "errors": errors or {},
        "typed": typed or {},
        "notice": request.query_params.get("done"),
        "back": "/app/cases?" + urlencode(chosen),
    }
    return render(request, "app/cases/inbox.html", context, status_code)


@router.get("/app/cases", response_class=HTMLResponse)
def inbox_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return PAGES.page(request, caller, lambda: _inbox_page(request, session, caller))


@router.post("/app/cases/bulk")
async def bulk_form(request: Request, session: DbSession) -> Response:
    back = _text_from_query(request, "back")

    def change(caller: Principal, form: FormData) -> str:
        ids = [
            _id(value, "case_id", MAX_ID)
            for value in form.getlist("case_id")
            if isinstance(value, str)
        ]
        if not ids:
            raise Invalid("case_id", "tick at least one case")
        changes: dict[str, Any] = {}
        state = _text(form, "state")
        if state:
            changes["state"] = state
            changes["resolution_reason"] = _text(form, "resolution_reason") or None
        assignee = _text(form, "assignee")
        if assignee == "none":
            changes["assignee_user_id"] = None
        elif assignee:
            changes["assignee_user_id"] = _id(assignee, "assignee")
        priority = _text(form, "priority")
        if priority:
            changes["priority"] = priority
        if not changes:
            raise Invalid("action", "choose a state, an assignee or a priority to set")
        result = audited_bulk_update(session, caller, ids, changes.keys(), **changes)
        done = f"{len(result.updated)} case{'s' if len(result.updated) != 1 else ''} changed"
        separator = "&" if "?" in back else "?"
        return f"{back}{separator}{urlencode({'done': done})}"

    def refused(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        typed = {
            "case_ids": form.getlist("case_id"),
            **{k: _text(form, k) for k in ("state", "resolution_reason", "assignee", "priority")},
        }
        return _inbox_page(
            request,
            session,
            caller,
            errors={"bulk": f"Nothing was changed: {error.message}."},
            typed=typed,
            status_code=422,
        )

    return await run_form(request, session, PAGES.write, change, back=back, refused=refused)


def _text_from_query(request: Request, name: str) -> str:
    """A same-site path to come back to (anything else: the inbox)."""
    value = request.query_params.get(name, "")
    if value.startswith("/app/cases") and "//" not in value and "\\" not in value:
        return value
    return "/app/cases"


# -- one case ----------------------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    caller: Principal,
    case_id: int,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    org = caller.organisation_id
    found = cases.case_detail(session, org, case_id)
    row = found.case
    clock = _clock(session, org)
    survey = surveys.get_survey(session, org, row.survey_id) if row.survey_id else None
    reply_refusal = None
    if found.contact is None or not found.contact.email:
        reply_refusal = "The customer left no email address."
    elif found.consent is False:
        reply_refusal = "The customer asked not to be contacted."
    context = {
        "row": row,
        "found": found,
        "survey": survey,
        "clock": clock,
        "due": clock.due(row),
        "names": _names(session, org),
        "team_names": {team.id: team.name for team in teams.list_teams(session, org)},
        "workers": _workers(session, org),
        "teams": teams.list_teams(session, org),
        "states": STATE_WORDS,
        "next_states": [row.state, *cases.NEXT_STATES[row.state]],
        "priorities": CASE_PRIORITIES,
        "event_words": EVENT_WORDS,
        "timeline_words": TIMELINE_WORDS,
        # A year of answers and invitations makes a long column: the latest first, the
        # rest one click away.
        "timeline_limit": None if request.query_params.get("timeline") == "all" else 15,
        "can_edit": Permission.CASES_WRITE in caller.permissions,
        "reply_refusal": reply_refusal,
        "errors": errors or {},
        "typed": typed or {},
        "notice": request.query_params.get("done"),
    }
    return render(request, "app/cases/case.html", context, status_code)


@router.get("/app/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: CaseId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return PAGES.item_page(request, caller, lambda: _case_page(request, session, caller, case_id))


async def _case_form(
    request: Request,
    session: Session,
    case_id: int,
    form_name: str,
    done: str,
    change: Callable[[Principal, FormData], None],
) -> Response:
    """Run ``change(caller, form)`` for a form of the case page, then come back to it."""
    back = f"/app/cases/{case_id}"

    def audited(caller: Principal, form: FormData) -> str:
        change(caller, form)
        audit.record(session, caller, form_name, "case", case_id)
        return f"{back}?{urlencode({'done': done})}#{form_name}"

    def refused(caller: Principal, form: FormData, error: Invalid | Conflict) -> HTMLResponse:
        return _case_page(
            request,
            session,
            caller,
            case_id,
            errors={form_name: error.message, f"{form_name}.field": error.field},
            typed=typed_values(form),
            status_code=422,
        )

    return await PAGES.item_form(request, session, case_id, audited, refused)


@router.post("/app/cases/{case_id}/state")
async def state_form(request: Request, case_id: CaseId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> None:
        cases.change_state(
            session,
            caller.organisation_id,
            case_id,
            _text(form, "state"),
            author_user_id=caller.user_id,
            resolution_reason=_text(form, "resolution_reason") or None,
            resurvey=form.get("resurvey") == "yes",
        )

    return await _case_form(request, session, case_id, "state", "State saved.", change)


@router.post("/app/cases/{case_id}/assignment")
async def assignment_form(request: Request, case_id: CaseId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> None:
        assignee = _text(form, "assignee")
        team = _text(form, "team")
        cases.update_case(
            session,
            caller.organisation_id,
            case_id,
            author_user_id=caller.user_id,
            assignee_user_id=None if assignee in ("", "none") else _id(assignee, "assignee"),
            team_id=None if team in ("", "none") else _id(team, "team_id"),
        )

    return await _case_form(request, session, case_id, "assignment", "Assignment saved.", change)


@router.post("/app/cases/{case_id}/priority")
async def priority_form(request: Request, case_id: CaseId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> None:
        cases.set_priority(
            session,
            caller.organisation_id,
            case_id,
            _text(form, "priority"),
            author_user_id=caller.user_id,
        )

    return await _case_form(request, session, case_id, "priority", "Priority saved.", change)


@router.post("/app/cases/{case_id}/notes")
async def note_form(request: Request, case_id: CaseId, session: DbSession) -> Response:
    def change(caller: Principal, form: FormData) -> None:
        cases.add_note(
            session,
            caller.organisation_id,
            case_id,
            _text(form, "body"),
            author_user_id=caller.user_id,
        )

    return await _case_form(request, session, case_id, "note", "Note added.", change)


@router.post("/app/cases/{case_id}/reply")
async def reply_form(request: Request, case_id: CaseId, session: DbSession) -> Response:
    state: AppState = request.app.state.cxpulse
    domain = SmtpSettings.from_settings(state.settings).domain

    def change(caller: Principal, form: FormData) -> None:
        cases.reply(
            session,
            caller.organisation_id,
            case_id,
            _text(form, "body"),
            author_user_id=caller.user_id,
            mail_domain=domain,
            subject=_text(form, "subject") or None,
        )

    return await _case_form(
        request, session, case_id, "reply", "Email queued: it goes out within a minute.", change
    )
