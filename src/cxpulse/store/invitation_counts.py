"""Invitations counted per period of their send time and per channel, with the responses
made through them: the figures behind the response rates (``cxpulse.collect.rates`` turns
them into rates with intervals).

One GROUP BY over invitations left-joined to their responses, within one organisation.
``start`` and ``end`` keep it to the invitations sent in [start, end): only those are joined
to responses and grouped. (No index leads with the survey and ``send_at``, so the database
still reads the survey's invitations through ``(survey_id, created_at)``; bounding that read
too would need a new index.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.store.models import Invitation, Response
from cxpulse.store.sql import Period, period_label


@dataclass(frozen=True)
class InvitationCounts:
    """The invitations of one period and channel, by what became of them."""

    period: str
    channel: str
    invited: int
    sent: int
    failed: int
    throttled: int
    unsubscribed: int
    opened: int
    answered: int
    commented: int
    """Answered with a comment that is not blank."""


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def invitation_counts(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    period: Period,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[InvitationCounts]:
    """One row per period and channel, oldest first, of the survey's invitations whose
    ``send_at`` is in [``start``, ``end``) when those are given."""
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(Invitation.send_at >= start)
    if end is not None:
        bounds.append(Invitation.send_at < end)
    dialect = session.get_bind().dialect.name
    label = period_label(Invitation.send_at, period, dialect, is_date=False).label("period")
    answered = Response.id.is_not(None)
    commented = and_(answered, func.length(func.trim(func.coalesce(Response.comment, ""))) > 0)
    query = (
        select(
            label,
            Invitation.channel,
            func.count(Invitation.id),
            _count(Invitation.status == "sent"),
            _count(Invitation.status == "failed"),
            _count(Invitation.status == "throttled"),
            _count(Invitation.status == "unsubscribed"),
            _count(Invitation.opened_at.is_not(None)),
            _count(answered),
            _count(commented),
        )
        .select_from(Invitation)
        .outerjoin(
            Response,
            and_(
                Response.invitation_id == Invitation.id,
                Response.organisation_id == organisation_id,
            ),
        )
        .where(
            Invitation.organisation_id == organisation_id,
            Invitation.survey_id == survey_id,
            *bounds,
        )
        .group_by(label, Invitation.channel)
        .order_by(label, Invitation.channel)
    )
    rows: list[InvitationCounts] = []
    for values in session.execute(query).all():
        label_value, channel, invited, sent, failed, throttled, unsub, opened, ans, com = values
        rows.append(
            InvitationCounts(
                period=str(label_value),
                channel=str(channel),
                invited=int(invited),
                sent=int(sent),
                failed=int(failed),
                throttled=int(throttled),
                unsubscribed=int(unsub),
                opened=int(opened),
                answered=int(ans),
                commented=int(com),
            )
        )
    return rows
