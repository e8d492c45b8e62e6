"""The team page and one's own profile, plain HTML forms that work without JavaScript:

- ``/app/team``: the organisation's users (name, address, role, active, invitation pending,
  last login), a form to invite a colleague by email, and per user: change the role,
  deactivate or reactivate, send a pending invitation again. ``users:manage`` (owners and
  admins); changing an owner or granting the role needs ``owners:manage``, as in the REST
  API: both call ``web.user_changes``, and the store keeps the last active owner.
- ``/app/account``: one's name, the password form (posted to ``/app/password`` of
  ``routes/sessions``, which checks the current password under the login lockout) and a
  link to one's sessions. Any signed-in user.

An invitation creates the user with a password nobody knows (``store.user_invitations``)
and queues the email with the link to choose one (``act.user_emails``), in one transaction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from cxpulse.act import user_emails
from cxpulse.act.account_links import AccountLinks
from cxpulse.store import accounts, user_invitations
from cxpulse.store.errors import Conflict, Invalid, NotFound
from cxpulse.store.models import ROLES, User
from cxpulse.web import audit, user_changes
from cxpulse.web.access import Principal
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes import page_forms
from cxpulse.web.routes.dashboard import PageCaller, PageProblem, problem_page
from cxpulse.web.routes.dashboard import render as render_page
from cxpulse.web.routes.form_refusals import NO_REFUSAL, Refusal, refused
from cxpulse.web.routes.page_access import permitted_page
from cxpulse.web.routes.page_moments import when
from cxpulse.web.schemas import MAX_ID
from cxpulse.web.state import app_state

router = APIRouter(include_in_schema=False)

# The worker of this process (CXPULSE_INLINE_WORKER) sends the invitations queued here.
user_emails.register()

TEAM_PAGE = "/app/team"
ACCOUNT_PAGE = "/app/account"
UserPath = Annotated[int, Path(ge=1, le=MAX_ID)]
ROLE_HELP = {
    "owner": "everything, including the owners and the organisation itself",
    "admin": "everything but the owners: users, API keys, integrations, privacy, the audit log",
    "analyst": "surveys, imports, exports, contacts and rules",
    "agent": "works the follow-up cases; reads answers and contacts",
    "viewer": "reads the dashboards",
}
NOTICES = {
    "invited": "Invitation sent: the colleague gets an email with a link to choose a password "
    "(it works for 7 days).",
    "resent": "Invitation sent again; the link of the earlier email no longer works.",
    "role": "Role changed.",
    "deactivated": "Deactivated: the user is signed out everywhere and cannot log in.",
    "reactivated": "Reactivated: the user can log in again.",
    "name": "Your name is saved.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def _grantable(caller: Principal) -> list[str]:
    """The roles the caller may give (only owners make owners)."""
    owners = Permission.OWNERS_MANAGE in caller.permissions
    return [role for role in ROLES if owners or role != "owner"]


def _row(user: User, caller: Principal, users: list[User]) -> dict[str, Any]:
    me = user.id == caller.user_id
    active_owners = sum(1 for u in users if u.role == "owner" and u.is_active)
    last_owner = user.role == "owner" and user.is_active and active_owners <= 1
    last_manager = me and not user_changes.other_managers(users, user.id)
    return {
        "user": user,
        "me": me,
        # Only what the server allows is offered (``user_changes``): nobody deactivates
        # themselves, the last active owner keeps the role, and so does the last person
        # who manages the team when it is oneself.
        "can_deactivate": not me and not last_owner,
        "can_change_role": not last_owner and not last_manager,
        "keeps_role_because": "the only owner" if last_owner else "the only owner or admin",
        "invited": user.invited_at is not None,
        "invited_at": when(user.invited_at),
        "last_login": when(user.last_login_at),
        "editable": user.role != "owner" or Permission.OWNERS_MANAGE in caller.permissions,
    }


def _team_page(
    request: Request, session: Session, caller: Principal, refusal: Refusal = NO_REFUSAL
) -> HTMLResponse:
    users = accounts.list_users(session, caller.organisation_id)
    typed = {k: v for k, v in (refusal.form or {}).items() if isinstance(v, str)}
    context = {
        "rows": [_row(user, caller, users) for user in users],
        "roles": _grantable(caller),
        "role_help": ROLE_HELP,
        "errors": refusal.errors,
        "typed": typed,
        "notice": _notice(request),
        "can_audit": Permission.AUDIT_READ in caller.permissions,
    }
    return render_page(request, "app/team/list.html", context, refusal.status_code)


def _forbidden(error: HTTPException) -> PageProblem:
    return PageProblem(403, "Not allowed", f"{str(error.detail).capitalize()}.")


def _missing() -> PageProblem:
    return PageProblem(404, "Not found", "There is no such user in your organisation.")


async def _form_caller(request: Request, session: Session) -> tuple[Principal, FormData]:
    return await page_forms.form_caller(request, session, Permission.USERS_MANAGE)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.get(TEAM_PAGE, response_class=HTMLResponse)
def team_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    return permitted_page(request, session, caller, Permission.USERS_MANAGE, _team_page)


def _inviter(session: Session, caller: Principal) -> str | None:
    if caller.user_id is None:
        return None
    me = accounts.get_user(session, caller.organisation_id, caller.user_id)
    return me.name or me.email


@router.post(TEAM_PAGE + "/invite")
async def invite_form(request: Request, session: DbSession) -> Response:
    try:
        caller, form = await _form_caller(request, session)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, TEAM_PAGE)
    role = _text(form, "role")
    try:
        user_changes.may_grant(caller, role)
        user = user_invitations.invite(
            session,
            caller.organisation_id,
            email=_text(form, "email"),
            role=role,
            name=_text(form, "name") or None,
        )
        links = AccountLinks.from_settings(app_state(request).settings)
        user_emails.enqueue_invitation(session, links, user, inviter=_inviter(session, caller))
        audit.record(session, caller, "invite", "user", user.id, {"role": user.role})
        session.commit()
    except HTTPException as error:
        return page_forms.form_problem(request, _forbidden(error), TEAM_PAGE)
    except (Invalid, Conflict) as error:
        session.rollback()
        return _team_page(request, session, caller, refused(error, form))
    return RedirectResponse(TEAM_PAGE + "?done=invited", status_code=303)


async def _change(request: Request, session: Session, user_id: int, field: str) -> Response:
    """A change of one user's role or active flag, from its form on the team page."""
    try:
        caller, form = await _form_caller(request, session)
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, TEAM_PAGE)
    if field == "role":
        changes: dict[str, Any] = {"role": _text(form, "role")}
        done = "role"
    else:
        active = _text(form, "active") == "yes"
        changes = {"is_active": active}
        done = "reactivated" if active else "deactivated"
    try:
        user_changes.update_user(session, caller, user_id, changes)
        session.commit()
    except HTTPException as error:
        return page_forms.form_problem(request, _forbidden(error), TEAM_PAGE)
    except NotFound:
        return page_forms.form_problem(request, _missing(), TEAM_PAGE)
    except (Invalid, Conflict) as error:
        session.rollback()
        return _team_page(request, session, caller, refused(error, name=f"{field}-{user_id}"))
    return RedirectResponse(f"{TEAM_PAGE}?done={done}#user-{user_id}", status_code=303)


