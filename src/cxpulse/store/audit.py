"""The audit log: who changed what, written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.models import AuditLog

SYSTEM = "system"


def user_actor(user_id: int) -> str:
    return f"user:{user_id}"


def api_key_actor(key_id: int) -> str:
    return f"api_key:{key_id}"


def record(
    session: Session,
    organisation_id: int,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: int | str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditLog:
    """Add an entry, such as ``actor="user:3", action="update", entity="survey"``.

    ``details`` must be JSON-serialisable; keep secrets and personal data out of it.
    """
    entry = AuditLog(
        organisation_id=organisation_id,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        details=dict(details or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def record_system(
    session: Session,
    organisation_id: int,
    action: str,
    entity: str,
    entity_id: int,
    *,
    details: Mapping[str, Any],
) -> AuditLog:
    """:func:`record` for a change the system made (through the CLI, the demo), not a person
    or an API key: the actor is :data:`SYSTEM`."""
    return record(
        session,
        organisation_id,
        actor=SYSTEM,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
    )


def list_entries(
    session: Session,
    organisation_id: int,
    *,
    entity: str | None = None,
    entity_id: int | str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditLog]:
    """Newest first; pass the last entry's id as ``before`` for the next page."""
    query = select(AuditLog).where(AuditLog.organisation_id == organisation_id)
    if entity is not None:
        query = query.where(AuditLog.entity == entity)
    if entity_id is not None:
        query = query.where(AuditLog.entity_id == str(entity_id))
    if before is not None:
        query = query.where(AuditLog.id < before)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))
