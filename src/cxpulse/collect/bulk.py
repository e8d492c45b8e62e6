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
- Redaction at storage: when the organisation stores comments redacted
  (``Organisation.redact_comments``, read once per import), each comment is replaced by
  ``store.response_checks.stored_comment`` before it is sent, as on every other door.
- Undo: a browser import passes its run's id (``store.import_runs``), written into every
  row it inserts (``import_run_id``); rows stored before keep theirs.
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
from cxpulse.store.response_checks import redacts_comments, stored_comment
from cxpulse.store.response_fields import REQUIRED_IN_ROWS, ROW_FIELDS
from cxpulse.store.rollups import RollupKey

ROWS_PER_STATEMENT = 1000
SQLITE_CACHE_KIB = 65536
"""SQLite page cache during an import (64 MiB; the default is 2 MiB)."""

FIELDS = tuple(ROW_FIELDS)
"""Fields a row may carry (``store.response_fields.ROW_FIELDS``); a writer is told which its
rows hold, in their order. The other columns take constants: NULL, the survey's touchpoint,
``{}`` properties, the import time."""

SOURCE = "import"
"""The ``source`` of every response stored by this path."""


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
        import_run_id: int | None = None,
    ) -> None:
        unknown = [name for name in fields if name not in ROW_FIELDS]
        if unknown or any(name not in fields for name in REQUIRED_IN_ROWS):
            required = " and ".join(REQUIRED_IN_ROWS)
            raise ValueError(f"rows must hold {required}; unknown: {unknown}")
        if len(set(fields)) != len(fields):
            raise ValueError(f"rows hold a field twice: {list(fields)}")
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"bulk import does not support {self.dialect}")
        self.fields = list(fields)
        self._contact = self.fields.index("contact") if "contact" in self.fields else None
        # Read once per import: rows without a comment field have nothing to redact.
        self._redact_at = (
            self.fields.index("comment")
            if "comment" in self.fields and redacts_comments(session, organisation_id)
            else None
        )
        self.organisation_id = int(organisation_id)
        self.survey_id = int(survey_id)
        self.touchpoint = touchpoint
        self.import_run_id = None if import_run_id is None else int(import_run_id)
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

    def _row(self) -> tuple[list[str], str]:
        """The columns of the INSERT and one row of VALUES: a parameter for each field the
        rows carry, in their order, and a constant for every other column."""
        marker = "?" if self.dialect == "sqlite" else "%s"
        now = self._cast(_literal(self.now), "timestamptz")
        parameter = {
            # Rows carry the contact's external id; the response stores its database id.
            "contact": (
                f"(SELECT id FROM contacts WHERE organisation_id = {self.organisation_id} "
                f"AND external_id = {marker})"
            ),
            "properties": self._cast(marker, "jsonb"),
            "submitted_at": self._cast(marker, "timestamptz"),
        }
        absent = {
            "touchpoint": _literal(self.touchpoint) if self.touchpoint is not None else "NULL",
            "properties": self._cast("'{}'", "jsonb"),
            "submitted_at": now,
        }
        columns = [ROW_FIELDS[name].column for name in self.fields]
        values = [parameter.get(name, marker) for name in self.fields]
        for name, field in ROW_FIELDS.items():
            if name not in self.fields:
                columns.append(field.column)
                values.append(absent.get(name, "NULL"))
        constants = {
            "organisation_id": str(self.organisation_id),
            "survey_id": str(self.survey_id),
            "received_at": now,
            "source": _literal(SOURCE),
            "invitation_id": "NULL",
            # Asked only on survey pages after a low score: an import never asked it.
            "contact_consent": "NULL",
            # Unverified marks answers through unsigned links: an import is the organisation's.
            "unverified": "FALSE",
            # The browser import that stores them, so that it can be undone as a whole.
            "import_run_id": "NULL" if self.import_run_id is None else str(self.import_run_id),
        }
        columns += constants
        values += constants.values()
        return columns, "(" + ", ".join(values) + ")"

    def _statement(self, rows: int) -> str:
        statement = self._statements.get(rows)
        if statement is None:
            columns, row = self._row()
            statement = (
                f"INSERT INTO responses ({', '.join(columns)}) VALUES "
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
        if self._redact_at is not None:
            rows = [self._redacted(row, self._redact_at) for row in rows]
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params = tuple(chain.from_iterable(chunk))
            result = self.connection.exec_driver_sql(self._statement(len(chunk)), params)
            inserted = result.rowcount
            self.inserted += inserted
            if inserted < len(chunk):
                self._note_skipped(chunk)

    @staticmethod
    def _redacted(row: Sequence[Any], index: int) -> Sequence[Any]:
        comment = row[index]
        if not comment:
            return row
        changed = list(row)
        changed[index] = stored_comment(comment)
        return changed

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