@router.post(TEAM_PAGE + "/{user_id}/role")
async def role_form(request: Request, user_id: UserPath, session: DbSession) -> Response:
    return await _change(request, session, user_id, "role")


@router.post(TEAM_PAGE + "/{user_id}/active")
async def active_form(request: Request, user_id: UserPath, session: DbSession) -> Response:
    return await _change(request, session, user_id, "active")


@router.post(TEAM_PAGE + "/{user_id}/resend")
async def resend_form(request: Request, user_id: UserPath, session: DbSession) -> Response:
    try:
        caller, _ = await _form_caller(request, session)
        target = accounts.get_user(session, caller.organisation_id, user_id)
        if target.role == "owner":
            user_changes.may_touch_owner(caller)
        user = user_invitations.renew(session, caller.organisation_id, user_id)
        links = AccountLinks.from_settings(app_state(request).settings)
        user_emails.enqueue_invitation(session, links, user, inviter=_inviter(session, caller))
        audit.record(session, caller, "resend_invitation", "user", user.id)
        session.commit()
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, TEAM_PAGE)
    except HTTPException as error:
        return page_forms.form_problem(request, _forbidden(error), TEAM_PAGE)
    except NotFound:
        return page_forms.form_problem(request, _missing(), TEAM_PAGE)
    except Invalid as error:
        session.rollback()
        return _team_page(request, session, caller, refused(error, name=f"resend-{user_id}"))
    return RedirectResponse(f"{TEAM_PAGE}?done=resent#user-{user_id}", status_code=303)


# --------------------------------------------------------------------------- one's profile


def _account_page(
    request: Request,
    session: Session,
    caller: Principal,
    *,
    errors: dict[str, str] | None = None,
    typed_name: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert caller.user_id is not None
    me = accounts.get_user(session, caller.organisation_id, caller.user_id)
    organisation = accounts.get_organisation(session, caller.organisation_id)
    context = {
        "me": me,
        "organisation": organisation,
        "typed": {"name": (me.name or "") if typed_name is None else typed_name},
        "errors": errors or {},
        "notice": _notice(request),
        "role_help": ROLE_HELP.get(me.role, ""),
        "can_manage_team": Permission.USERS_MANAGE in caller.permissions,
        "last_login": when(me.last_login_at),
    }
    return render_page(request, "app/account/profile.html", context, status_code)


_NO_KEYS = PageProblem(403, "Not allowed", "API keys have no profile: log in as a user.")


@router.get(ACCOUNT_PAGE, response_class=HTMLResponse)
def account_page(request: Request, caller: PageCaller, session: DbSession) -> HTMLResponse:
    if caller.user_id is None:
        return problem_page(request, _NO_KEYS)
    return _account_page(request, session, caller)


@router.post(ACCOUNT_PAGE)
async def account_form(request: Request, session: DbSession) -> Response:
    try:
        # Every role reads surveys: the permission of being a member at all.
        caller, form = await page_forms.form_caller(request, session, Permission.SURVEYS_READ)
        if caller.user_id is None:
            raise _NO_KEYS
    except PageProblem as problem:
        return page_forms.form_problem(request, problem, ACCOUNT_PAGE)
    name = _text(form, "name")
    try:
        accounts.update_user(session, caller.organisation_id, caller.user_id, name=name or None)
        audit.record(session, caller, "update", "user", caller.user_id, {"fields": ["name"]})
        session.commit()
    except Invalid as error:
        session.rollback()
        errors = {"name": error.message}
        return _account_page(
            request, session, caller, errors=errors, typed_name=name, status_code=422
        )
    return RedirectResponse(ACCOUNT_PAGE + "?done=name", status_code=303)
