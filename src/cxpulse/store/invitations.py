"""Invitations and unsubscribes: the rows, looked up within one organisation.

The decisions (throttle, suppress, schedule) live in ``cxpulse.collect.invitations``; this
module only reads and writes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store.errors import NotFound
from cxpulse.store.models import Invitation, Unsubscribe
from cxpulse.store.types import utc_now

CONTACTED_STATUSES = ("scheduled", "sent")
"""Invitations that count for throttling: sent, or on their way."""


@dataclass(frozen=True)
class InvitationPage:
    items: list[Invitation]
    next_after: int | None


def get_invitation(session: Session, organisation_id: int, invitation_id: int) -> Invitation:
    found = session.scalar(
        select(Invitation).where(
            Invitation.organisation_id == organisation_id, Invitation.id == invitation_id
        )
    )
    if found is None:
        raise NotFound("invitation", invitation_id)
    return found


def by_idempotency_keys(
    session: Session, organisation_id: int, keys: Collection[str]
) -> dict[str, Invitation]:
    if not keys:
        return {}
    rows = session.scalars(
        select(Invitation).where(
            Invitation.organisation_id == organisation_id,
            Invitation.idempotency_key.in_(list(keys)),
        )
    )
    return {row.idempotency_key: row for row in rows if row.idempotency_key is not None}


def list_invitations(
    session: Session,
    organisation_id: int,
    survey_id: int,
    *,
    status: str | None = None,
    contact_id: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> InvitationPage:
    query = select(Invitation).where(
        Invitation.organisation_id == organisation_id, Invitation.survey_id == survey_id
    )
    if status is not None:
        query = query.where(Invitation.status == status)
    if contact_id is not None:
        query = query.where(Invitation.contact_id == contact_id)
    if after is not None:
        query = query.where(Invitation.id > after)
    rows = list(session.scalars(query.order_by(Invitation.id).limit(limit + 1)))
    items = rows[:limit]
    return InvitationPage(items, items[-1].id if len(rows) > limit and items else None)


def cancel_if_scheduled(session: Session, invitation: Invitation, reason: str) -> bool:
    """Mark the invitation ``cancelled`` with ``reason`` if it is still ``scheduled``, and
    reload it; True when it was.

    Conditional in the database, so that a worker committing the send meanwhile wins: on
    PostgreSQL this waits for the worker's lock on the row and then finds it sent.
    """
    changed = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == "scheduled")
        .values(status="cancelled", reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invitation)
    return bool(getattr(changed, "rowcount", 0))


def contacted_times(
    session: Session, contact_ids: Collection[int], after: datetime, before: datetime
) -> dict[int, list[datetime]]:
    """For each contact, the moments strictly between ``after`` and ``before`` at which an
    invitation (of any survey) went out or is due to go out, earliest first.

    A sent invitation counts at ``sent_at``, a scheduled one at ``send_at``. All of them, not
    only the latest: an invitation due far ahead must not hide one sent last week.
    """
    if not contact_ids:
        return {}
    moment = func.coalesce(Invitation.sent_at, Invitation.send_at)
    query = (
        select(Invitation.contact_id, moment)
        .where(
            Invitation.contact_id.in_(list(contact_ids)),
            Invitation.status.in_(CONTACTED_STATUSES),
            moment > after,
            moment < before,
        )
        .order_by(Invitation.contact_id, moment)
    )
    found: dict[int, list[datetime]] = {}
    for contact_id, at in session.execute(query).all():
        if at is not None:
            found.setdefault(int(contact_id), []).append(_instant(at))
    return found


def last_sent(
    session: Session, contact_ids: Collection[int], since: datetime, *, exclude: Collection[int]
) -> dict[int, datetime]:
    """For each contact, the latest invitation actually sent after ``since`` (send-time check)."""
    if not contact_ids:
        return {}
    query = (
        select(Invitation.contact_id, func.max(Invitation.sent_at))
        .where(
            Invitation.contact_id.in_(list(contact_ids)),
            Invitation.status == "sent",
            Invitation.sent_at >= since,
            Invitation.id.notin_(list(exclude) or [0]),
        )
        .group_by(Invitation.contact_id)
    )
    return {
        int(contact_id): _instant(latest)
        for contact_id, latest in session.execute(query).all()
        if latest is not None
    }


def _instant(value: object) -> datetime:
    # max() over a column loses the column type on SQLite: it comes back as text.
    from datetime import UTC

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def unsubscribed_among(session: Session, organisation_id: int, emails: Collection[str]) -> set[str]:
    """The addresses of ``emails`` (lower-cased) that unsubscribed from the organisation."""
    wanted = {normalise_email(e) for e in emails if e}
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(Unsubscribe.email).where(
                Unsubscribe.organisation_id == organisation_id,
                Unsubscribe.email.in_(sorted(wanted)),
            )
        )
    )


def is_unsubscribed(session: Session, organisation_id: int, email: str | None) -> bool:
    return bool(email) and bool(unsubscribed_among(session, organisation_id, [email or ""]))


def add_unsubscribe(session: Session, organisation_id: int, email: str, source: str) -> bool:
    """Record that ``email`` wants no more email; True when new (repeating it is harmless)."""
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert_fn(Unsubscribe)
        .values(
            organisation_id=organisation_id,
            email=normalise_email(email),
            source=source[:32],
            at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "email"])
        .returning(Unsubscribe.id)
    )
    return result.first() is not None


def remove_unsubscribe(session: Session, organisation_id: int, email: str) -> bool:
    """Undo an unsubscribe (only when the person asks again to hear from the organisation)."""
    from sqlalchemy import delete

    result = session.execute(
        delete(Unsubscribe).where(
            Unsubscribe.organisation_id == organisation_id,
            Unsubscribe.email == normalise_email(email),
        )
    )
    return bool(getattr(result, "rowcount", 0))
