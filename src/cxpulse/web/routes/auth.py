"""Browser sessions: log in, log out, change one's password, and who am I.

A login passes three gates before its password is checked: the per-address rate limit
(``CXPULSE_LOGIN_BURST``/``_PER_MINUTE``, in memory), then the lockouts of the account kept
in the database (``store.login_attempts``: per account and address, and a softer one per
account). Each refusal is a 429 with ``Retry-After`` and says why. A wrong password is
counted; the one that starts a lock queues an email to the account (``act.login_notices``).
A right one starts a new server-side session (``store.web_sessions``) every time, and ends
the one the browser presented, if any.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from cxpulse.act import login_notices
from cxpulse.store import accounts, audit, login_attempts, security, web_sessions
from cxpulse.store.errors import Invalid
from cxpulse.store.models import User
from cxpulse.store.types import utc_now
from cxpulse.web import user_agents
from cxpulse.web.access import SESSION_SECURITY, Caller, Principal, SessionCaller, check_csrf
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import ApiKeyOut, LoginIn, LoginOut, Me, OrganisationOut, Problem, UserOut
from cxpulse.web.session_schemas import PasswordChange
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    SessionData,
    client_key,
    retry_after_header,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

PURGE_EVERY_SECONDS = 3600.0


def client_address(request: Request) -> str:
    """The client's address as the server saw it: the connection's, or the one a trusted
    proxy forwarded (``CXPULSE_TRUSTED_PROXIES``, applied by ``cxpulse serve``)."""
    return request.client.host if request.client else "unknown"


def locked_out(refusal: login_attempts.Refusal) -> HTTPException:
    wait = refusal.wait.total_seconds()
    if refusal.reason == "source":
        message = (
            "too many wrong passwords for this account from your address: logins from it "
            f"are paused; try again in {login_notices.duration(wait)}"
        )
    else:
        message = (
            "too many wrong passwords for this account from several addresses: try again in "
            f"{login_notices.duration(wait)} (addresses that logged in before need not wait)"
        )
    return HTTPException(429, message, headers={"Retry-After": retry_after_header(wait)})


@dataclass(frozen=True)
class _Attempt:
    candidate: accounts.LoginCandidate | None
    account: str
    """The lockout's name of the account (``login_attempts.user_account``/``address_account``)."""
    source: str
    refusal: login_attempts.Refusal | None


def _look_up(state: AppState, email: str, source: str) -> _Attempt:
    with state.read_sessions() as session:
        found = accounts.find_login(session, email)
        account = (
            login_attempts.user_account(found.user_id)
            if found is not None
            else login_attempts.address_account(email)
        )
        refused = login_attempts.refusal(session, account, source, policy=state.lockout)
    return _Attempt(found, account, source, refused)


def _record_failure(state: AppState, attempt: _Attempt) -> None:
    with state.sessions() as session:
        failure = login_attempts.record_failure(
            session, attempt.account, attempt.source, policy=state.lockout
        )
        if failure.lock_started and attempt.candidate is not None:
            login_notices.enqueue(
                session, attempt.candidate.user_id, source=attempt.source, failure=failure
            )
        _purge_now_and_then(state, session)
        session.commit()


def _purge_now_and_then(state: AppState, session: Session) -> None:
    """Delete stale tallies about once an hour per process, in a failure's transaction."""
    if time.monotonic() >= state.next_lockout_purge:
        state.next_lockout_purge = time.monotonic() + PURGE_EVERY_SECONDS
        login_attempts.purge(session, utc_now(), policy=state.lockout)


