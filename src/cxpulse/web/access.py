"""Who is calling, and may they: API keys, browser sessions, CSRF and the role check.

A browser session is a signed cookie (``tokens``) naming a session kept on the server
(``store.web_sessions``): each request looks it up with one indexed query, so that a
session ended anywhere (logout, "sign out everywhere", an admin, a password change, a
deactivated user) is refused by every process at once. Its last use is recorded at most
once a minute, after the answer.

Every route declares exactly one of the ``Can*`` dependencies below (or ``Caller``); it
authenticates the request and checks one permission of ``permissions.ROLE_PERMISSIONS``.
Routes then pass ``caller.organisation_id`` to every repository call, which is what keeps
organisations apart: another organisation's rows are simply not found.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import BackgroundTasks, Depends, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cxpulse.store import accounts, audit, web_sessions
from cxpulse.store.types import utc_now
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission, key_permissions, role_permissions
from cxpulse.web.state import SAFE_METHODS, AppState, app_state, database_turn
from cxpulse.web.tokens import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, SessionData

logger = logging.getLogger("cxpulse.web")

# Declared for the OpenAPI document (the "Authorize" button of /docs); parsing is done below.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key: `Authorization: Bearer cxp_...`. Create one under /api/v1/api-keys.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The browser session set by POST /api/v1/auth/login. Unsafe requests also "
    f"need the `{CSRF_HEADER}` header equal to the `{CSRF_COOKIE}` cookie.",
)


@dataclass(frozen=True)
class Principal:
    organisation_id: int
    permissions: frozenset[Permission]
    user_id: int | None = None
    role: str | None = None
    """The user's role; None for an API key."""
    api_key_id: int | None = None
    key_scope: str | None = None
    session_id: int | None = None
    """The browser session the user called with; None for an API key."""

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        if self.user_id is not None:
            return audit.user_actor(self.user_id)
        assert self.api_key_id is not None
        return audit.api_key_actor(self.api_key_id)


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": "Bearer"})


def _touch_key(state: AppState, key_id: int) -> None:
    """Record that a key was used, at most once a minute (``accounts.LAST_USED_RESOLUTION``)."""
    try:
        with state.sessions() as session:
            accounts.touch_api_keys(session, (key_id,))
            session.commit()
    except OperationalError as error:  # busy: a later request records it
        logger.debug("could not record the use of api key %s: %s", key_id, error)


async def _touch_key_after(state: AppState, key_id: int) -> None:
    async with database_turn(state, writes=True):
        await run_in_threadpool(_touch_key, state, key_id)


def _touch_session(state: AppState, session_id: int) -> None:
    try:
        with state.sessions() as session:
            web_sessions.touch(session, session_id)
            session.commit()
    except OperationalError as error:  # busy: a later request records it
        logger.debug("could not record the use of session %s: %s", session_id, error)


async def _touch_session_after(state: AppState, session_id: int) -> None:
    async with database_turn(state, writes=True):
        await run_in_threadpool(_touch_session, state, session_id)


def _from_api_key(
    request: Request, session: Session, background: BackgroundTasks, header: str
) -> Principal:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("the Authorization header must be 'Bearer <API key>'")
    writes = request.method not in SAFE_METHODS
    # A writing request records the use in its own transaction; a reading one (whose session
    # must not write) after the answer, in a transaction of its own.
    key = accounts.lookup_api_key(session, token.strip(), touch=writes)
    if key is None:
        raise _unauthorised("this API key is unknown or revoked")
    stale = utc_now() - accounts.LAST_USED_RESOLUTION
    if not writes and (key.last_used_at is None or key.last_used_at <= stale):
        background.add_task(_touch_key_after, app_state(request), key.id)
    return Principal(
        organisation_id=key.organisation_id,
        permissions=key_permissions(key.scope),
        api_key_id=key.id,
        key_scope=key.scope,
    )


def csrf_matches(request: Request, data: SessionData, sent: str) -> bool:
    """Double submit: the token sent (header or form field) must equal the cookie, and both
    the token of the session."""
    expected = data.csrf_token.encode()
    cookie = request.cookies.get(CSRF_COOKIE, "").encode()
    token = sent.encode()
    return bool(
        token and hmac.compare_digest(token, expected) and hmac.compare_digest(cookie, expected)
    )


