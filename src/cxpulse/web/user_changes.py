"""Who may change whom among an organisation's users: one rule for the REST API
(``routes/users.py``) and the team page (``routes/team_pages.py``).

Owners and admins (``users:manage``) manage users; only an owner (``owners:manage``) creates
an owner, grants the role, or changes an owner. Nobody deactivates themselves (they would
be locked out at once, with nobody asked): another owner or admin does it; and nobody lowers
their own role below ``users:manage`` while no other active owner or admin remains (an
organisation of one admin would lose its team page for good). The store keeps the last
rule: the last active owner can be neither demoted nor deactivated
(``accounts.refuse_losing_last_owner``).
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from sqlalchemy.orm import Session

from cxpulse.store import accounts
from cxpulse.store.errors import Conflict
from cxpulse.store.models import ROLES, User
from cxpulse.web import audit
from cxpulse.web.access import Principal
from cxpulse.web.permissions import Permission, role_permissions

OWNERS_ONLY = "only an owner may create, change or grant the owner role"
NOT_YOURSELF = "you cannot deactivate yourself: ask another owner or admin"
LAST_MANAGER = "you are the only active owner or admin: give the role to someone else first"


def manages_users(role: str) -> bool:
    return Permission.USERS_MANAGE in role_permissions(role)


def other_managers(users: list[User], user_id: int) -> int:
    """How many active users other than ``user_id`` manage users (owners and admins)."""
    return sum(1 for u in users if u.id != user_id and u.is_active and manages_users(u.role))


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
    (``Conflict``) when it would leave no active owner or deactivate the caller. The caller
    commits."""
    user = accounts.get_user(session, caller.organisation_id, user_id)
    if user.id == caller.user_id and changes.get("is_active") is False:
        raise Conflict("is_active", NOT_YOURSELF)
    role = changes.get("role")
    if (
        user.id == caller.user_id
        and isinstance(role, str)
        and role in ROLES
        and not manages_users(role)
        and not other_managers(accounts.list_users(session, caller.organisation_id), user.id)
    ):
        raise Conflict("role", LAST_MANAGER)
    if user.role == "owner" or changes.get("role") == "owner":
        may_touch_owner(caller)
    user = accounts.update_user(session, caller.organisation_id, user_id, **changes)
    audit.record(session, caller, "update", "user", user.id, {"fields": sorted(changes)})
    return user
