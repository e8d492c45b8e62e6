"""The values a stored response shows of itself, declared once for every view of it.

``ResponseValues`` is the base of the submissions' ``StoredResponse``, of the dashboard's
``DrillRow`` and of the API's ``ResponseOut`` (``web.schemas``, a pydantic model that takes
its fields from this dataclass); each adds what only it has. The fields stand in the
order the API writes them.

Not slotted: a pydantic model cannot extend a class with slots of its own (their instance
layouts conflict). Frozen, since ``StoredResponse`` is, and a frozen dataclass may only
extend a frozen one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Final


@dataclass(frozen=True, kw_only=True)
class ResponseValues:
    id: int
    survey_id: int
    contact_id: int | None
    score: float
    comment: str | None
    """As each view may show it: the submissions' as stored, the others' redacted."""
    language: str | None
    channel: str | None
    touchpoint: str | None
    properties: dict[str, str]
    submitted_at: datetime
    received_at: datetime
    source: str


VALUE_NAMES: Final = tuple(field.name for field in fields(ResponseValues))
"""The names of ``ResponseValues``, in its order: each is a column of ``responses``."""
