"""Labels on answers (``models.ResponseTag``), set by rules or people; setting a label an
answer has already is harmless."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cxpulse.store.models import ResponseTag
from cxpulse.store.types import utc_now

MAX_TAG_LENGTH = 64


def add_tags(
    session: Session, organisation_id: int, response_id: int, tags: Collection[str]
) -> list[str]:
    """Label the answer with ``tags`` (checked by the caller); the tags it did not have."""
    if not tags:
        return []
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utc_now()
    statement = (
        insert_fn(ResponseTag)
        .values(
            [
                {
                    "organisation_id": organisation_id,
                    "response_id": response_id,
                    "tag": tag,
                    "created_at": now,
                }
                for tag in dict.fromkeys(tags)
            ]
        )
        .on_conflict_do_nothing(index_elements=["response_id", "tag"])
        .returning(ResponseTag.tag)
    )
    return list(session.scalars(statement))


def tags_of(
    session: Session, organisation_id: int, response_ids: Collection[int]
) -> dict[int, list[str]]:
    """Each answer's tags, alphabetically."""
    found: dict[int, list[str]] = {}
    if not response_ids:
        return found
    rows = session.execute(
        select(ResponseTag.response_id, ResponseTag.tag)
        .where(
            ResponseTag.organisation_id == organisation_id,
            ResponseTag.response_id.in_(sorted(response_ids)),
        )
        .order_by(ResponseTag.response_id, ResponseTag.tag)
    )
    for response_id, tag in rows:
        found.setdefault(int(response_id), []).append(tag)
    return found


def remove_tag(session: Session, organisation_id: int, response_id: int, tag: str) -> bool:
    gone = session.execute(
        delete(ResponseTag).where(
            ResponseTag.organisation_id == organisation_id,
            ResponseTag.response_id == response_id,
            ResponseTag.tag == tag,
        )
    )
    return bool(getattr(gone, "rowcount", 0))
