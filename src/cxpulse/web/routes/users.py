"""Users of the caller's organisation. Owners and admins; only owners touch owners (the rule
of ``web.user_changes``, shared with the team page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from cxpulse.store import accounts
from cxpulse.web import audit, user_changes
from cxpulse.web.access import CanManageUsers
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import UserId, problems
from cxpulse.web.schemas import UserCreate, UserList, UserOut, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get(
    "",
    operation_id="listUsers",
    summary="List users",
    response_model=UserList,
    responses=problems(),
)
def list_users(caller: CanManageUsers, session: DbSession) -> UserList:
    users = accounts.list_users(session, caller.organisation_id)
    return UserList(items=[UserOut.model_validate(user) for user in users])


@router.post(
    "",
    operation_id="createUser",
    summary="Create a user",
    description="The address is stored in its canonical form (case folded, Unicode "
    "normalised, international domain in ASCII); one with a control or invisible character "
    "is a 422. A user's address is unique within the organisation only: 409 when the "
    "organisation has a user with it (in any spelling), and the same answer as for a new "
    "address when another organisation has one, so that nothing is told about other "
    "organisations. The new user logs in with the address and this password.",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=problems(409),
)
def create_user(body: UserCreate, caller: CanManageUsers, session: DbSession) -> UserOut:
    user_changes.may_grant(caller, body.role)
    user = accounts.create_user(
        session,
        caller.organisation_id,
        email=body.email,
        password=body.password,
        role=body.role,
        name=body.name,
    )
    audit.record(session, caller, "create", "user", user.id, {"role": user.role})
    session.commit()
    return UserOut.model_validate(user)


@router.get(
    "/{user_id}",
    operation_id="getUser",
    summary="Get a user",
    response_model=UserOut,
    responses=problems(404),
)
def get_user(user_id: UserId, caller: CanManageUsers, session: DbSession) -> UserOut:
    return UserOut.model_validate(accounts.get_user(session, caller.organisation_id, user_id))


@router.patch(
    "/{user_id}",
    operation_id="updateUser",
    summary="Change a user's role, name or active flag",
    description="The last active owner can be neither demoted nor deactivated.",
    response_model=UserOut,
    responses=problems(404, 409),
)
def update_user(
    user_id: UserId, body: UserUpdate, caller: CanManageUsers, session: DbSession
) -> UserOut:
    changes: dict[str, Any] = {
        name: getattr(body, name)
        for name in body.model_fields_set
        if getattr(body, name) is not None or name == "name"
    }
    # The store refuses (409) to leave the organisation without an active owner.
    user = user_changes.update_user(session, caller, user_id, changes)
    session.commit()
    return UserOut.model_validate(user)