def check_csrf(request: Request, data: SessionData) -> None:
    """``csrf_matches`` with the header, for API calls from a browser session."""
    if not csrf_matches(request, data, request.headers.get(CSRF_HEADER, "")):
        raise HTTPException(
            403,
            f"CSRF check failed: send the value of the {CSRF_COOKIE} cookie "
            f"in the {CSRF_HEADER} header",
        )


def _from_session_cookie(
    request: Request, session: Session, token: str, background: BackgroundTasks | None
) -> Principal:
    state = app_state(request)
    data = state.signer.loads(token)
    if data is None:
        raise _unauthorised("the session has expired; log in again")
    if request.method not in SAFE_METHODS:
        check_csrf(request, data)
    return _session_user(state, session, data, background)


def form_principal(request: Request, session: Session, form_token: str) -> Principal:
    """The signed-in user of an HTML form post: the form's ``csrf_token`` field stands in for
    the header of ``check_csrf`` (same double submit), so that forms work without
    JavaScript."""
    state = app_state(request)
    token = request.cookies.get(SESSION_COOKIE)
    data = state.signer.loads(token) if token else None
    if data is None:
        raise _unauthorised("the session has expired; log in again")
    if not csrf_matches(request, data, form_token):
        raise HTTPException(403, "the form was stale: reload the page and try again")
    return _session_user(state, session, data, None)


def _session_user(
    state: AppState, session: Session, data: SessionData, background: BackgroundTasks | None
) -> Principal:
    found = web_sessions.lookup(session, data.secret)
    if found is None:
        raise _unauthorised("the session has ended; log in again")
    # After the answer, in a transaction of its own: never a write inside a reading request
    # (nor a row lock held while a long writing request runs). Form posts skip it: the page
    # they came from recorded the use.
    if background is not None and found.needs_touch(utc_now()):
        background.add_task(_touch_session_after, state, found.id)
    return Principal(
        organisation_id=found.organisation_id,
        permissions=role_permissions(found.role),
        user_id=found.user_id,
        role=found.role,
        session_id=found.id,
    )


def authenticate(
    request: Request,
    session: DbSession,
    background: BackgroundTasks,
    _bearer: Annotated[object, Security(bearer_scheme)],
    _cookie: Annotated[object, Security(cookie_scheme)],
) -> Principal:
    """The caller: an API key (``Authorization: Bearer``) wins over a session cookie.

    Looked up in the request's own session: one connection and one transaction a request.
    """
    header = request.headers.get("authorization")
    if header is not None:
        return _from_api_key(request, session, background, header)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return _from_session_cookie(request, session, token, background)
    raise _unauthorised("authentication needed: an API key (Authorization: Bearer) or a session")


Caller = Annotated[Principal, Depends(authenticate)]


def _key_principal(state: AppState, token: str) -> Principal | None:
    with state.read_sessions() as session:
        key = accounts.lookup_api_key(session, token, touch=False)
        if key is None:
            return None
        return Principal(
            organisation_id=key.organisation_id,
            permissions=key_permissions(key.scope),
            api_key_id=key.id,
            key_scope=key.scope,
        )


def _cookie_principal(
    request: Request, state: AppState, token: str, background: BackgroundTasks | None
) -> Principal:
    with state.read_sessions() as session:
        return _from_session_cookie(request, session, token, background)


SUBMITTER_SECURITY: list[dict[str, list[str]]] = [
    {bearer_scheme.scheme_name: []},
    {cookie_scheme.scheme_name: []},
]
"""The OpenAPI ``security`` of routes using ``submitter``, which leaves out the two
``Security`` parameters of ``authenticate``: it parses the same credentials itself, and each
dependency costs time on every request."""


