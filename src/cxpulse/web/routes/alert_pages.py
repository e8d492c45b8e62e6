"""The signed-in pages of alerts, plain HTML that works without JavaScript:

- ``/app/alerts``: the organisation's alerts, open ones by default (``?state=closed`` or
  ``all``), each with its numbers and a link to the dashboard view that shows it;
- ``/app/alerts/{id}``: one alert: the explanation of every segment it covers, its numbers,
  and a form to close (acknowledge) it.

Reading needs ``metrics:read``; closing needs ``surveys:write`` and posts the page's CSRF
token as a field (``access.form_principal``), as the goal forms do. The emails of alerts
link to the alert's page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.store import alerts, surveys
from cxpulse.store.models import Alert
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.alert_schemas import dashboard_link
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.dashboard import PageCaller, render
from cxpulse.web.routes.page_flow import ItemPages
from cxpulse.web.schemas import MAX_ID

router = APIRouter(include_in_schema=False)
PAGES = ItemPages("/app/alerts", "alert", Permission.METRICS_READ, Permission.SURVEYS_WRITE)

AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
STATES = {"open": "open", "closed": "closed", "all": None}
KIND_WORDS = {
    "score-drop": "Score drop",
    "theme-spike": "Theme spike",
    "goal-off-track": "Goal off track",
}
PAGE_SIZE = 100


def _survey_names(session: Session, organisation_id: int) -> dict[int, str]:
    return {survey.id: survey.name for survey in surveys.list_surveys(session, organisation_id)}


def _row(alert: Alert, names: dict[int, str]) -> dict[str, Any]:
    details = dict(alert.details or {})
    segments = details.get("segments")
    return {
        "alert": alert,
        "kind": KIND_WORDS.get(alert.kind, alert.kind),
        "survey": names.get(alert.survey_id or 0, ""),
        "details": details,
        "segments": segments if isinstance(segments, list) else [],
        "link": dashboard_link(alert),
        "unit": "" if details.get("metric") in ("ces", "mean") else " pts",
    }


@router.get("/app/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return PAGES.page(request, caller, lambda: _alerts_page(request, session, caller))


def _alerts_page(request: Request, session: Session, caller: Principal) -> HTMLResponse:
    chosen = request.query_params.get("state", "open")
    if chosen not in STATES:
        chosen = "open"
    page = alerts.list_alerts(
        session, caller.organisation_id, state=STATES[chosen], limit=PAGE_SIZE
    )
    names = _survey_names(session, caller.organisation_id)
    context = {
        "rows": [_row(alert, names) for alert in page.items],
        "state": chosen,
        "states": list(STATES),
        "more": page.next_before is not None,
        "page_size": PAGE_SIZE,
    }
    return render(request, "app/alerts/list.html", context)


@router.get("/app/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(
    alert_id: AlertId, request: Request, caller: PageCaller, session: DbSession
) -> HTMLResponse:
    return PAGES.item_page(request, caller, lambda: _alert_page(request, session, caller, alert_id))


def _alert_page(
    request: Request, session: Session, caller: Principal, alert_id: int
) -> HTMLResponse:
    alert = alerts.get_alert(session, caller.organisation_id, alert_id)
    context = {
        **_row(alert, _survey_names(session, caller.organisation_id)),
        "can_close": Permission.SURVEYS_WRITE in caller.permissions and alert.state == "open",
        "notice": "The alert was closed." if "closed" in request.query_params else None,
    }
    return render(request, "app/alerts/alert.html", context)


@router.post("/app/alerts/{alert_id}/close")
async def close_alert_form(request: Request, alert_id: AlertId, session: DbSession) -> Response:
    def close(caller: Principal, _: FormData) -> str:
        alert, changed = alerts.close_alert(session, caller.organisation_id, alert_id)
        if changed:
            audit.record(session, caller, "close", "alert", alert.id, {"kind": alert.kind})
        return f"/app/alerts/{alert_id}?closed=1"

    return await PAGES.item_form(request, session, alert_id, close)
