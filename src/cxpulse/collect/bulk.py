"""The lean insert path of bulk imports: multi-row ``INSERT ... ON CONFLICT DO NOTHING``.

``store.responses.add_responses`` builds an ORM object per response and checks each in
Python: right for API batches, but 4 s per 50,000 rows on SQLite (80 s for a million).
Import rows arrive checked (in DuckDB) and in storage form (UTC instants as text, properties
as JSON text), so this path only sends them: one statement per 1,000 rows, values that are
the same for every row written into the SQL once, through the session's own connection so
that it is part of the caller's transaction.

- Idempotency: ``ON CONFLICT (organisation_id, survey_id, idempotency_key) DO NOTHING``
  skips keys stored before (on PostgreSQL also those a concurrent transaction commits
  meanwhile: it waits for it). A statement's row count tells whether all its rows went in;
  only when not does one query find which keys were stored before this import.
- Rollups: the caller counts its rows per (day, channel, touchpoint, score) where they are
  (DuckDB), the writer takes off the rows found stored before, and the result is applied
  once at the end with ``rollups.apply_deltas`` (sorted, so PostgreSQL transactions lock
  rollup rows in one order). A mismatch with the rows inserted raises.
- Contacts: each batch's external ids are created when missing (``ON CONFLICT DO
  NOTHING``), and responses find theirs by a subquery on the unique (organisation,
  external id) index.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import chain
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cxpulse.store import rollups
from cxpulse.store.rollups import RollupKey

ROWS_PER_STATEMENT = 1000
SQLITE_CACHE_KIB = 65536
"""SQLite page cache during an import (64 MiB; the default is 2 MiB)."""

_FIELD_OF = {
    "contact_id": "contact",
    "score": "score",
    "comment": "comment",
    "language": "language",
    "channel": "channel",
    "touchpoint": "touchpoint",
    "properties": "properties",
    "submitted_at": "submitted_at",
    "idempotency_key": "idempotency_key",
}

RESPONSE_COLUMNS = (
    "organisation_id",
    "survey_id",
    "contact_id",
    "score",
    "comment",
    "language",
    "channel",
    "touchpoint",
    "properties",
    "submitted_at",
    "received_at",
    "source",
    "invitation_id",
    "idempotency_key",
)

FIELDS = (
    "contact",
    "score",
    "comment",
    "language",
    "channel",
    "touchpoint",
    "properties",
    "submitted_at",
    "idempotency_key",
)
"""Fields a row may carry; a writer is told which (in this order) its rows hold. The
others are constants: NULL, the survey's touchpoint, ``{}`` properties, the import time."""


