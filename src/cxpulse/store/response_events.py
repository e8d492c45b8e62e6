"""The outbox item that tells the worker an answer arrived: one ``response-event`` per new
answer, queued in the transaction that stores it, so the answer's rules run (and its
``response.created`` event is sent) if and only if the answer was committed.

A changed answer (a second answer through the same invitation link, an edit through the API)
queues one more with ``"updated": true``, so that its rules run again on what changed and
``response.updated`` is sent. One multi-row insert per batch of answers: this is on the
submission path, whose cost is watched (``bench/``). Imports of historical files queue
nothing: their answers are not news.

On PostgreSQL the grouped submissions of the API (``store.response_submissions``) write the
same item in the statement that stores their answers, with a key of the same form as
``dedupe_key`` (tests compare the two paths).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy.orm import Session

from cxpulse.store import outbox

KIND = "response-event"


def dedupe_key(response_id: int) -> str:
    """A new key for each event: an answer's event is queued once, in the answer's own
    transaction, and SQLite may give a deleted answer's id to the next one."""
    return f"{KIND}:{response_id}:{secrets.token_hex(8)}"


def queue(session: Session, created: Iterable[tuple[int, int]]) -> None:
    """Queue the event of each new answer, as (organisation id, response id); the keys are
    new because the answers are."""
    outbox.enqueue_many(
        session,
        [
            {
                "organisation_id": organisation_id,
                "kind": KIND,
                "dedupe_key": dedupe_key(response_id),
                "payload": {"response_id": response_id},
            }
            for organisation_id, response_id in created
        ],
    )


def queue_update(session: Session, organisation_id: int, response_id: int) -> None:
    """Queue the event of a changed answer (each change its own, so none is lost)."""
    outbox.enqueue(
        session,
        organisation_id,
        KIND,
        f"{dedupe_key(response_id)}:updated",
        {"response_id": response_id, "updated": True},
    )
