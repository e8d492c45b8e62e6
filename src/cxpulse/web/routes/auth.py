"""Browser sessions: log in, log out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from cxpulse.store import accounts, audit
from cxpulse.web.access import Caller, check_csrf
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.schemas import ApiKeyOut, LoginIn, LoginOut, Me, OrganisationOut, Problem, UserOut
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import CSRF_COOKIE, SESSION_COOKIE, SessionData, retry_after_header

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _find_user(state: AppState, email: str) -> accounts.LoginCandidate | None:
    with state.read_sessions() as session:
        return accounts.find_login(session, email)


def _record_login(state: AppState, checked: accounts.CheckedLogin) -> tuple[SessionData, LoginOut]:
    with state.sessions() as session:
        user = accounts.record_login(session, checked)
        if user is None:
            # Deactivated between the check and now.
            raise HTTPException(401, "wrong email or password")
        organisation = accounts.get_organisation(session, user.organisation_id)
        audit.record(
            session,
            user.organisation_id,
            actor=audit.user_actor(user.id),
            action="login",
            entity="user",
            entity_id=user.id,
        )
        session.commit()
        data = state.signer.issue(user.id, user.password_hash)
        result = LoginOut(
            user=UserOut.model_validate(user),
            organisation=OrganisationOut.model_validate(organisation),
            csrf_token=data.csrf_token,
        )
    return data, result


@router.post(
    "/login",
    operation_id="login",
    summary="Log in with email and password",
    description="Sets the session cookie (HttpOnly, SameSite=Lax, Secure unless "
    "CXPULSE_COOKIE_SECURE=false) and the cxpulse_csrf cookie. Attempts are limited per "
    "client address; over the limit the answer is 429 with Retry-After.",
    response_model=LoginOut,
    responses={
        401: {"model": Problem, "description": "Wrong email or password."},
        429: {"model": Problem, "description": "Too many attempts; see Retry-After."},
        **{k: v for k, v in problems().items() if k == 422},
    },
)
async def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    state = app_state(request)
    wait = state.login_limiter.take(_client(request))
    if wait > 0:
        raise HTTPException(
            429,
            "too many login attempts from this address; retry later",
            headers={"Retry-After": retry_after_header(wait)},
        )
    async with database_turn(state, writes=False):
        found = await run_in_threadpool(_find_user, state, body.email)
    # Outside any database session: argon2 takes tens of milliseconds, and on SQLite a
    # writing session would hold the database's write lock all that time.
    checked = await run_in_threadpool(accounts.check_login, found, body.password)
    if checked is None:
        raise HTTPException(401, "wrong email or password")
    async with database_turn(state, writes=True):
        data, result = await run_in_threadpool(_record_login, state, checked)
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
    return result


@router.post(
    "/logout",
    operation_id="logout",
    summary="Log out",
    description="Deletes the session cookies. With a valid session it needs the CSRF header.",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={403: {"model": Problem, "description": "The CSRF check failed."}},
)
def logout(request: Request) -> Response:
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    if data is not None:
        check_csrf(request, data)
    answer = Response(status_code=status.HTTP_204_NO_CONTENT)
    secure = state.options.cookie_secure
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        answer.delete_cookie(name, path="/", secure=secure, samesite="lax")
    return answer


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
