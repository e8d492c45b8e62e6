"""Alerts through API v1: list them (open or closed, by kind and survey), read one, close
(acknowledge) one. Raised by the hourly scan (``act.alert_runner``), never through the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from cxpulse.store import alerts
from cxpulse.web import audit
from cxpulse.web.access import CanReadMetrics, CanWriteSurveys
from cxpulse.web.alert_schemas import AlertKind, AlertList, AlertOut, AlertState, alert_out
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import MAX_ID, MAX_SMALL_ID

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=MAX_ID, description="The alert's id.")]


@router.get(
    "",
    operation_id="listAlerts",
    summary="List alerts, the latest raised first",
    response_model=AlertList,
    responses=problems(422),
)
def list_alerts(
    caller: CanReadMetrics,
    session: DbSession,
    state: Annotated[AlertState | None, Query(description="open or closed")] = None,
    kind: Annotated[AlertKind | None, Query()] = None,
    survey_id: Annotated[int | None, Query(ge=1, le=MAX_SMALL_ID)] = None,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Alerts with a smaller id: the next page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=alerts.MAX_PAGE)] = 50,
) -> AlertList:
    page = alerts.list_alerts(
        session,
        caller.organisation_id,
        state=state,
        kind=kind,
        survey_id=survey_id,
        before_id=before,
        limit=limit,
    )
    return AlertList(items=[alert_out(alert) for alert in page.items], next_before=page.next_before)


@router.get(
    "/{alert_id}",
    operation_id="getAlert",
    summary="Get an alert with the numbers behind it",
    response_model=AlertOut,
    responses=problems(404),
)
def get_alert(alert_id: AlertId, caller: CanReadMetrics, session: DbSession) -> AlertOut:
    return alert_out(alerts.get_alert(session, caller.organisation_id, alert_id))


@router.post(
    "/{alert_id}/close",
    operation_id="closeAlert",
    summary="Close (acknowledge) an alert",
    description="Closing an alert that is still detected keeps it closed: the same incident "
    "is not raised again until it has been quiet for three days.",
    response_model=AlertOut,
    responses=problems(404),
)
def close_alert(alert_id: AlertId, caller: CanWriteSurveys, session: DbSession) -> AlertOut:
    alert, changed = alerts.close_alert(session, caller.organisation_id, alert_id)
    if changed:
        audit.record(session, caller, "close", "alert", alert.id, {"kind": alert.kind})
    session.commit()
    return alert_out(alert)
