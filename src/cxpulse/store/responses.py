"""Responses: one answered score each, with its comment and segments.

This module only gathers the public names of the responses store, so that callers keep one
import (``from cxpulse.store import responses``); each name lives in the module that holds
its job:

- ``store/response_checks.py``: ``NewResponse``, ``check_score``, ``check_new_response``,
  ``MAX_IDEMPOTENCY_KEY_LENGTH``: checking a response before it is stored;
- ``store/response_writes.py``: ``add_responses``, ``add_response``, ``import_responses``
  (``ImportCounts``), ``update_response``, ``delete_response``: writing, with the daily
  rollups kept in step in the same transaction;
- ``store/response_submissions.py``: ``add_each`` (``StoredResponse``): submissions from
  many callers at once;
- ``store/response_reads.py``: ``get_response``, ``find_by_invitation``,
  ``list_responses`` (``ResponsePage``, ``MAX_PAGE_SIZE``): reading, in keyset pages;
- ``store/cursors.py``: ``Cursor``, ``encode_cursor``, ``decode_cursor``: page tokens;
- ``store/filters.py``: ``ResponseFilters``, ``filter_conditions``, ``join_contacts``:
  which responses a question is about.
"""

from __future__ import annotations

from cxpulse.store.cursors import Cursor, decode_cursor, encode_cursor
from cxpulse.store.filters import ResponseFilters, filter_conditions, join_contacts
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
from cxpulse.store.response_submissions import StoredResponse, add_each
from cxpulse.store.response_writes import (
    ImportCounts,
    add_response,
    add_responses,
    delete_response,
    import_responses,
    update_response,
)

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
