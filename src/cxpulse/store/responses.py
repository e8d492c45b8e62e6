"""Responses: one answered score each, with its comment and segments.

This module only gathers the public names of the responses store, so that callers keep one
import (``from cxpulse.store import responses``); each name lives in the module that holds
its job:

- ``store/response_checks.py``: ``NewResponse``, ``check_score``, ``check_new_response``,
  ``MAX_IDEMPOTENCY_KEY_LENGTH``: checking a response before it is stored;
- ``store/response_writes.py``: ``add_responses``, ``add_response``, ``import_responses``
  (``ImportCounts``), ``update_response``, ``delete_response``: writing, with the daily
  rollups kept in step in the same transaction; ``add_responses``, ``add_response`` and
  ``update_response`` are wrapped here so that every new or changed answer also queues its
  ``response-event`` outbox item
  (``store/response_events.py``: the worker runs the organisation's rules on it), which
  imports of historical files (``import_responses``) do not;
- ``store/response_submissions.py``: ``add_each`` and ``add_each_with_keys``
  (``StoredResponse``): submissions from many callers at once;
- ``store/response_reads.py``: ``get_response``, ``find_by_invitation``,
  ``list_responses`` (``ResponsePage``, ``MAX_PAGE_SIZE``): reading, in keyset pages;
- ``store/cursors.py``: ``Cursor``, ``encode_cursor``, ``decode_cursor``: page tokens;
- ``store/filters.py``: ``ResponseFilters``, ``filter_conditions``, ``join_contacts``:
  which responses a question is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from cxpulse.store import response_events, response_writes
from cxpulse.store.cursors import Cursor, decode_cursor, encode_cursor
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
from cxpulse.store.models import Response
from cxpulse.store.response_checks import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    NewResponse,
    check_new_response,
    check_score,
)
from cxpulse.store.response_reads import (
    MAX_PAGE_SIZE,
    ResponsePage,
    find_by_invitation,
    get_response,
    list_responses,
)
from cxpulse.store.response_submissions import StoredResponse, add_each, add_each_with_keys
from cxpulse.store.response_writes import (
    ImportCounts,
    delete_response,
    import_responses,
)
from cxpulse.store.response_writes import update_response as _update_response

__all__ = [
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_PAGE_SIZE",
    "Cursor",
    "ImportCounts",
    "NewResponse",
    "ResponseFilters",
    "ResponsePage",
    "StoredResponse",
    "add_each",
    "add_each_with_keys",
    "add_response",
    "add_responses",
    "check_new_response",
    "check_score",
    "decode_cursor",
    "delete_response",
    "encode_cursor",
    "filter_conditions",
    "find_by_invitation",
    "get_response",
    "import_responses",
    "join_contacts",
    "list_responses",
    "update_response",
]


def add_responses(
    session: Session,
    organisation_id: int,
    items: Sequence[NewResponse],
    *,
    events: bool = True,
) -> list[tuple[Response, bool]]:
    """``response_writes.add_responses``, and the ``response-event`` of each new answer in
    the same transaction (``events=False``: answers that are not news, such as demo data)."""
    results = response_writes.add_responses(session, organisation_id, items)
    if events:
        response_events.queue(
            session, [(organisation_id, stored.id) for stored, created in results if created]
        )
    return results


def add_response(
    session: Session, organisation_id: int, survey_id: int, score: float, **fields: Any
) -> tuple[Response, bool]:
    """``response_writes.add_response`` (the same keyword fields), and the new answer's
    ``response-event`` in the same transaction."""
    stored, created = response_writes.add_response(
        session, organisation_id, survey_id, score, **fields
    )
    if created:
        response_events.queue(session, [(organisation_id, stored.id)])
    return stored, created


def update_response(
    session: Session, organisation_id: int, response_id: int, **changes: Any
) -> Response:
    """``response_writes.update_response``, and the changed answer's ``response-event``
    (its rules run again on what changed; ``response.updated`` is sent)."""
    updated = _update_response(session, organisation_id, response_id, **changes)
    response_events.queue_update(session, organisation_id, response_id)
    return updated
