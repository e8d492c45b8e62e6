"""The audit log of the caller's organisation, newest first. Owners and admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cxpulse.store import audit
from cxpulse.web.access import CanReadAudit
from cxpulse.web.cursors import decode_id_cursor, encode_id_cursor
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import AuditEntry, AuditPage, Text100

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get(
    "",
    operation_id="listAuditEntries",
    summary="List audit log entries",
    description="Newest first; pass `next_cursor` back as `cursor` for older entries.",
    response_model=AuditPage,
    responses=problems(),
)
def list_audit_entries(
    caller: CanReadAudit,
    session: DbSession,
    entity: Annotated[Text100 | None, Query(description="survey, response, contact ...")] = None,
    entity_id: Annotated[Text100 | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> AuditPage:
    before = decode_id_cursor("audit", cursor) if cursor else None
    entries = audit.list_entries(
        session,
        caller.organisation_id,
        entity=entity,
        entity_id=entity_id,
        before=before,
        limit=limit + 1,
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(
        items=[AuditEntry.model_validate(e) for e in entries],
        next_cursor=encode_id_cursor("audit", entries[-1].id) if more and entries else None,
    )
