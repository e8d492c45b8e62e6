"""Audit log entries for changes made through the API, in the transaction of the change.

Response submissions are not logged one by one: the response row itself records its source
and time, and at thousands a second an entry each would double the writes. Deletions of
responses are logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.store import audit
from cxpulse.web.access import Principal


def record(
    session: Session,
    caller: Principal,
    action: str,
    entity: str,
    entity_id: int | str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        caller.organisation_id,
        actor=caller.actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details,
    )
