"""The lean insert path of imports (``cxpulse.collect.bulk.BulkWriter``) on both databases:
what it stores, what it skips, the rollups it keeps true and the mistakes it refuses."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from cxpulse.collect import bulk
from cxpulse.collect.bulk import BulkWriter, instant_text
from cxpulse.store.models import Contact, Organisation, Response, Survey

from .conftest import assert_rollups_match, stored

RECEIVED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ALL_FIELDS = (
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


def _survey(session: Session, org: Organisation, slug: str = "support-csat") -> Survey:
    found = session.scalar(
        select(Survey).where(Survey.organisation_id == org.id, Survey.slug == slug)
    )
    assert found is not None
    return found


def _writer(session: Session, org: Organisation, fields: Sequence[str], **kw: Any) -> BulkWriter:
    survey = _survey(session, org, kw.pop("slug", "support-csat"))
    return BulkWriter(
        session,
        organisation_id=org.id,
        survey_id=survey.id,
        fields=fields,
        received_at=kw.pop("received_at", RECEIVED),
        touchpoint=kw.pop("touchpoint", survey.touchpoint),
    )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _planned(rows: Sequence[dict[str, Any]], touchpoint: str | None) -> Counter[Any]:
    """Rollup counts of rows as the importer counts them (in DuckDB) before writing."""
    return Counter(
        (
            row.get("day", RECEIVED.date().isoformat()),
            row.get("channel") or "",
            row.get("touchpoint", touchpoint) or "",
            float(row["score"]),
        )
        for row in rows
    )


def _full_row(dialect: str, i: int, *, score: float = 4.0, channel: str = "email") -> list[Any]:
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC) + timedelta(minutes=i)
    return [
        f"crm-{i % 3}",
        score,
        f"comment {i}",
        "sv",
        channel,
        "after call",
        json.dumps({"agent": f"a{i % 2}", "tier": "gold"}),
        instant_text(moment, dialect),
        f"key-{i}",
    ]


def test_every_field_is_stored_as_given(sessions: sessionmaker[Session], org: Organisation) -> None:
    with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        writer = _writer(session, org, ALL_FIELDS)
        rows = [_full_row(dialect, i, score=float(1 + i % 5)) for i in range(6)]
        writer.write(rows)
        planned = Counter(("2026-03-01", "email", "after call", float(1 + i % 5)) for i in range(6))
        writer.finish(planned)
        writer.close()
        assert (writer.inserted, writer.contacts_created) == (6, 3)
    kept = stored(sessions)
    assert [r.idempotency_key for r in kept] == [f"key-{i}" for i in range(6)]
    first = kept[1]
    assert (first.score, first.comment, first.language, first.channel, first.touchpoint) == (
        2.0,
        "comment 1",
        "sv",
        "email",
        "after call",
    )
    assert first.properties == {"agent": "a1", "tier": "gold"}
    assert _utc(first.submitted_at) == datetime(2026, 3, 1, 9, 31, tzinfo=UTC)
    assert _utc(first.received_at) == RECEIVED
    assert (first.source, first.invitation_id) == ("import", None)
    with sessions() as session:
        external = {c.id: str(c.external_id) for c in session.scalars(select(Contact))}
    assert sorted(external.values()) == ["crm-0", "crm-1", "crm-2"]
    assert [external[r.contact_id] for r in kept if r.contact_id] == [
        f"crm-{i % 3}" for i in range(6)
    ]
    assert_rollups_match(sessions)


def test_fields_a_row_does_not_carry_take_the_constants(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        writer = _writer(session, org, ["score", "idempotency_key"])
        writer.write([[5.0, "k1"], [3.0, "k2"]])
        writer.finish(_planned([{"score": 5}, {"score": 3}], "after support ticket"))
    kept = stored(sessions)
    assert [(r.score, r.idempotency_key) for r in kept] == [(5.0, "k1"), (3.0, "k2")]
    for response in kept:
        assert response.contact_id is None
        assert (response.comment, response.language, response.channel) == (None, None, None)
        assert response.touchpoint == "after support ticket"  # the survey's
        assert response.properties == {}
        assert _utc(response.submitted_at) == RECEIVED == _utc(response.received_at)
        assert response.source == "import"
    assert_rollups_match(sessions)


def test_a_survey_without_touchpoint_stores_none(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        writer = _writer(session, org, ["score", "idempotency_key"], slug="nps")
        writer.write([[9.0, "k1"]])
        writer.finish(_planned([{"score": 9}], None))
    (response,) = stored(sessions, "nps")
    assert response.touchpoint is None
    assert_rollups_match(sessions)


def test_keys_stored_before_are_skipped_and_left_out_of_the_rollups(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions.begin() as session:
        writer = _writer(session, org, ["score", "channel", "idempotency_key"])
        writer.write([[4.0, "web", "a"], [2.0, "web", "b"]])
        writer.finish(
            _planned(
                [{"score": 4, "channel": "web"}, {"score": 2, "channel": "web"}],
                "after support ticket",
            )
        )
    later = RECEIVED + timedelta(days=1)
    with sessions.begin() as session:
        writer = _writer(session, org, ["score", "channel", "idempotency_key"], received_at=later)
        rows = [[4.0, "web", "a"], [5.0, "sms", "c"], [1.0, "web", "b"]]
        writer.write(rows)
        assert writer.inserted == 1
        day = later.date().isoformat()
        planned = Counter(
            {
                (day, "web", "after support ticket", 4.0): 1,
                (day, "sms", "after support ticket", 5.0): 1,
                (day, "web", "after support ticket", 1.0): 1,
            }
        )
        writer.finish(planned)
    assert [(r.idempotency_key, r.score) for r in stored(sessions)] == [
        ("a", 4.0),
        ("b", 2.0),
        ("c", 5.0),
    ]
    assert_rollups_match(sessions)


def test_rollup_counts_that_disagree_with_the_rows_are_refused(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions() as session, session.begin():
        writer = _writer(session, org, ["score", "idempotency_key"])
        writer.write([[5.0, "k1"]])
        with pytest.raises(RuntimeError, match="disagree"):
            writer.finish(_planned([{"score": 5}, {"score": 4}], "after support ticket"))
        session.rollback()


def test_more_rows_than_one_statement_holds(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    count = bulk.ROWS_PER_STATEMENT * 2 + 7
    with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        writer = _writer(session, org, ["contact", "score", "submitted_at", "idempotency_key"])
        moment = instant_text(datetime(2026, 1, 5, tzinfo=UTC), dialect)
        writer.write([[f"c{i}", float(1 + i % 5), moment, f"k{i}"] for i in range(count)])
        writer.finish(
            Counter(
                ("2026-01-05", "", "after support ticket", float(1 + i % 5)) for i in range(count)
            )
        )
        assert (writer.inserted, writer.contacts_created) == (count, count)
    assert len(stored(sessions)) == count
    assert_rollups_match(sessions)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(ALL_FIELDS))
def test_rows_may_carry_their_fields_in_any_order(
    sessions: sessionmaker[Session], org: Organisation, order: list[str]
) -> None:
    """Parameters follow the order the writer is told; the stored response is the same."""
    with sessions.begin() as session:
        dialect = session.get_bind().dialect.name
        session.execute(text("DELETE FROM responses"))
        session.execute(text("DELETE FROM daily_rollups"))
        row = dict(zip(ALL_FIELDS, _full_row(dialect, 1), strict=True))
        writer = _writer(session, org, order)
        writer.write([[row[name] for name in order]])
        writer.finish(Counter({("2026-03-01", "email", "after call", 4.0): 1}))
    (response,) = stored(sessions)
    assert (response.score, response.comment, response.language) == (4.0, "comment 1", "sv")
    assert (response.channel, response.touchpoint, response.idempotency_key) == (
        "email",
        "after call",
        "key-1",
    )
    assert response.properties == {"agent": "a1", "tier": "gold"}
    assert _utc(response.submitted_at) == datetime(2026, 3, 1, 9, 31, tzinfo=UTC)
    assert response.contact_id is not None


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (["score"], "rows must hold score and idempotency_key; unknown: \\[\\]"),
        (["idempotency_key"], "rows must hold score and idempotency_key"),
        (["score", "idempotency_key", "nickname"], "unknown: \\['nickname'\\]"),
        (["score", "idempotency_key", "id"], "unknown: \\['id'\\]"),
        (["score", "score", "idempotency_key"], "a field twice"),
    ],
)
def test_rows_without_score_or_key_or_with_unknown_fields_are_refused(
    sessions: sessionmaker[Session], org: Organisation, fields: list[str], words: str
) -> None:
    with sessions() as session:
        with pytest.raises(ValueError, match=words):
            _writer(session, org, fields)
        session.rollback()


def test_close_gives_sqlite_its_page_cache_back(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    with sessions() as session:
        connection = session.connection()
        if connection.dialect.name != "sqlite":
            pytest.skip("a SQLite setting")
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        writer = _writer(session, org, ["score", "idempotency_key"])
        during = connection.exec_driver_sql("PRAGMA cache_size").scalar()
        assert during == -bulk.SQLITE_CACHE_KIB != before
        writer.close()
        writer.close()  # twice is harmless
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before
        session.rollback()


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)))
def test_instant_text_reads_back_to_the_instant(moment: datetime) -> None:
    sqlite = instant_text(moment.replace(tzinfo=UTC), "sqlite")
    assert datetime.strptime(sqlite, "%Y-%m-%d %H:%M:%S.%f") == moment
    postgres = instant_text(moment.replace(tzinfo=UTC), "postgresql")
    assert postgres == sqlite + "+00"
    assert sqlite[:10] == moment.date().isoformat()


def test_every_row_field_has_a_column_and_a_constant_when_absent(
    sessions: sessionmaker[Session], org: Organisation
) -> None:
    """Any subset of fields (with score and key) builds a statement naming each column once."""
    optional = [name for name in bulk.FIELDS if name not in ("score", "idempotency_key")]
    with sessions() as session:
        for size in range(len(optional) + 1):
            for chosen in itertools.combinations(optional, size):
                writer = _writer(session, org, ["score", "idempotency_key", *chosen])
                statement = writer._statement(2)
                columns = statement.split("(", 1)[1].split(")", 1)[0].split(", ")
                assert sorted(columns) == sorted(set(columns))
                assert set(columns) == set(Response.__table__.columns.keys()) - {"id"}
                writer.close()
        session.rollback()
