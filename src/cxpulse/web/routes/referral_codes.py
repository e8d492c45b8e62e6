"""Referral codes through API v1: the organisation's shop redeems a promoter's personal
code, once.

Redeeming needs ``responses:submit``: like an answer, it records what a customer did, and
the shop's integration redeems with the same write key it submits answers with (an agent
at the till may too); it changes no survey, so ``surveys:write`` would ask for more than it
needs, and read-only keys and viewers cannot redeem.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from cxpulse.store import referral_codes
from cxpulse.web import audit
from cxpulse.web.access import CanSubmitResponses
from cxpulse.web.deps import DbSession
from cxpulse.web.routes.common import problems
from cxpulse.web.rule_schemas import RedeemIn, RedeemOut

router = APIRouter(prefix="/api/v1/referral-codes", tags=["referral codes"])

Code = Annotated[
    str,
    Path(
        min_length=1,
        max_length=32,
        description="The code as the customer gave it (any case, with or without the dash).",
    ),
]


@router.post(
    "/{code}/redeem",
    operation_id="redeemReferralCode",
    summary="Redeem a referral code",
    description="Marks the code used for `reference`. 404: no such code in the "
    "organisation; 409: redeemed before (codes are single-use).",
    response_model=RedeemOut,
    responses=problems(404, 409),
)
def redeem(code: Code, body: RedeemIn, caller: CanSubmitResponses, session: DbSession) -> RedeemOut:
    redeemed = referral_codes.redeem(session, caller.organisation_id, code, body.reference)
    audit.record(
        session, caller, "redeem", "referral_code", redeemed.code, {"reference": body.reference}
    )
    session.commit()
    return RedeemOut(
        code=redeemed.code,
        response_id=redeemed.response_id,
        survey_id=redeemed.survey_id,
        contact_id=redeemed.contact_id,
        redeemed_at=redeemed.redeemed_at,
        reference=redeemed.reference,
    )
