"""Invitations and unsubscribes: the rows, looked up within one organisation.

The decisions (throttle, suppress, schedule) live in ``cxpulse.collect.invitations``; this
module only reads and writes. Addresses are matched in their canonical form
(``store.email_addresses``): an unsubscribe of ``Ana@X.test`` stops mail to ``ana@x.test``,
and throttling counts every contact of the organisation with the contact's address.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store import email_addresses, scoped
from cxpulse.store.models import Contact, Invitation, Unsubscribe
from cxpulse.store.types import utc_now

CONTACTED_STATUSES = ("scheduled", "sent")
"""Invitations that count for throttling: sent, or on their way."""


@dataclass(frozen=True)
class InvitationPage:
    items: list[Invitation]
    next_after: int | None


def get_invitation(session: Session, organisation_id: int, invitation_id: int) -> Invitation:
    return scoped.get_one(
        session,
        Invitation,
        organisation_id,
        Invitation.id == invitation_id,
        entity="invitation",
        key=invitation_id,
    )


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


def sharing_address(session: Session, contact_ids: Collection[int]) -> dict[int, frozenset[int]]:
    """For each contact, the contacts of its organisation with its address (itself among
    them; a contact without an address, or one that is gone, shares with nobody).

    Throttling asks about a person, and a person is an address: two contacts with one address
    (two records of the organisation's CRM, say) are throttled as one.
    """
    ids = sorted(set(contact_ids))
    groups: dict[int, frozenset[int]] = {cid: frozenset({cid}) for cid in ids}
    if not ids:
        return groups
    asked = session.execute(
        select(Contact.id, Contact.organisation_id, Contact.email).where(Contact.id.in_(ids))
    ).all()
    wanted: dict[int, set[str]] = {}
    for _, organisation_id, address in asked:
        if address:
            wanted.setdefault(organisation_id, set()).add(address)
    members: dict[tuple[int, str], set[int]] = {}
    for organisation_id, addresses in wanted.items():
        found = session.execute(
            select(Contact.id, Contact.email).where(
                Contact.organisation_id == organisation_id, Contact.email.in_(sorted(addresses))
            )
        )
        for cid, member_address in found:
            if member_address is not None:
                members.setdefault((organisation_id, member_address), set()).add(int(cid))
    for cid, organisation_id, address in asked:
        if address:
            groups[cid] = frozenset(members.get((organisation_id, address), set()) | {cid})
    return groups


def contacted_times(
    session: Session, contact_ids: Collection[int], after: datetime, before: datetime
) -> dict[int, list[datetime]]:
    """For each contact, the moments strictly between ``after`` and ``before`` at which an
    invitation (of any survey, to this contact or another with its address) went out or is
    due to go out, earliest first.

    A sent invitation counts at ``sent_at``, a scheduled one at ``send_at``. All of them, not
    only the latest: an invitation due far ahead must not hide one sent last week.
    """
    if not contact_ids:
        return {}
    groups = sharing_address(session, contact_ids)
    moment = func.coalesce(Invitation.sent_at, Invitation.send_at)
    query = (
        select(Invitation.contact_id, moment)
        .where(
            Invitation.contact_id.in_(sorted({m for group in groups.values() for m in group})),
            Invitation.status.in_(CONTACTED_STATUSES),
            moment > after,
            moment < before,
        )
        .order_by(Invitation.contact_id, moment)
    )
    own: dict[int, list[datetime]] = {}
    for contact_id, at in session.execute(query).all():
        if at is not None:
            own.setdefault(int(contact_id), []).append(_instant(at))
    found: dict[int, list[datetime]] = {}
    for contact_id, group in groups.items():
        times = sorted(t for member in group for t in own.get(member, []))
        if times:
            found[contact_id] = times
    return found


def last_sent(
    session: Session, contact_ids: Collection[int], since: datetime, *, exclude: Collection[int]
) -> dict[int, datetime]:
    """For each contact, the latest invitation actually sent after ``since`` to it or to
    another contact with its address (the send-time check)."""
    if not contact_ids:
        return {}
    groups = sharing_address(session, contact_ids)
    query = (
        select(Invitation.contact_id, func.max(Invitation.sent_at))
        .where(
            Invitation.contact_id.in_(sorted({m for group in groups.values() for m in group})),
            Invitation.status == "sent",
            Invitation.sent_at >= since,
            Invitation.id.notin_(list(exclude) or [0]),
        )
        .group_by(Invitation.contact_id)
    )
    own = {
        int(contact_id): _instant(latest)
        for contact_id, latest in session.execute(query).all()
        if latest is not None
    }
    found: dict[int, datetime] = {}
    for contact_id, group in groups.items():
        latest = [own[member] for member in group if member in own]
        if latest:
            found[contact_id] = max(latest)
    return found


def _instant(value: object) -> datetime:
    # max() over a column loses the column type on SQLite: it comes back as text.
    from datetime import UTC

    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def normalise_email(email: str) -> str:
    """The form addresses are matched in: canonical (``store.email_addresses``); an address
    without one keeps its trimmed, case-folded text, which matches no stored address."""
    return email_addresses.lookup_key(email)


def unsubscribed_among(session: Session, organisation_id: int, emails: Collection[str]) -> set[str]:
    """The addresses of ``emails`` (in canonical form) that unsubscribed from the
    organisation."""
    wanted = {address for e in emails if e and (address := email_addresses.lookup_email(e))}
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
    """Record that ``email`` wants no more email; True when new (repeating it, in any
    spelling of the address, is harmless). ``Invalid`` (field ``email``) for a value that is
    no address: stored, it would stop nothing and show as garbage."""
    address = email_addresses.required_email("email", email)
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    result = session.execute(
        insert_fn(Unsubscribe)
        .values(
            organisation_id=organisation_id,
            email=address,
            source=source[:32],
            at=utc_now(),
        )
        .on_conflict_do_nothing(index_elements=["organisation_id", "email"])
        .returning(Unsubscribe.id)
    )
    return result.first() is not None


def remove_unsubscribe(session: Session, organisation_id: int, email: str) -> bool:
    """Undo an unsubscribe (only when the person asks again to hear from the organisation)."""
    address = email_addresses.lookup_email(email)
    if address is None:
        return False
    result = session.execute(
        delete(Unsubscribe).where(
            Unsubscribe.organisation_id == organisation_id,
            Unsubscribe.email == address,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def cancel_scheduled_of_survey(
    session: Session, organisation_id: int, survey_id: int, reason: str
) -> list[int]:
    """Mark every invitation of the survey that is still ``scheduled`` ``cancelled`` with
    ``reason``; their ids. Conditional in the database, like ``cancel_if_scheduled``, so an
    invitation a worker is sending meanwhile stays sent."""
    ids = list(
        session.scalars(
            update(Invitation)
            .where(
                Invitation.organisation_id == organisation_id,
                Invitation.survey_id == survey_id,
                Invitation.status == "scheduled",
            )
            .values(status="cancelled", reason=reason)
            .returning(Invitation.id)
            .execution_options(synchronize_session=False)
        )
    )
    session.expire_all()
    return sorted(int(i) for i in ids)


def with_key_prefix(
    session: Session, organisation_id: int, survey_id: int, prefix: str, since: datetime
) -> list[tuple[Invitation, str | None]]:
    """The survey's invitations made since ``since`` whose idempotency key starts with
    ``prefix``, in id order, each with its contact's address: the invitations one form made.

    Bounded by ``ix_invitations_survey_created`` (survey and creation time) before the key
    is compared, so the cost is that of the survey's invitations since the form was issued.
    """
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(
        select(Invitation, Contact.email)
        .join(Contact, Contact.id == Invitation.contact_id)
        .where(
            Invitation.organisation_id == organisation_id,
            Invitation.survey_id == survey_id,
            Invitation.created_at >= since,
            Invitation.idempotency_key.like(pattern, escape="\\"),
        )
        .order_by(Invitation.id)
    ).all()
    return [(invitation, email) for invitation, email in rows]
