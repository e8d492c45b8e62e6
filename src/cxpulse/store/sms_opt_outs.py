"""Phone numbers that asked for no more SMS from an organisation (a STOP reply, or the
provider saying the number opted out there), and the handovers that keep an SMS from going
out twice. Numbers are stored in E.164 form, which the caller gives (``collect.sms.e164``)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store import outbox
from cxpulse.store.models import OutboxItem, SmsOptOut
from cxpulse.store.types import utc_now


def add_opt_out(session: Session, organisation_id: int, phone: str, keyword: str) -> bool:
    """Record the opt-out; True when new (a second STOP changes nothing)."""
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert_fn(SmsOptOut)
        .values(organisation_id=organisation_id, phone=phone, keyword=keyword[:32], at=utc_now())
        .on_conflict_do_nothing(index_elements=["organisation_id", "phone"])
        .returning(SmsOptOut.id)
    ).first()
    return inserted is not None


def remove_opt_out(session: Session, organisation_id: int, phone: str) -> bool:
    """Undo an opt-out (the number replied START); True when there was one."""
    removed = session.execute(
        delete(SmsOptOut).where(
            SmsOptOut.organisation_id == organisation_id, SmsOptOut.phone == phone
        )
    )
    return bool(getattr(removed, "rowcount", 0))


def opted_out_among(session: Session, organisation_id: int, phones: Collection[str]) -> set[str]:
    """The numbers of ``phones`` that opted out of the organisation's SMS."""
    wanted = sorted({p for p in phones if p})
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(SmsOptOut.phone).where(
                SmsOptOut.organisation_id == organisation_id, SmsOptOut.phone.in_(wanted)
            )
        )
    )


def is_opted_out(session: Session, organisation_id: int, phone: str) -> bool:
    return bool(opted_out_among(session, organisation_id, [phone]))


def list_opt_outs(session: Session, organisation_id: int, *, limit: int = 100) -> list[SmsOptOut]:
    return list(
        session.scalars(
            select(SmsOptOut)
            .where(SmsOptOut.organisation_id == organisation_id)
            .order_by(SmsOptOut.at.desc(), SmsOptOut.id.desc())
            .limit(limit)
        )
    )


# -- handovers: what makes an SMS go out at most once -----------------------------------------

HANDOVER_KIND = "sms-handover"
"""An outbox row (never claimed: it is born ``sent``) that says an SMS item reached the step
of handing its message to the provider. Committed before the provider is called, so that an
item claimed again after a crash finds it and does not send a second message."""


def _handover_key(item_id: int) -> str:
    return f"{HANDOVER_KIND}:{item_id}"


def begin_handover(session: Session, organisation_id: int, item_id: int) -> bool:
    """Record that item ``item_id`` is about to be handed over; False when it was before
    (then it must not be sent again)."""
    return outbox.add_unless_queued(
        session,
        OutboxItem(
            organisation_id=organisation_id,
            kind=HANDOVER_KIND,
            dedupe_key=_handover_key(item_id),
            payload={"item_id": item_id},
            state="sent",
            attempts=0,
            available_at=utc_now(),
            created_at=utc_now(),
            done_at=utc_now(),
        ),
    )


def note_handover(session: Session, organisation_id: int, item_id: int, sid: str) -> None:
    """The provider took the message: keep its id there."""
    session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.organisation_id == organisation_id,
            OutboxItem.dedupe_key == _handover_key(item_id),
        )
        .values(payload={"item_id": item_id, "sid": sid})
        .execution_options(synchronize_session=False)
    )


def cancel_handover(session: Session, organisation_id: int, item_id: int) -> None:
    """The provider surely did not take the message (it answered no): it may be tried again."""
    session.execute(
        delete(OutboxItem).where(
            OutboxItem.organisation_id == organisation_id,
            OutboxItem.dedupe_key == _handover_key(item_id),
        )
    )
