"""What repositories raise, so that callers can answer 404, 409 or 422 without guessing."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class NotFound(StoreError, LookupError):
    """No such row in the caller's organisation (rows of other organisations are invisible)."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(f"{entity} {key!r} not found")
        self.entity = entity
        self.key = key


class Invalid(StoreError, ValueError):
    """A value the store refuses; ``field`` names it, ``index`` its position in a batch."""

    def __init__(self, field: str, message: str, *, index: int | None = None) -> None:
        where = f"item {index}: " if index is not None else ""
        super().__init__(f"{where}{field}: {message}")
        self.field = field
        self.message = message
        self.index = index


class Conflict(StoreError):
    """A unique value (slug, email, external id) is already taken."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
