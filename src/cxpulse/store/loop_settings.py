"""An organisation's closed-loop settings (``models.LoopSettings``): read with the defaults
when the organisation never saved any, and saved on first change.

The values are checked by their owners before they get here (business hours and SLA by
``act.business_hours``, retention by the privacy rules).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.models import LoopSettings
from cxpulse.store.types import utc_now

__all__ = ["FIELDS", "get_settings", "update_settings"]

FIELDS = ("timezone", "business_hours", "sla_hours", "retention_months", "retention_action")


def _default(organisation_id: int) -> LoopSettings:
    return LoopSettings(
        organisation_id=organisation_id,
        timezone="UTC",
        business_hours={},
        sla_hours={},
        retention_months=None,
        retention_action="anonymise",
        updated_at=utc_now(),
    )


def get_settings(session: Session, organisation_id: int) -> LoopSettings:
    """The organisation's row, or an unsaved row of defaults (nothing is written)."""
    found = session.scalar(
        select(LoopSettings).where(LoopSettings.organisation_id == organisation_id)
    )
    return found if found is not None else _default(organisation_id)


def update_settings(session: Session, organisation_id: int, **changes: Any) -> LoopSettings:
    """Set the given fields (of ``FIELDS``), making the row when there is none."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown loop settings {sorted(unknown)}")
    row = session.get(LoopSettings, organisation_id)
    if row is None:
        row = _default(organisation_id)
        session.add(row)
    for name, value in changes.items():
        setattr(row, name, value)
    row.updated_at = utc_now()
    session.flush()
    return row