def _record_login(
    state: AppState, checked: accounts.CheckedLogin, attempt: _Attempt, request: Request
) -> tuple[SessionData, LoginOut]:
    with state.sessions() as session:
        user = accounts.record_login(session, checked)
        if user is None:
            # Deactivated between the check and now.
            raise HTTPException(401, "wrong email or password")
        login_attempts.record_success(session, attempt.account, attempt.source)
        replaced = _presented_secret(state, request)
        if replaced is not None:
            web_sessions.revoke_secret(session, replaced)
        data, session_id = start_session(
            state,
            session,
            user,
            user_agent=request.headers.get("user-agent"),
            source=client_address(request),
        )
        organisation = accounts.get_organisation(session, user.organisation_id)
        audit.record(
            session,
            user.organisation_id,
            actor=audit.user_actor(user.id),
            action="login",
            entity="user",
            entity_id=user.id,
            details={"session_id": session_id},
        )
        session.commit()
        result = LoginOut(
            user=UserOut.model_validate(user),
            organisation=OrganisationOut.model_validate(organisation),
            csrf_token=data.csrf_token,
        )
    return data, result


def start_session(
    state: AppState,
    session: Session,
    user: User,
    *,
    user_agent: str | None = None,
    source: str | None = None,
) -> tuple[SessionData, int]:
    """A new server-side session of ``user`` in the caller's transaction (to commit), the
    content of its cookie and its id."""
    started = web_sessions.start(
        session,
        user,
        lifetime=timedelta(seconds=state.options.session_max_age_seconds),
        user_agent=user_agents.summary(user_agent),
        source=source,
    )
    data = state.signer.issue(started.secret, expires_at=int(started.expires_at.timestamp()))
    return data, started.id


def _presented_secret(state: AppState, request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    return None if data is None else data.secret


def set_session_cookies(response: Response, state: AppState, data: SessionData) -> None:
    max_age = state.options.session_max_age_seconds
    secure = state.options.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        state.signer.dumps(data),
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE, data.csrf_token, max_age=max_age, path="/", secure=secure, samesite="lax"
    )


def clear_session_cookies(response: Response, state: AppState) -> None:
    secure = state.options.cookie_secure
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, samesite="lax")


