"""The outbox item that tells the worker an answer arrived: one ``response-event`` per new
answer, queued in the transaction that stores it, so the answer's rules run (and its
``response.created`` event is sent) if and only if the answer was committed.

One multi-row insert per batch of answers: this is on the submission path, whose cost is
watched (``bench/``). Imports of historical files queue nothing: their answers are not news.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from cxpulse.store import outbox
from cxpulse.store.types import utc_now

KIND = "response-event"


def dedupe_key(response_id: int) -> str:
    return f"{KIND}:{response_id}"


def queue(session: Session, created: Iterable[tuple[int, int]]) -> None:
    """Queue the event of each new answer, as (organisation id, response id); the keys are
    new because the answers are."""
    now = utc_now()
    outbox.enqueue_many(
        session,
        [
            {
                "organisation_id": organisation_id,
                "kind": KIND,
                "dedupe_key": dedupe_key(response_id),
                "payload": {"response_id": response_id},
                "available_at": now,
            }
            for organisation_id, response_id in created
        ],
    )
