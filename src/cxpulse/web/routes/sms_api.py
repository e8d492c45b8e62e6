"""SMS: the address the provider posts replies to (opt-out by keyword), and what an
administrator needs to connect the provider.

    POST /api/v1/sms/{token}/incoming   a reply (public; Twilio's form fields From, Body;
                                        signed with X-Twilio-Signature); answers TwiML
    GET  /api/v1/sms/settings           the organisation's reply address, and whether SMS
                                        is configured
    GET  /api/v1/sms/opt-outs           the numbers that opted out, latest first

The reply address holds a signed token naming the organisation; the provider's signature
(HMAC-SHA1 of the address and the sorted form fields, keyed by the account's auth token) is
checked against the public address (``CXPULSE_PUBLIC_URL``), which is the one the provider
was given, whatever proxies stand between. A reply that is an opt-out keyword (STOP, STOPP,
AVSLUTA, UIT ...) records the opt-out and is answered in its language; START undoes it.
"""

from __future__ import annotations

import functools
import urllib.parse
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from cxpulse.collect import sms
from cxpulse.signing import Signer
from cxpulse.store import sms_opt_outs
from cxpulse.web.access import Principal, require
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.routes.common import problems
from cxpulse.web.state import AppState, app_state, database_turn
from cxpulse.web.tokens import retry_after_header

router = APIRouter(tags=["sms"])

CanManageIntegrations = Annotated[Principal, Depends(require(Permission.INTEGRATIONS_MANAGE))]
TWIML = "application/xml"
MAX_FORM_BYTES = 20_000
"""A reply's form is a few hundred bytes; more is not the provider."""


class SmsSetup(BaseModel):
    configured: bool = Field(description="Whether the server has an SMS provider's account.")
    sender: str | None = Field(description="The number (or sender id) messages come from.")
    incoming_url: str = Field(
        description="Give this address to the provider as the number's webhook for incoming "
        "messages (HTTP POST), so that STOP replies reach cxpulse."
    )


class SmsOptOutOut(BaseModel):
    phone: str
    keyword: str
    at: datetime


class SmsOptOutList(BaseModel):
    items: list[SmsOptOutOut]


@functools.cache
def _signer(secret_key: str, previous: tuple[str, ...]) -> Signer:
    return Signer(secret_key, previous)


def _signer_of(state: AppState) -> Signer:
    settings = state.settings
    return _signer(settings.secret_key, tuple(settings.previous_secret_keys))


def sms_settings(request: Request) -> sms.SmsSettings:
    """The app's SMS settings: those the app was given, else those of its ``Settings``."""
    given = getattr(request.app.state, "sms_settings", None)
    if isinstance(given, sms.SmsSettings):
        return given
    return sms.SmsSettings.from_settings(app_state(request).settings)


def _public_url(state: AppState) -> str:
    return str(state.settings.public_url).rstrip("/")


def _twiml(message: str | None, status_code: int = 200) -> Response:
    return Response(sms.twiml(message), status_code, media_type=TWIML)


@router.post("/api/v1/sms/{token}/incoming", include_in_schema=False)
async def incoming_sms(token: str, request: Request) -> Response:
    state = app_state(request)
    client = request.client.host if request.client else "unknown"
    wait = await state.public_limiter.take_async(client)
    if wait:
        return Response("too many requests", 429, headers={"Retry-After": retry_after_header(wait)})
    organisation_id = sms.incoming_organisation(_signer_of(state), token)
    if organisation_id is None:
        return Response("no SMS reply address has this token", 404, media_type="text/plain")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return Response("the form is too large", 413, media_type="text/plain")
    params = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    url = _public_url(state) + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    settings = sms_settings(request)
    signature = request.headers.get("x-twilio-signature", "")
    if not sms.signature_matches(settings.token, url, params, signature):
        return Response(
            "the X-Twilio-Signature does not match this address and the account's token",
            401,
            media_type="text/plain",
        )
    form = dict(params)

    def take() -> str | None:
        with state.sessions() as session:
            reply = sms.take_reply(
                session, organisation_id, form.get("From", ""), form.get("Body", "")
            )
            session.commit()
            return reply

    async with database_turn(state, writes=True):
        reply = await run_in_threadpool(take)
    return _twiml(reply)


@router.get(
    "/api/v1/sms/settings",
    operation_id="getSmsSettings",
    summary="The SMS reply address and whether SMS is configured",
    response_model=SmsSetup,
    responses=problems(),
)
def get_sms_settings(request: Request, caller: CanManageIntegrations) -> SmsSetup:
    state = app_state(request)
    settings = sms_settings(request)
    token = sms.incoming_token(_signer_of(state), caller.organisation_id)
    return SmsSetup(
        configured=settings.enabled,
        sender=settings.sender or None,
        incoming_url=f"{_public_url(state)}/api/v1/sms/{token}/incoming",
    )


@router.get(
    "/api/v1/sms/opt-outs",
    operation_id="listSmsOptOuts",
    summary="The numbers that opted out of SMS",
    response_model=SmsOptOutList,
    responses=problems(),
)
def list_sms_opt_outs(
    caller: CanManageIntegrations,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SmsOptOutList:
    found = sms_opt_outs.list_opt_outs(session, caller.organisation_id, limit=limit)
    return SmsOptOutList(
        items=[SmsOptOutOut(phone=o.phone, keyword=o.keyword, at=o.at) for o in found]
    )