@router.post(
    "/login",
    operation_id="login",
    summary="Log in with email and password",
    description="Starts a new session and sets its cookie (HttpOnly, SameSite=Lax, Secure "
    "unless CXPULSE_COOKIE_SECURE=false) and the cxpulse_csrf cookie. Attempts are limited "
    "per client address, and wrong passwords lock the account's logins from that address "
    "(5 in a row: 1 minute, doubling up to 1 hour) and slow them from unfamiliar addresses "
    "(20 from any: up to 1 minute apart); a refused attempt is a 429 with Retry-After.",
    response_model=LoginOut,
    responses={
        401: {"model": Problem, "description": "Wrong email or password."},
        429: {"model": Problem, "description": "Too many attempts; see Retry-After."},
        **{k: v for k, v in problems().items() if k == 422},
    },
)
async def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    state = app_state(request)
    address = client_address(request)
    wait = await state.login_limiter.take_async(address)
    if wait > 0:
        raise HTTPException(
            429,
            "too many login attempts from this address; retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
    async with database_turn(state, writes=False):
        attempt = await run_in_threadpool(_look_up, state, body.email, client_key(address))
    if attempt.refusal is not None:
        # Before the password: a locked attempt never learns whether it was right.
        raise locked_out(attempt.refusal)
    # Outside any database session: argon2 takes tens of milliseconds, and on SQLite a
    # writing session would hold the database's write lock all that time.
    checked = await run_in_threadpool(accounts.check_login, attempt.candidate, body.password)
    if checked is None:
        async with database_turn(state, writes=True):
            await run_in_threadpool(_record_failure, state, attempt)
        raise HTTPException(401, "wrong email or password")
    async with database_turn(state, writes=True):
        data, result = await run_in_threadpool(_record_login, state, checked, attempt, request)
    set_session_cookies(response, state, data)
    return result


@router.post(
    "/logout",
    operation_id="logout",
    summary="Log out",
    description="Ends the session on the server (the cookie stops working everywhere) and "
    "deletes the session cookies. With a valid session it needs the CSRF header.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={403: {"model": Problem, "description": "The CSRF check failed."}},
)
def logout(request: Request, session: DbSession) -> Response:
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    if data is not None:
        check_csrf(request, data)
        web_sessions.revoke_secret(session, data.secret)
        session.commit()
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(answer, state)
    return answer


def _user_of(caller: Principal) -> tuple[int, int]:
    """The caller's user and session; 403 for an API key, which has neither."""
    if caller.user_id is None or caller.session_id is None:
        raise HTTPException(403, "not allowed: only a user logged in with a browser session can")
    return caller.user_id, caller.session_id


def _password_check(state: AppState, user_id: int, source: str) -> str | None:
    """The user's password hash; 429 when the lockout does not let ``source`` try it now."""
    with state.read_sessions() as session:
        refused = login_attempts.refusal(
            session, login_attempts.user_account(user_id), source, policy=state.lockout
        )
        if refused is not None:
            raise locked_out(refused)
        user = session.get(User, user_id)
        return None if user is None else user.password_hash


def _wrong_current_password(state: AppState, user_id: int, source: str) -> None:
    with state.sessions() as session:
        login_attempts.record_failure(
            session, login_attempts.user_account(user_id), source, policy=state.lockout
        )
        session.commit()


def _set_password(state: AppState, caller: Principal, new_password: str) -> int:
    """Set the password, end the user's other sessions; how many ended."""
    user_id, session_id = _user_of(caller)
    with state.sessions() as session:
        accounts.set_password(session, caller.organisation_id, user_id, new_password)
        changed = accounts.get_user(session, caller.organisation_id, user_id)
        ended = web_sessions.revoke_all(session, caller.organisation_id, user_id, keep=session_id)
        web_sessions.keep_after_password_change(session, session_id, changed.password_hash)
        audit.record(
            session,
            caller.organisation_id,
            actor=caller.actor,
            action="change_password",
            entity="user",
            entity_id=user_id,
            details={"sessions_ended": ended},
        )
        session.commit()
    return ended


async def change_password(
    request: Request, caller: Principal, current_password: str, new_password: str
) -> int:
    """Check ``current_password`` (under the login lockout, so that a stolen session cannot
    guess it), set ``new_password`` and end every other session of the user; how many ended.

    Raises HTTPException 429 when locked, ``Invalid`` naming ``current_password`` when it is
    wrong, or ``new_password``'s when that is refused."""
    state = app_state(request)
    user_id, _ = _user_of(caller)
    source = client_key(client_address(request))
    async with database_turn(state, writes=False):
        known_hash = await run_in_threadpool(_password_check, state, user_id, source)
    # Argon2 outside any turn, as a login does.
    right = known_hash is not None and await run_in_threadpool(
        security.verify_password, current_password, known_hash
    )
    if not right:
        async with database_turn(state, writes=True):
            await run_in_threadpool(_wrong_current_password, state, user_id, source)
        raise Invalid("current_password", "is not your current password")
    async with database_turn(state, writes=True):
        return await run_in_threadpool(_set_password, state, caller, new_password)


@router.post(
    "/password",
    operation_id="changePassword",
    summary="Change my password",
    description="Needs the current password (wrong ones count towards the login lockout). "
    "Every other session of the user ends; this one stays. Browser sessions only (with the "
    "CSRF header); an API key gets 403.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        **problems(),
        429: {"model": Problem, "description": "Too many wrong passwords; see Retry-After."},
    },
    openapi_extra={"security": SESSION_SECURITY},
)
async def change_my_password(
    body: PasswordChange, request: Request, caller: SessionCaller
) -> Response:
    await change_password(request, caller, body.current_password, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me",
    operation_id="getMe",
    summary="Who is calling",
    description="The caller's organisation, user or API key, and permissions.",
    response_model=Me,
    responses=problems(),
)
def get_me(caller: Caller, session: DbSession) -> Me:
    organisation = accounts.get_organisation(session, caller.organisation_id)
    user = (
        accounts.get_user(session, caller.organisation_id, caller.user_id)
        if caller.user_id is not None
        else None
    )
    key = (
        accounts.get_api_key(session, caller.organisation_id, caller.api_key_id)
        if caller.api_key_id is not None
        else None
    )
    return Me(
        organisation=OrganisationOut.model_validate(organisation),
        user=UserOut.model_validate(user) if user else None,
        api_key=ApiKeyOut.model_validate(key) if key else None,
        permissions=sorted(p.value for p in caller.permissions),
    )
