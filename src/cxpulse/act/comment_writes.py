"""Writing a batch of comment analyses from a worker's round, giving way to requests.

``store.comment_analyses.write_analyses`` runs with a short lock timeout on PostgreSQL, so
that a background write never keeps a customer's request waiting: a row a request holds
ends the write instead (a daily count of analysed comments, while an answer of that day is
deleted or edited). Such a conflict is brief, so the write is tried again a couple of times;
when it still fails, the batch is given back to the queue with a warning that says how many
comments, and the round goes on with its other organisations. The round's claims
(``store.comment_claims``) stay held meanwhile, so no other worker starts on them.

On SQLite, whose writes wait for the database's one write lock (its busy timeout), a failure
is raised as before: the round fails and is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import comment_analyses, db_errors
from cxpulse.store.comment_analyses import NewAnalysis

logger = logging.getLogger("cxpulse.worker")

WRITE_ATTEMPTS = 3
"""How many times a batch's write is tried when a row it needs stays locked (PostgreSQL)."""
WRITE_RETRY_SECONDS = 0.2
"""The pause before the second attempt (doubled before the third)."""


def write_batch(
    sessions: sessionmaker[Session],
    organisation_id: int,
    version: str,
    analyses: Sequence[NewAnalysis],
    *,
    replace_comments: bool,
) -> int:
    """Write ``analyses`` in a transaction of their own; the count written or removed (0
    when the batch was given back to the queue)."""
    bind = sessions.kw["bind"]
    attempts = WRITE_ATTEMPTS if bind.dialect.name == "postgresql" else 1
    for attempt in range(1, attempts + 1):
        try:
            with sessions.begin() as session:
                written = comment_analyses.write_analyses(
                    session,
                    organisation_id,
                    version,
                    analyses,
                    replace_comments=replace_comments,
                )
            return written.written + written.removed
        except DBAPIError as error:
            # Only a lock held by someone else is worth another try.
            if attempts == 1 or db_errors.trouble(error) != "busy":
                raise
            if attempt < attempts:
                time.sleep(WRITE_RETRY_SECONDS * 2 ** (attempt - 1))
    logger.warning(
        "%d analysed comments of organisation %s were not written: rows they need stayed "
        "locked by another transaction; they stay queued for a later round",
        len(analyses),
        organisation_id,
    )
    return 0