def instant_text(moment: datetime, dialect: str) -> str:
    """A UTC instant as the database's own text: what ``submitted_at`` values look like."""
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return text if dialect == "sqlite" else text + "+00"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class BulkWriter:
    """Inserts checked rows of one survey within the session's transaction."""

    def __init__(
        self,
        session: Session,
        *,
        organisation_id: int,
        survey_id: int,
        fields: Sequence[str],
        received_at: datetime,
        touchpoint: str | None = None,
    ) -> None:
        unknown = [name for name in fields if name not in FIELDS]
        if unknown or "score" not in fields or "idempotency_key" not in fields:
            raise ValueError(f"rows must hold score and idempotency_key; unknown: {unknown}")
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"bulk import does not support {self.dialect}")
        self.fields = list(fields)
        self._contact = self.fields.index("contact") if "contact" in self.fields else None
        self.organisation_id = int(organisation_id)
        self.survey_id = int(survey_id)
        self.touchpoint = touchpoint
        self.now = instant_text(received_at, self.dialect)
        self.inserted = 0
        self.contacts_created = 0
        self._skipped: Counter[tuple[str, str, str, float]] = Counter()
        self._statements: dict[int, str] = {}
        self._contact_statements: dict[int, str] = {}
        self._cache_size: int | None = None
        if self.dialect == "sqlite" and SQLITE_CACHE_KIB:
            # A bigger page cache while the indexes grow: random keys (content hashes) touch
            # pages all over the unique index. Put back by close().
            self._cache_size = self.connection.exec_driver_sql("PRAGMA cache_size").scalar()
            self.connection.exec_driver_sql(f"PRAGMA cache_size = -{int(SQLITE_CACHE_KIB)}")

    # -- SQL -------------------------------------------------------------------------------

    def _cast(self, sql: str, cast: str) -> str:
        return sql if self.dialect == "sqlite" else f"{sql}::{cast}"

    def _values(self) -> str:
        """One row of VALUES: a parameter for each field the rows carry, else a constant."""
        marker = "?" if self.dialect == "sqlite" else "%s"
        given = set(self.fields)

        def value(name: str, constant: str, cast: str | None = None) -> str:
            if name not in given:
                return constant
            return self._cast(marker, cast) if cast else marker

        contact = (
            f"(SELECT id FROM contacts WHERE organisation_id = {self.organisation_id} "
            f"AND external_id = {marker})"
        )
        touchpoint = _literal(self.touchpoint) if self.touchpoint is not None else "NULL"
        now = self._cast(_literal(self.now), "timestamptz")
        by_column = {
            "organisation_id": str(self.organisation_id),
            "survey_id": str(self.survey_id),
            "contact_id": contact if "contact" in given else "NULL",
            "score": value("score", "NULL"),
            "comment": value("comment", "NULL"),
            "language": value("language", "NULL"),
            "channel": value("channel", "NULL"),
            "touchpoint": value("touchpoint", touchpoint),
            "properties": value("properties", self._cast("'{}'", "jsonb"), "jsonb"),
            "submitted_at": value("submitted_at", now, "timestamptz"),
            "received_at": now,
            "source": "'import'",
            "invitation_id": "NULL",
            "idempotency_key": value("idempotency_key", "NULL"),
        }
        # Parameters must come in the order the rows hold them: map columns to fields.
        order = [_FIELD_OF.get(column) for column in RESPONSE_COLUMNS]
        given_order = [name for name in order if name in given]
        if given_order != self.fields:
            raise ValueError(f"rows must hold their fields in the order {given_order}")
        return "(" + ", ".join(by_column[column] for column in RESPONSE_COLUMNS) + ")"

    def _statement(self, rows: int) -> str:
        statement = self._statements.get(rows)
        if statement is None:
            row = self._values()
            statement = (
                f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) VALUES "
                + ", ".join([row] * rows)
                + " ON CONFLICT (organisation_id, survey_id, idempotency_key) DO NOTHING"
            )
            self._statements[rows] = statement
        return statement

    def _stored_before(self, keys: Sequence[str]) -> set[str]:
        """Which of these keys belong to responses stored before this import."""
        marker = "?" if self.dialect == "sqlite" else "%s"
        now = self._cast(_literal(self.now), "timestamptz")
        statement = (
            "SELECT idempotency_key FROM responses "
            f"WHERE organisation_id = {self.organisation_id} AND survey_id = {self.survey_id} "
            f"AND received_at <> {now} "
            f"AND idempotency_key IN ({', '.join([marker] * len(keys))})"
        )
        return {row[0] for row in self.connection.exec_driver_sql(statement, tuple(keys))}

    def _contact_statement(self, rows: int) -> str:
        statement = self._contact_statements.get(rows)
        if statement is not None:
            return statement
        now = self._cast(_literal(self.now), "timestamptz")
        marker = "?" if self.dialect == "sqlite" else "%s"
        empty = self._cast("'{}'", "jsonb")
        row = f"({self.organisation_id}, {marker}, {empty}, {now}, {now})"
        statement = (
            "INSERT INTO contacts (organisation_id, external_id, attributes, created_at, "
            "updated_at) VALUES "
            + ", ".join([row] * rows)
            + " ON CONFLICT (organisation_id, external_id) DO NOTHING RETURNING id"
        )
        self._contact_statements[rows] = statement
        return statement

    # -- writing ---------------------------------------------------------------------------

    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows holding ``fields``; keys stored before are skipped (and noted)."""
        if self._contact is not None:
            self._add_contacts(rows, self._contact)
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params = tuple(chain.from_iterable(chunk))
            result = self.connection.exec_driver_sql(self._statement(len(chunk)), params)
            inserted = result.rowcount
            self.inserted += inserted
            if inserted < len(chunk):
                self._note_skipped(chunk)

    def _note_skipped(self, chunk: Sequence[Sequence[Any]]) -> None:
        """Remember where the rows stored before would have counted, to leave them out."""
        key = self.fields.index("idempotency_key")
        before = self._stored_before([row[key] for row in chunk])
        at = {name: i for i, name in enumerate(self.fields)}
        for row in chunk:
            if row[key] not in before:
                continue
            day = row[at["submitted_at"]][:10] if "submitted_at" in at else self.now[:10]
            channel = row[at["channel"]] if "channel" in at else None
            touchpoint = row[at["touchpoint"]] if "touchpoint" in at else self.touchpoint
            self._skipped[(day, channel or "", touchpoint or "", float(row[at["score"]]))] += 1

    def _add_contacts(self, rows: Sequence[Sequence[Any]], index: int) -> None:
        """Create the contacts of these rows that do not exist yet."""
        contacts = sorted({row[index] for row in rows if row[index] is not None})
        for start in range(0, len(contacts), ROWS_PER_STATEMENT):
            chunk = contacts[start : start + ROWS_PER_STATEMENT]
            statement = self._contact_statement(len(chunk))
            result = self.connection.exec_driver_sql(statement, tuple(chunk))
            self.contacts_created += len(result.fetchall())

    def finish(self, planned: Mapping[tuple[str, str, str, float], int]) -> None:
        """Add the inserted rows to the daily rollups, in the same transaction.

        ``planned``: how many rows of the import count at each (day, channel, touchpoint,
        score), counted where the rows are (DuckDB); the rows found stored before are taken
        off, so the rollups grow by exactly the rows inserted.
        """
        counts = Counter(planned)
        counts.subtract(self._skipped)
        if sum(counts.values()) != self.inserted or any(n < 0 for n in counts.values()):
            raise RuntimeError("bulk import: inserted rows and rollup counts disagree")
        deltas = {
            RollupKey(
                self.organisation_id,
                self.survey_id,
                date.fromisoformat(day),
                channel,
                touchpoint,
                score,
            ): count
            for (day, channel, touchpoint, score), count in counts.items()
            if count
        }
        rollups.apply_deltas(self.session, deltas)
        self._skipped.clear()

    def close(self) -> None:
        """Give the connection its page cache size back (it returns to a pool)."""
        if self._cache_size is not None:
            cache_size, self._cache_size = self._cache_size, None
            with contextlib.suppress(DBAPIError):
                self.connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
