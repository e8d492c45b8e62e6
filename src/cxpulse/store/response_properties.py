"""The properties of a sample of one survey's responses, from which the monthly report picks
the properties worth splitting by (``report.monthly_changes``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cxpulse.store.models import Response


def sample_properties(
    session: Session,
    organisation_id: int,
    survey_id: int,
    start: datetime,
    end: datetime,
    *,
    limit: int,
) -> list[dict[str, Any]]:
    """The ``properties`` of at most ``limit`` responses submitted from ``start`` up to
    ``end`` (excluded), in no particular order."""
    return list(
        session.scalars(
            select(Response.properties)
            .where(
                Response.organisation_id == organisation_id,
                Response.survey_id == survey_id,
                Response.submitted_at >= start,
                Response.submitted_at < end,
            )
            .limit(limit)
        )
    )