async def submitter(request: Request) -> Principal:
    """``authenticate`` and ``require(RESPONSES_SUBMIT)`` for the busiest route, without a
    database session held for the request.

    An API key is looked up once and then remembered for a few seconds (``key_cache``); the
    transaction that stores the response checks that the key is still not revoked, and
    records its use (``submissions``). A browser session is checked as ``authenticate``
    does, CSRF included.
    """
    state = app_state(request)
    header = request.headers.get("authorization")
    if header is not None:
        return await key_submitter(state, header)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _unauthorised(
            "authentication needed: an API key (Authorization: Bearer) or a session"
        )
    async with database_turn(state, writes=False):
        # No record of the session's use: machines submit with keys, and a person's
        # pages record it.
        caller = await run_in_threadpool(_cookie_principal, request, state, cookie, None)
    return _may_submit(caller)


async def key_submitter(state: AppState, authorization: str) -> Principal:
    """``submitter`` for a request with this Authorization header."""
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorised("the Authorization header must be 'Bearer <API key>'")
    caller = state.api_keys.get(token)
    if caller is None:
        async with database_turn(state, writes=False):
            caller = await run_in_threadpool(_key_principal, state, token)
        if caller is None:
            raise _unauthorised("this API key is unknown or revoked")
        assert caller.api_key_id is not None
        state.api_keys.put(token, caller.api_key_id, caller)
    return _may_submit(caller)


def _may_submit(caller: Principal) -> Principal:
    if Permission.RESPONSES_SUBMIT not in caller.permissions:
        raise HTTPException(
            403, f"not allowed: this needs the {Permission.RESPONSES_SUBMIT} permission"
        )
    return caller


CanSubmitOneResponse = Annotated[Principal, Depends(submitter)]
"""Like ``CanSubmitResponses``, for ``POST /surveys/{id}/responses`` (see ``submitter``)."""

SESSION_SECURITY: list[dict[str, list[str]]] = [{cookie_scheme.scheme_name: []}]
"""The OpenAPI ``security`` of routes using ``session_caller``."""


async def session_caller(request: Request, background: BackgroundTasks) -> Principal:
    """The user of a browser session (CSRF checked on unsafe methods), for routes that take
    their own database turns one after another (a password change: argon2 between them)
    rather than hold one for the whole request. An API key is refused with 403."""
    if "authorization" in request.headers:
        raise HTTPException(403, "not allowed: only a user logged in with a browser session can")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise _unauthorised("authentication needed: log in (POST /api/v1/auth/login)")
    state = app_state(request)
    async with database_turn(state, writes=False):
        return await run_in_threadpool(_cookie_principal, request, state, cookie, background)


SessionCaller = Annotated[Principal, Depends(session_caller)]


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency answering 403 unless the caller holds ``permission``."""

    async def check(caller: Caller) -> Principal:
        if permission not in caller.permissions:
            raise HTTPException(403, f"not allowed: this needs the {permission} permission")
        return caller

    check.__name__ = f"require_{permission.name.lower()}"
    return check


P = Permission
CanReadSurveys = Annotated[Principal, Depends(require(P.SURVEYS_READ))]
CanWriteSurveys = Annotated[Principal, Depends(require(P.SURVEYS_WRITE))]
CanDeleteSurveys = Annotated[Principal, Depends(require(P.SURVEYS_DELETE))]
CanReadMetrics = Annotated[Principal, Depends(require(P.METRICS_READ))]
CanReadResponses = Annotated[Principal, Depends(require(P.RESPONSES_READ))]
CanSubmitResponses = Annotated[Principal, Depends(require(P.RESPONSES_SUBMIT))]
CanDeleteResponses = Annotated[Principal, Depends(require(P.RESPONSES_DELETE))]
CanReadContacts = Annotated[Principal, Depends(require(P.CONTACTS_READ))]
CanWriteContacts = Annotated[Principal, Depends(require(P.CONTACTS_WRITE))]
CanExport = Annotated[Principal, Depends(require(P.EXPORTS))]
CanManageUsers = Annotated[Principal, Depends(require(P.USERS_MANAGE))]
CanManageKeys = Annotated[Principal, Depends(require(P.KEYS_MANAGE))]
CanReadAudit = Annotated[Principal, Depends(require(P.AUDIT_READ))]
