"""Sending a survey to many recipients from one form, exactly once however often it is posted.

A form carries a key (``new_form_key``: its issue time and a random part). Each invitation
it makes gets the idempotency key ``<form key>:<recipient>`` (the CSV line, or ``c<contact
id>``), and is made by ``create_invitations``, the very function of the REST API: throttle,
unsubscribes, the outbox item in the same transaction. Before making anything,
``send_batch`` looks for invitations of the survey made since the form was issued under the
form's key: if there are any, the form was sent already (a reload, a double click, a
retry after a lost answer) and their outcome is the answer; nothing is made again, even if
the recipients a filter chooses have changed since.

``outcome_of`` summarises what one form made: how many were queued, throttled and
unsubscribed, and why each one that was not queued was not.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxpulse.collect.invitation_csv import Recipient
from cxpulse.collect.invitation_requests import InvitationRequest
from cxpulse.collect.invitation_scheduling import create_invitations
from cxpulse.store import invitations as store
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Contact

_FORM_KEY = re.compile(r"web-(\d{10})-([0-9a-f]{16})")
FORM_KEY_DAYS = 7
"""A form older than this is refused: review it again (which issues a new key)."""
_CLOCK_SLACK = timedelta(minutes=5)
"""Invitations are looked up from a little before the key's time: clocks of two app
servers may differ."""
SHOWN_NOT_QUEUED = 200


def new_form_key(now: datetime) -> str:
    """A key for one form: its issue time (seconds) and 64 random bits."""
    return f"web-{int(now.timestamp()):010d}-{secrets.token_hex(8)}"


def form_key_issued(key: str, now: datetime) -> datetime:
    """When the form of ``key`` was issued; ``Invalid`` (field ``form_key``) for a key not
    made by ``new_form_key``, or one too old or from the future."""
    found = _FORM_KEY.fullmatch(key or "")
    if found is None:
        raise Invalid("form_key", "this form is not one cxpulse made: open the page again")
    issued = datetime.fromtimestamp(int(found.group(1)), tz=UTC)
    if issued > now + _CLOCK_SLACK or issued < now - timedelta(days=FORM_KEY_DAYS):
        raise Invalid("form_key", "this form has expired: review the invitation again")
    return issued


def csv_requests(
    rows: Sequence[Recipient], form_key: str, send_at: datetime | None
) -> list[InvitationRequest]:
    """One request per CSV row: the contact found or created by address, named as the row
    says; its language and properties on the invitation."""
    return [
        InvitationRequest(
            email=row.email,
            name=row.name,
            language=row.language,
            properties=row.properties or None,
            send_at=send_at,
            idempotency_key=f"{form_key}:{row.line}",
        )
        for row in rows
    ]


def contact_requests(
    contacts: Sequence[Contact], form_key: str, send_at: datetime | None
) -> list[InvitationRequest]:
    """One request per known contact."""
    return [
        InvitationRequest(
            contact_id=contact.id, send_at=send_at, idempotency_key=f"{form_key}:c{contact.id}"
        )
        for contact in contacts
    ]


@dataclass(frozen=True)
class NotQueued:
    email: str
    status: str
    reason: str


@dataclass
class SendOutcome:
    """What one form made."""

    queued: int = 0
    throttled: int = 0
    unsubscribed: int = 0
    other: int = 0
    """Made but neither queued, throttled nor unsubscribed since (sent, cancelled ...):
    only when the outcome is read again later."""
    repeated: bool = False
    """The form had been sent before: these are that send's invitations."""
    first_send_at: datetime | None = None
    reasons: list[tuple[str, int]] = field(default_factory=list)
    """Why invitations were not queued, the commonest first, with how many."""
    not_queued: list[NotQueued] = field(default_factory=list)
    """The first ``SHOWN_NOT_QUEUED`` of them, one by one."""

    @property
    def total(self) -> int:
        return self.queued + self.throttled + self.unsubscribed + self.other


def _summary(made: Sequence[tuple[str, str | None, str | None, datetime]]) -> SendOutcome:
    """``made``: (status, reason, address, send time) of each invitation."""
    outcome = SendOutcome()
    why: Counter[str] = Counter()
    for status, reason, email, send_at in made:
        if status in ("scheduled", "sent"):
            outcome.queued += 1
        elif status == "throttled":
            outcome.throttled += 1
        elif status == "unsubscribed":
            outcome.unsubscribed += 1
        else:
            outcome.other += 1
        if outcome.first_send_at is None or send_at < outcome.first_send_at:
            outcome.first_send_at = send_at
        if status not in ("scheduled", "sent"):
            text = reason or status
            # The throttle's reason names a date: group by what comes after it.
            why[text.split("; ", 1)[-1] if status == "throttled" else text] += 1
            if len(outcome.not_queued) < SHOWN_NOT_QUEUED:
                outcome.not_queued.append(NotQueued(email or "", status, text))
    outcome.reasons = why.most_common()
    return outcome


def outcome_of(
    session: Session, organisation_id: int, survey_id: int, form_key: str, now: datetime
) -> SendOutcome | None:
    """What the form of ``form_key`` made for the survey; None when it made nothing yet."""
    issued = form_key_issued(form_key, now)
    rows = store.with_key_prefix(
        session, organisation_id, survey_id, f"{form_key}:", issued - _CLOCK_SLACK
    )
    if not rows:
        return None
    return _summary([(i.status, i.reason, email, i.send_at) for i, email in rows])


def send_batch(
    session: Session,
    organisation_id: int,
    survey_id: int,
    requests: Sequence[InvitationRequest],
    form_key: str,
    *,
    now: datetime,
) -> SendOutcome:
    """Make the invitations of one form, once; ``Invalid`` naming the item at fault (nothing
    is stored then, once the caller rolls back). The caller commits."""
    earlier = outcome_of(session, organisation_id, survey_id, form_key, now)
    if earlier is not None:
        earlier.repeated = True
        return earlier
    if not requests:
        raise Invalid("recipients", "nobody to invite")
    nested = session.begin_nested()
    try:
        create_invitations(session, organisation_id, survey_id, requests, now=now)
    except IntegrityError:
        # The same form, posted twice at once, committed first (PostgreSQL).
        nested.rollback()
        again = outcome_of(session, organisation_id, survey_id, form_key, now)
        if again is None:
            raise
        again.repeated = True
        return again
    except Exception:
        nested.rollback()
        raise
    nested.commit()
    made = outcome_of(session, organisation_id, survey_id, form_key, now)
    assert made is not None
    return made
