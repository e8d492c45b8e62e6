"""The audit log searched: by who (``actor``), what was done (``action``), to what
(``entity`` and ``entity_id``) and when (a range of UTC days), newest first, in keyset pages.

``store.audit.list_entries`` answers the API's questions (entity and id); this answers the
audit page's, with the same order and page boundary (the last entry's id as ``before``), so
that the API could take these filters too by calling ``search_entries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.models import AuditLog


@dataclass(frozen=True)
class AuditFilter:
    """What to look for; ``None`` matches everything. Days are UTC and both included."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    since: date | None = None
    until: date | None = None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def search_entries(
    session: Session,
    organisation_id: int,
    chosen: AuditFilter,
    *,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditLog]:
    """The entries that match ``chosen``, newest first; pass the last one's id as
    ``before`` for the next page."""
    query = select(AuditLog).where(AuditLog.organisation_id == organisation_id)
    if chosen.actor is not None:
        query = query.where(AuditLog.actor == chosen.actor)
    if chosen.action is not None:
        query = query.where(AuditLog.action == chosen.action)
    if chosen.entity is not None:
        query = query.where(AuditLog.entity == chosen.entity)
    if chosen.entity_id is not None:
        query = query.where(AuditLog.entity_id == chosen.entity_id)
    if chosen.since is not None:
        query = query.where(AuditLog.at >= _start_of(chosen.since))
    if chosen.until is not None:
        query = query.where(AuditLog.at < _start_of(chosen.until + timedelta(days=1)))
    if before is not None:
        query = query.where(AuditLog.id < before)
    return list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)))


def actions(session: Session, organisation_id: int) -> list[str]:
    """The actions the organisation's log holds, for the page's choice of action."""
    found = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.organisation_id == organisation_id)
        .distinct()
        .order_by(AuditLog.action)
    )
    return list(found)


def entities(session: Session, organisation_id: int) -> list[str]:
    """The kinds of resource the organisation's log holds."""
    found = session.scalars(
        select(AuditLog.entity)
        .where(AuditLog.organisation_id == organisation_id)
        .distinct()
        .order_by(AuditLog.entity)
    )
    return list(found)
