"""Bodies and answers of the privacy routes: a contact's erasure, the retention policy."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from cxpulse.store.retention import MAX_MONTHS
from cxpulse.web.schemas import Body

ErasureMode = Literal["anonymise", "delete"]
RetentionAction = Literal["anonymise", "delete"]


class EraseIn(Body):
    mode: ErasureMode = Field(
        description="`anonymise`: answers keep their scores (survey, time, channel, "
        "touchpoint) for statistics and lose identity, comment and identifying properties; "
        "`delete`: the answers go too, the daily counts updated.",
        examples=["anonymise"],
    )
    confirm: Annotated[str, StringConstraints(min_length=1, max_length=320)] = Field(
        description="The contact's id or e-mail address, repeated, so that a wrong id in "
        "the path erases nobody.",
        examples=["1234"],
    )
    keep_opt_outs: StrictBool = Field(
        True,
        description="Keep the unsubscribe of the address and the SMS opt-out of the phone, so "
        "that a later import of the same person is still not written to.",
    )


class ErasureCountsOut(BaseModel):
    responses_anonymised: int
    responses_deleted: int
    cases_anonymised: int
    cases_deleted: int
    invitations_deleted: int
    emails_deleted: int
    inbound_events_deleted: int
    referral_codes_unlinked: int
    referral_codes_deleted: int
    opt_outs_deleted: int
    payloads_emptied: int = Field(
        description="Webhook deliveries and outbox items whose data quoted the contact."
    )
    contacts_deleted: int


class ErasureOut(BaseModel):
    contact_id: int
    mode: ErasureMode
    already_erased: bool = Field(
        description="The contact had been erased before: nothing was left to change."
    )
    counts: ErasureCountsOut


class RetentionIn(Body):
    months: Annotated[int, Field(strict=True, ge=1, le=MAX_MONTHS)] | None = Field(
        description="Answers and cases older than this many months are deleted or anonymised "
        "by the worker, once a day; null keeps everything.",
        examples=[24],
    )
    action: RetentionAction = Field("anonymise", examples=["anonymise"])


class RetentionOut(BaseModel):
    months: int | None
    action: RetentionAction
