"""Statements built once (``store.prebuilt``), on SQLite and PostgreSQL: an insert that
skips a taken key returns the new row's columns, and nothing for the taken one."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.store import accounts, prebuilt
from cxpulse.store.models import OutboxItem


def test_an_insert_ignoring_a_taken_key_returns_only_new_rows(
    sessions: sessionmaker[Session],
) -> None:
    table = cast(Table, OutboxItem.__table__)
    statements = prebuilt.insert_ignoring(
        table, ["organisation_id", "dedupe_key"], [table.c.id, table.c.dedupe_key]
    )
    assert set(statements) == {"postgresql", "sqlite"}
    with sessions.begin() as session:
        org = accounts.create_organisation(session, slug="acme", name="Acme").id
        statement = statements[session.get_bind().dialect.name]
        rows: list[dict[str, object]] = [
            {"organisation_id": org, "kind": "webhook", "dedupe_key": key, "payload": {}}
            for key in ("vip", "late")
        ]
        first = session.connection().execute(statement, rows).all()
        more = [*rows, {**rows[0], "dedupe_key": "new"}]
        again = session.connection().execute(statement, more).all()
    assert sorted(key for _, key in first) == ["late", "vip"]
    assert [key for _, key in again] == ["new"]
    with sessions() as session:
        assert sorted(session.scalars(select(OutboxItem.dedupe_key))) == ["late", "new", "vip"]
