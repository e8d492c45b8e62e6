"""The audit log page, ``/app/audit``: who changed what and when, newest first, filtered by
who (a user, an API key, the system), action, resource (and its id) and a range of UTC days,
in pages of ``PAGE_SIZE`` ("Older entries" carries the filters and the last entry's id).

Reading needs ``audit:read`` (admins and owners), as ``/api/v1/audit`` does; the entries come
from ``store.audit_search``, which keeps the API's order and page boundary. Filters live in
the URL, so a view can be bookmarked. A malformed filter is shown by its field with the page
at 422, the values kept.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from cxpulse.store import accounts, audit_search
from cxpulse.store.audit_search import AuditFilter
from cxpulse.store.models import AuditLog
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.form_values import parse_id
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import PageCaller, render
from cxpulse.web.routes.page_flow import guarded_page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FIELDS = ("actor", "action", "entity", "entity_id", "from", "to")
MAX_TEXT = 64
"""The longest actor, action, resource or id the log stores (``AuditLog`` columns)."""


def _actors(session: Session, organisation_id: int) -> dict[str, str]:
    """Who may appear in the log, by actor, with a readable name."""
    names = {"system": "cxpulse itself"}
    for user in accounts.list_users(session, organisation_id):
        names[f"user:{user.id}"] = user.name or user.email
    for key in accounts.list_api_keys(session, organisation_id):
        names[f"api_key:{key.id}"] = f"API key “{key.name}”"
    return names


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError("must be a date such as 2026-03-31") from None
    if not 1900 <= day.year <= 9998:
        # The search runs to the end of the last day: 9999-12-31 has no day after it.
        raise ValueError("must be a date between 1900 and 9998")
    return day


def parse_filter(typed: dict[str, str]) -> tuple[AuditFilter, dict[str, str]]:
    """The filter a page's query asks for and a message per malformed field."""
    errors: dict[str, str] = {}
    texts: dict[str, str | None] = {}
    for name in ("actor", "action", "entity", "entity_id"):
        value = typed.get(name, "").strip()
        if len(value) > MAX_TEXT:
            errors[name] = f"must be at most {MAX_TEXT} characters"
        texts[name] = value or None
    days: dict[str, date | None] = {"from": None, "to": None}
    for name in days:
        value = typed.get(name, "").strip()
        if value:
            try:
                days[name] = _day(value)
            except ValueError as problem:
                errors[name] = str(problem)
    since, until = days["from"], days["to"]
    if since and until and until < since:
        errors["to"] = "must not be before the first day"
    chosen = AuditFilter(
        actor=texts["actor"],
        action=texts["action"],
        entity=texts["entity"],
        entity_id=texts["entity_id"],
        since=since,
        until=until,
    )
    return chosen, errors


def _row(entry: AuditLog, actors: dict[str, str]) -> dict[str, Any]:
    details = entry.details or {}
    return {
        "entry": entry,
        "actor": actors.get(entry.actor, entry.actor),
        "at": entry.at.strftime("%Y-%m-%d %H:%M:%S"),
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True) if details else "",
    }


@router.get("/app/audit", response_class=HTMLResponse)
def audit_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return guarded_page(
        request, caller, Permission.AUDIT_READ, lambda: _audit_page(request, session, caller)
    )


def _audit_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    org = caller.organisation_id
    typed = {name: request.query_params.get(name, "") for name in FIELDS}
    chosen, errors = parse_filter(typed)
    actors = _actors(session, org)
    entries: list[AuditLog] = []
    if not errors:
        entries = audit_search.search_entries(
            session,
            org,
            chosen,
            before=parse_id(request.query_params.get("before")),
            limit=PAGE_SIZE + 1,
        )
    more = len(entries) > PAGE_SIZE
    entries = entries[:PAGE_SIZE]
    kept = {name: value for name, value in typed.items() if value}
    context = {
        "rows": [_row(entry, actors) for entry in entries],
        "typed": typed,
        "errors": errors,
        "actors": sorted(actors.items(), key=lambda pair: pair[1].casefold()),
        "actions": audit_search.actions(session, org),
        "entities": audit_search.entities(session, org),
        "filtered": bool(kept),
        "first_page": "before" in request.query_params,
        "first_url": "/app/audit" + (f"?{urlencode(kept)}" if kept else ""),
        "older_url": "/app/audit?" + urlencode({**kept, "before": entries[-1].id})
        if more and entries
        else None,
        "page_size": PAGE_SIZE,
    }
    return render(request, "app/audit/list.html", context, 422 if errors else 200)
