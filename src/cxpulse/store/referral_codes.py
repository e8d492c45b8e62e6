"""Personal referral codes given to promoters: random, readable, unique in the organisation,
one per answer, redeemed once.

A code is ten characters of an alphabet without look-alikes (no 0/O, 1/I/L), shown as
``ABCDE-FGHJK``: about 8 * 10**14 codes, so guessing one is hopeless, and one read aloud or
typed from a phone is read right. Redeeming takes the code in any case, with or without the
dash or spaces.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxpulse.store.errors import Conflict, NotFound
from cxpulse.store.models import ReferralCode
from cxpulse.store.types import utc_now

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LENGTH = 10
_ATTEMPTS = 5


@dataclass(frozen=True)
class Redeemed:
    code: str
    response_id: int | None
    survey_id: int | None
    contact_id: int | None
    redeemed_at: datetime
    reference: str


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise(code: str) -> str | None:
    """The stored form of a code as someone typed it; None when it cannot be one."""
    raw = "".join(code.split()).replace("-", "").upper()
    if len(raw) != LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return f"{raw[:5]}-{raw[5:]}"


def code_for_response(session: Session, organisation_id: int, response_id: int) -> str | None:
    return session.scalar(
        select(ReferralCode.code).where(
            ReferralCode.organisation_id == organisation_id,
            ReferralCode.response_id == response_id,
        )
    )


def issue(
    session: Session,
    organisation_id: int,
    *,
    response_id: int,
    survey_id: int | None,
    contact_id: int | None,
) -> str:
    """The answer's code: the one it has, or a new one."""
    known = code_for_response(session, organisation_id, response_id)
    if known is not None:
        return known
    for _ in range(_ATTEMPTS):
        row = ReferralCode(
            organisation_id=organisation_id,
            survey_id=survey_id,
            response_id=response_id,
            contact_id=contact_id,
            code=new_code(),
            created_at=utc_now(),
        )
        try:
            # A savepoint: a taken code (or the answer's code stored meanwhile) undoes this
            # insert alone.
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            known = code_for_response(session, organisation_id, response_id)
            if known is not None:
                return known
            continue
        return row.code
    raise RuntimeError("could not draw a free referral code")


def redeem(
    session: Session,
    organisation_id: int,
    code: str,
    reference: str,
    *,
    now: datetime | None = None,
) -> Redeemed:
    """Mark the code used for ``reference`` (an order id, say). NotFound when the
    organisation has no such code; Conflict when it was redeemed before."""
    stored = normalise(code)
    if stored is None:
        raise NotFound("referral code", code)
    moment = now or utc_now()
    row = session.execute(
        update(ReferralCode)
        .where(
            ReferralCode.organisation_id == organisation_id,
            ReferralCode.code == stored,
            ReferralCode.redeemed_at.is_(None),
        )
        .values(redeemed_at=moment, redeemed_reference=reference)
        .returning(ReferralCode.response_id, ReferralCode.survey_id, ReferralCode.contact_id)
    ).one_or_none()
    if row is None:
        exists = session.scalar(
            select(ReferralCode.redeemed_at).where(
                ReferralCode.organisation_id == organisation_id, ReferralCode.code == stored
            )
        )
        if exists is None:
            raise NotFound("referral code", code)
        raise Conflict("code", f"was redeemed already, on {exists:%Y-%m-%d %H:%M} UTC")
    response_id, survey_id, contact_id = row
    return Redeemed(stored, response_id, survey_id, contact_id, moment, reference)
