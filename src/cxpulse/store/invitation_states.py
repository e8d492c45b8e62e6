"""What became of each invitation, as a person reads it, and how many are in each state.

The stored ``status`` says what the sender did; two facts elsewhere change what a person
wants to know:

- an answer made through the invitation (``Response.invitation_id``): ``answered``, whatever
  the status says (it was sent, or it could not have been answered);
- an outbox item left ``unconfirmed`` (the worker stopped, or the connection dropped, before
  the SMTP server's verdict): ``unknown``, delivery unknown, never sent again.

Otherwise the state is the status (``scheduled``, ``sent``, ``failed``, ``throttled``,
``unsubscribed``, ``cancelled``). ``state_counts`` and ``list_with_states`` derive it the same
way, in SQL, so the counts at the top of a list add up to the list, and the API can give the
same figures. The list is keyset-paged newest first on ``(created_at, id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, not_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.store.keyset import after_key
from cxpulse.store.models import Contact, Invitation, OutboxItem, Response

STATES = (
    "scheduled",
    "sent",
    "unknown",
    "failed",
    "throttled",
    "unsubscribed",
    "cancelled",
    "answered",
)
"""In the order a page shows them: on its way, out, out but unconfirmed, not out, answered."""

_OUTBOX_KINDS = ("invitation", "sms")
"""The kinds whose dedupe key is ``<kind>:<invitation id>`` (``collect.invitation_scheduling``)."""


def _answered() -> ColumnElement[bool]:
    # uq_responses_invitation_id makes this one index probe per invitation.
    return (
        select(Response.id)
        .where(
            Response.invitation_id == Invitation.id,
            Response.organisation_id == Invitation.organisation_id,
        )
        .exists()
    )


def _unconfirmed() -> ColumnElement[bool]:
    # Probed through uq_outbox_organisation_dedupe with the invitation's two possible keys.
    own_id = cast(Invitation.id, String)
    return (
        select(OutboxItem.id)
        .where(
            OutboxItem.organisation_id == Invitation.organisation_id,
            OutboxItem.dedupe_key.in_([literal(f"{kind}:") + own_id for kind in _OUTBOX_KINDS]),
            OutboxItem.state == "unconfirmed",
        )
        .exists()
    )


def state_expression() -> ColumnElement[str]:
    """The state of the invitation row in the query, in SQL."""
    return case(
        (_answered(), literal("answered")),
        (and_(Invitation.status == "sent", _unconfirmed()), literal("unknown")),
        else_=Invitation.status,
    )


def state_condition(state: str) -> ColumnElement[bool]:
    """The invitations in ``state`` (one of ``STATES``); written per state, so that the
    stored status narrows the rows before the answer and outbox probes run."""
    if state == "answered":
        return _answered()
    if state == "unknown":
        return and_(Invitation.status == "sent", not_(_answered()), _unconfirmed())
    if state == "sent":
        return and_(Invitation.status == "sent", not_(_answered()), not_(_unconfirmed()))
    if state not in STATES:
        raise ValueError(f"unknown invitation state {state!r}")
    return and_(Invitation.status == state, not_(_answered()))


def _scope(organisation_id: int, survey_id: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Invitation.organisation_id == organisation_id]
    if survey_id is not None:
        conditions.append(Invitation.survey_id == survey_id)
    return conditions


def state_counts(
    session: Session, organisation_id: int, survey_id: int | None = None
) -> dict[str, int]:
    """How many invitations are in each state (every state present, 0 when none), of one
    survey or of all the organisation's."""
    state = state_expression().label("state")
    rows = session.execute(
        select(state, func.count())
        .select_from(Invitation)
        .where(*_scope(organisation_id, survey_id))
        .group_by(state)
    ).all()
    counts = dict.fromkeys(STATES, 0)
    for name, count in rows:
        counts[str(name)] = counts.get(str(name), 0) + int(count)
    return counts


@dataclass(frozen=True)
class InvitationRow:
    """One invitation as a list shows it: with its state and the contact's address."""

    id: int
    survey_id: int
    contact_id: int
    email: str | None
    name: str | None
    channel: str
    status: str
    state: str
    reason: str | None
    language: str | None
    send_at: datetime
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class StatePage:
    items: list[InvitationRow]
    next_after: tuple[datetime, int] | None
    """The ``(created_at, id)`` key of the last row when more follow."""


def list_with_states(
    session: Session,
    organisation_id: int,
    *,
    survey_id: int | None = None,
    state: str | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> StatePage:
    """The invitations, newest first, ``limit`` at a time after the key ``before``."""
    conditions = _scope(organisation_id, survey_id)
    if state is not None:
        conditions.append(state_condition(state))
    if before is not None:
        conditions.extend(after_key(Invitation.created_at, Invitation.id, before, descending=True))
    query = (
        select(
            Invitation.id,
            Invitation.survey_id,
            Invitation.contact_id,
            Contact.email,
            Contact.name,
            Invitation.channel,
            Invitation.status,
            state_expression().label("state"),
            Invitation.reason,
            Invitation.language,
            Invitation.send_at,
            Invitation.sent_at,
            Invitation.created_at,
        )
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(*conditions)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(limit + 1)
    )
    rows = [_row(values) for values in session.execute(query).all()]
    items = rows[:limit]
    more = len(rows) > limit and items
    return StatePage(items, (items[-1].created_at, items[-1].id) if more else None)


def _row(values: Any) -> InvitationRow:
    return InvitationRow(
        id=int(values.id),
        survey_id=int(values.survey_id),
        contact_id=int(values.contact_id),
        email=values.email,
        name=values.name,
        channel=str(values.channel),
        status=str(values.status),
        state=str(values.state),
        reason=values.reason,
        language=values.language,
        send_at=values.send_at,
        sent_at=values.sent_at,
        created_at=values.created_at,
    )


def scheduled_count(session: Session, organisation_id: int, survey_id: int) -> int:
    """How many of the survey's invitations are still scheduled (what "cancel all" cancels)."""
    found = session.scalar(
        select(func.count()).where(
            *_scope(organisation_id, survey_id), Invitation.status == "scheduled"
        )
    )
    return int(found or 0)


__all__ = [
    "STATES",
    "InvitationRow",
    "StatePage",
    "list_with_states",
    "scheduled_count",
    "state_condition",
    "state_counts",
    "state_expression",
]
