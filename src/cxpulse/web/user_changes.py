"""Who may change whom among an organisation's users: one rule for the REST API
(``routes/users.py``) and the team page (``routes/team_pages.py``).

Owners and admins (``users:manage``) manage users; only an owner (``owners:manage``) creates
an owner, grants the role, or changes an owner. The store keeps the other rule: the last
active owner can be neither demoted nor deactivated (``accounts.refuse_losing_last_owner``).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy.orm import Session

from cxpulse.store import accounts
from cxpulse.store.models import User
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission

OWNERS_ONLY = "only an owner may create, change or grant the owner role"


def may_touch_owner(caller: Principal) -> None:
    """403 unless the caller may touch owners."""
    if Permission.OWNERS_MANAGE not in caller.permissions:
        raise HTTPException(403, OWNERS_ONLY)


def may_grant(caller: Principal, role: str) -> None:
    """403 when ``role`` is the owner role and the caller may not grant it."""
    if role == "owner":
        may_touch_owner(caller)


def update_user(session: Session, caller: Principal, user_id: int, changes: dict[str, Any]) -> User:
    """Apply ``changes`` (role, name, is_active) to a user of the caller's organisation,
    with its audit entry; 404 (``NotFound``), 403 for an owner's change by a non-owner, 409
    (``Conflict``) when it would leave no active owner. The caller commits."""
    user = accounts.get_user(session, caller.organisation_id, user_id)
    if user.role == "owner" or changes.get("role") == "owner":
        may_touch_owner(caller)
    user = accounts.update_user(session, caller.organisation_id, user_id, **changes)
    audit.record(session, caller, "update", "user", user.id, {"fields": sorted(changes)})
    return user
