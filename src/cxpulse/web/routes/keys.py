"""API keys: create (the key is shown once), list, revoke. Owners and admins only."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from cxpulse.store import accounts
from cxpulse.web import audit
from cxpulse.web.access import CanManageKeys
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import KeyId, problems
from cxpulse.web.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut
from cxpulse.web.state import app_state

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"])


@router.get(
    "",
    operation_id="listApiKeys",
    summary="List API keys",
    description="Revoked keys included; the keys themselves are never shown again.",
    response_model=ApiKeyList,
    responses=problems(),
)
def list_api_keys(caller: CanManageKeys, session: DbSession) -> ApiKeyList:
    keys = accounts.list_api_keys(session, caller.organisation_id)
    return ApiKeyList(items=[ApiKeyOut.model_validate(key) for key in keys])


@router.post(
    "",
    operation_id="createApiKey",
    summary="Create an API key",
    description="The answer's `key` is the only time the key is shown: store it now.",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=problems(),
)
def create_api_key(body: ApiKeyCreate, caller: CanManageKeys, session: DbSession) -> ApiKeyCreated:
    key, plaintext = accounts.create_api_key(
        session,
        caller.organisation_id,
        name=body.name,
        scope=body.scope,
        created_by=caller.user_id,
    )
    audit.record(
        session, caller, "create", "api_key", key.id, {"name": key.name, "scope": key.scope}
    )
    session.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plaintext)


@router.post(
    "/{key_id}/revoke",
    operation_id="revokeApiKey",
    summary="Revoke an API key",
    description="The key stops working at once. Revoking a revoked key changes nothing.",
    response_model=ApiKeyOut,
    responses=problems(404),
)
def revoke_api_key(
    request: Request, key_id: KeyId, caller: CanManageKeys, session: DbSession
) -> ApiKeyOut:
    key = accounts.revoke_api_key(session, caller.organisation_id, key_id)
    audit.record(session, caller, "revoke", "api_key", key.id)
    session.commit()
    # Other processes notice at their next submission's transaction (see ``key_cache``).
    app_state(request).api_keys.forget(key.id)
    return ApiKeyOut.model_validate(key)
