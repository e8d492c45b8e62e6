"""Privacy requests through API v1: a contact's data exported or erased (GDPR art. 15, 17,
20), and the organisation's retention of answers and cases. Admins only (``PRIVACY_MANAGE``);
every action is in the audit log, never the data itself."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from cxpulse.act import contact_privacy
from cxpulse.store import retention
from cxpulse.web import audit
from cxpulse.web.access import Principal, require
from cxpulse.web.deps import DbSession
from cxpulse.web.permissions import Permission
from cxpulse.web.privacy_schemas import (
    EraseIn,
    ErasureCountsOut,
    ErasureMode,
    ErasureOut,
    RetentionAction,
    RetentionIn,
    RetentionOut,
)
from cxpulse.web.routes.common import ContactId, problems
from cxpulse.web.security_headers import EXPORT_CSP
from cxpulse.web.state import AppState, app_state, database_turn

router = APIRouter(tags=["privacy"])

CanManagePrivacy = Annotated[Principal, Depends(require(Permission.PRIVACY_MANAGE))]


def _record_export(state: AppState, caller: Principal, contact_id: int) -> None:
    with state.sessions.begin() as session:
        contact_privacy.record_export(
            session, caller.organisation_id, contact_id, actor=caller.actor
        )


async def _record_export_after(state: AppState, caller: Principal, contact_id: int) -> None:
    # A GET reads through a read-only session: the entry is written in a turn of its own
    # once the export is sent.
    async with database_turn(state, writes=True):
        await run_in_threadpool(_record_export, state, caller, contact_id)


@router.get(
    "/api/v1/contacts/{contact_id}/data",
    operation_id="exportContactData",
    summary="Everything held about a contact, as a JSON file",
    description="The contact, their answers (with comment analysis, themes, tags and rule "
    "matches), invitations (with their emails and the inbound events that made them), "
    "follow-up cases with their history, referral codes, and the opt-outs of their address "
    "and phone. The export is recorded in the audit log.",
    response_model=dict[str, Any],
    responses=problems(404),
)
def export_contact_data(
    contact_id: ContactId,
    request: Request,
    background: BackgroundTasks,
    caller: CanManagePrivacy,
    session: DbSession,
) -> JSONResponse:
    document = contact_privacy.export_contact(session, caller.organisation_id, contact_id)
    background.add_task(_record_export_after, app_state(request), caller, contact_id)
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="contact-{contact_id}.json"',
            "Cache-Control": "no-store",
            # A download, like the exports: sandboxed if a browser ever renders it.
            "Content-Security-Policy": EXPORT_CSP,
        },
    )


@router.post(
    "/api/v1/contacts/{contact_id}/erase",
    operation_id="eraseContact",
    summary="Erase or anonymise a contact everywhere",
    description="In one transaction: the contact row, their invitations and the emails "
    "queued for them are deleted; their answers are anonymised (scores kept for statistics) "
    "or deleted; their cases lose every note and email (or are deleted). `confirm` must "
    "repeat the contact's id or e-mail address. Erasing an erased contact again changes "
    "nothing (`already_erased`).",
    response_model=ErasureOut,
    responses=problems(404),
)
def erase_contact(
    contact_id: ContactId, body: EraseIn, caller: CanManagePrivacy, session: DbSession
) -> ErasureOut:
    erasure = contact_privacy.erase_contact(
        session,
        caller.organisation_id,
        contact_id,
        mode=body.mode,
        confirmation=body.confirm,
        actor=caller.actor,
        keep_opt_outs=body.keep_opt_outs,
    )
    session.commit()
    return ErasureOut(
        contact_id=erasure.contact_id,
        mode=cast(ErasureMode, erasure.mode),
        already_erased=erasure.already_erased,
        counts=ErasureCountsOut(**erasure.counts.as_dict()),
    )


def _retention_out(policy: retention.Policy) -> RetentionOut:
    return RetentionOut(months=policy.months, action=cast(RetentionAction, policy.action))


@router.get(
    "/api/v1/organisation/retention",
    operation_id="getRetention",
    summary="How long answers and cases are kept",
    response_model=RetentionOut,
    responses=problems(),
)
def get_retention(caller: CanManagePrivacy, session: DbSession) -> RetentionOut:
    return _retention_out(retention.get_policy(session, caller.organisation_id))


@router.put(
    "/api/v1/organisation/retention",
    operation_id="putRetention",
    summary="Set how long answers and cases are kept",
    description="Answers and follow-up cases older than `months` are deleted or anonymised "
    "(`action`) by the worker once a day, in batches; `months` null keeps everything.",
    response_model=RetentionOut,
    responses=problems(),
)
def put_retention(body: RetentionIn, caller: CanManagePrivacy, session: DbSession) -> RetentionOut:
    policy = retention.set_policy(session, caller.organisation_id, body.months, body.action)
    audit.record(
        session,
        caller,
        "update",
        "retention",
        caller.organisation_id,
        {"months": policy.months, "action": policy.action},
    )
    session.commit()
    return _retention_out(policy)
