"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY (the rowid alias);
# PostgreSQL gets 64 bits so that response ids never run out.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

# JSONB on PostgreSQL: binary, indexable, and ``->>`` works on it as on JSON.
JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always given and returned as an aware UTC datetime.

    SQLite has no time zones, so instants are stored there as naive UTC text; a naive value
    from the caller is refused rather than guessed, because a guess shifts answers between days.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"datetime {value.isoformat()} has no time zone; give it one (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # On SQLite, one step instead of this decorator's conversion followed by SQLite's
        # DATETIME formatting (the same text: its storage format is ISO with a space and
        # microseconds). Rows written together share their instants (received at, created
        # at), so the last text is kept: the submission path binds four instants per answer.
        last: tuple[datetime, str] | None = None

        def process(value: Any) -> str | None:
            nonlocal last
            if value is None:
                return None
            seen = last
            if seen is not None and seen[0] == value and type(value) is datetime:
                return seen[1]
            naive = self.process_bind_param(value, dialect)
            assert naive is not None
            text = naive.isoformat(sep=" ", timespec="microseconds")
            last = (value, text)
            return text

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
