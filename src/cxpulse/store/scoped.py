"""One row of the caller's organisation, found by a key, or ``NotFound``.

The store's getters by id or unique key (``get_contact``, ``get_survey_by_slug``, ...) read
their row through :func:`get_one`: the organisation's condition is always part of the query,
so that a row of another organisation is as invisible as one that does not exist, and both
answer the same ``NotFound``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from cxpulse.store.errors import NotFound
from cxpulse.store.models import Base

OwnedRow = TypeVar("OwnedRow", bound=Base)


def get_one(
    session: Session,
    model: type[OwnedRow],
    organisation_id: int,
    where: ColumnElement[Any],
    *,
    entity: str,
    key: object,
) -> OwnedRow:
    """The organisation's row of ``model`` (a model with an ``organisation_id`` column) that
    meets ``where``, a condition on a unique key; otherwise ``NotFound(entity, key)``."""
    # The table's column: what ``model.organisation_id`` maps, typed for any model.
    owner = model.__table__.c.organisation_id
    found = session.scalar(select(model).where(owner == organisation_id, where))
    if found is None:
        raise NotFound(entity, key)
    return found
