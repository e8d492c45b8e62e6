"""``add_each`` stores, with each new answer, its rollup increment and its ``response-event``
outbox item, on both databases alike: SQLite through ``rollups.apply_deltas`` and
``response_events.queue``, PostgreSQL in the one statement that inserts the answers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select, text
from sqlalchemy.orm import Session

from cxpulse.store import accounts, response_events, responses, rollups, surveys
from cxpulse.store.errors import NotFound
from cxpulse.store.models import Organisation, OutboxItem, Response, Survey
from cxpulse.store.responses import NewResponse, StoredResponse


def _created(results: list[Any]) -> list[StoredResponse]:
    return [result[0] for result in results if isinstance(result, tuple) and result[1]]


def _check_events(session: Session, created: list[StoredResponse]) -> None:
    """One pending ``response-event`` per new answer, shaped as ``response_events.queue``
    makes it, and nothing else in the outbox."""
    items = session.scalars(select(OutboxItem).order_by(OutboxItem.id)).all()
    assert sorted(item.payload["response_id"] for item in items) == sorted(s.id for s in created)
    owners = {stored.id: stored.organisation_id for stored in created}
    for item in items:
        response_id = item.payload["response_id"]
        assert item.payload == {"response_id": response_id}
        assert item.kind == response_events.KIND
        assert item.organisation_id == owners[response_id]
        assert re.fullmatch(rf"response-event:{response_id}:[0-9a-f]{{16}}", item.dedupe_key)
        assert (item.state, item.attempts) == ("pending", 0)
        assert item.available_at == item.created_at
        assert item.locked_until is None


def test_each_new_answer_gets_its_rollup_and_event(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    """A batch mixing keyless answers, keys, a key repeated in the batch, a key stored before,
    an answer of another day and channels that sort differently by code point and by language:
    rollups equal a recount and each new answer, and only those, has one event."""
    earlier, _ = responses.add_response(session, org.id, survey.id, 5, idempotency_key="k0")
    session.execute(delete(OutboxItem))
    # 1 May at 23:30 two hours behind UTC: 2 May in UTC, the day the answer counts on.
    late = datetime(2024, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    results = responses.add_each(
        session,
        [
            (org.id, NewResponse(survey.id, 4, channel="Web")),
            (org.id, NewResponse(survey.id, 4, channel="app", idempotency_key="k2")),
            (org.id, NewResponse(survey.id, 2, channel="web", submitted_at=late)),
            (org.id, NewResponse(survey.id, 1, idempotency_key="k2")),  # repeat in the batch
            (org.id, NewResponse(survey.id, 3, idempotency_key="k0")),  # stored before
            (other_org.id, NewResponse(survey.id, 3)),  # not their survey
            (org.id, NewResponse(survey.id, 4, channel="Web", touchpoint="Émail")),
            (org.id, NewResponse(survey.id, 5, idempotency_key="k1", properties={"plan": "pro"})),
            (org.id, NewResponse(survey.id, 4, channel="Web")),
        ],
    )
    created = _created(results)
    assert [stored.score for stored in created] == [4, 4, 2, 4, 5, 4]
    repeat, stored_before = results[3], results[4]
    assert repeat == (created[1], False)
    assert isinstance(stored_before, tuple)
    assert (stored_before[0].id, stored_before[1]) == (earlier.id, False)
    # Each result is the row stored under its id (keyless ids follow the batch's order).
    for stored in created:
        row = session.get(Response, stored.id)
        assert row is not None
        assert (row.score, row.channel, row.touchpoint, row.properties) == (
            stored.score,
            stored.channel,
            stored.touchpoint,
            stored.properties,
        )
        assert (row.submitted_at, row.unverified) == (stored.submitted_at, False)
    assert rollups.stored(session) == rollups.recount(session)
    days = {key.day for key in rollups.stored(session)}
    assert len(days) == 2
    assert date(2024, 5, 2) in days
    _check_events(session, created)


def test_rollup_keys_are_added_in_sorted_order(
    session: Session, database_kind: str, org: Organisation, survey: Survey
) -> None:
    """Every writer adds a batch's rollup keys in the order of sorted ``RollupKey`` values
    (Python's order: text by code point), so two transactions sharing keys lock them in one
    order and cannot deadlock. Into an empty table, rows are laid out in insertion order.
    (SQLite has one writer at a time, so no order to keep, and no rowid on this table.)"""
    if database_kind == "sqlite":
        pytest.skip("SQLite serialises writers: they take no row locks")
    channels = ["web", "Web", "app", "Zoo", "émail", "email", None, "APP"]
    responses.add_each(
        session,
        [
            (org.id, NewResponse(survey.id, n % 5 + 1, channel=channel))
            for n, channel in enumerate(channels * 2)
        ],
    )
    laid_out = [
        rollups.RollupKey(org_id, survey_id, day, channel, touchpoint, float(score))
        for org_id, survey_id, day, channel, touchpoint, score in session.execute(
            text(
                "SELECT organisation_id, survey_id, day, channel, touchpoint, score"
                " FROM daily_rollups ORDER BY ctid"
            )
        )
    ]
    assert len(laid_out) > 8
    assert laid_out == sorted(laid_out)


def test_a_batch_of_only_repeated_keys_adds_nothing(
    session: Session, org: Organisation, survey: Survey
) -> None:
    responses.add_each(session, [(org.id, NewResponse(survey.id, 3, idempotency_key="k"))])
    before = rollups.stored(session)
    results = responses.add_each(
        session,
        [
            (org.id, NewResponse(survey.id, 5, idempotency_key="k")),
            (org.id, NewResponse(survey.id, 1, idempotency_key="k")),
        ],
    )
    assert [created for _, created in results] == [False, False]  # type: ignore[misc]
    assert rollups.stored(session) == before
    assert len(session.scalars(select(OutboxItem)).all()) == 1


@pytest.mark.parametrize("size", [1, 40])
def test_batches_of_any_size_keep_their_order(
    session: Session, org: Organisation, survey: Survey, size: int
) -> None:
    """Keyless answers come back in the order given, whatever the batch's size (on
    PostgreSQL one fixed statement serves every size)."""
    results = responses.add_each(
        session, [(org.id, NewResponse(survey.id, n % 5 + 1, comment=f"#{n}")) for n in range(size)]
    )
    created = _created(results)
    assert [stored.comment for stored in created] == [f"#{n}" for n in range(size)]
    assert [stored.id for stored in created] == sorted(stored.id for stored in created)
    for stored in created:
        row = session.get(Response, stored.id)
        assert row is not None
        assert row.comment == stored.comment
    assert rollups.stored(session) == rollups.recount(session)
    _check_events(session, created)


def test_a_key_deleted_meanwhile_is_stored_again_with_its_event(
    engine: Engine, database_kind: str, session: Session, org: Organisation, survey: Survey
) -> None:
    """Between "insert unless the key is taken" and "read the one that took it", another
    transaction deletes that response: the key is stored again, with its rollup and event."""
    if database_kind == "sqlite":
        pytest.skip("SQLite serialises writers: nothing can delete between the two statements")
    session.commit()  # the organisation and survey, for the other connections
    with Session(engine) as first:
        responses.add_each(first, [(org.id, NewResponse(survey.id, 4, idempotency_key="k"))])
        first.commit()
    deleted: list[int] = []

    def delete_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if deleted or "INSERT INTO responses" not in statement:
            return
        with engine.connect() as other:  # a concurrent request, on its own connection
            gone = other.execute(delete(Response).where(Response.idempotency_key == "k"))
            other.execute(delete(OutboxItem))
            other.commit()
            deleted.append(gone.rowcount)

    event.listen(engine, "after_cursor_execute", delete_meanwhile)
    try:
        with Session(engine) as second:
            [(stored, created)] = responses.add_each(  # type: ignore[misc]
                second, [(org.id, NewResponse(survey.id, 2, idempotency_key="k"))]
            )
            second.commit()
    finally:
        event.remove(engine, "after_cursor_execute", delete_meanwhile)
    assert deleted == [1]
    assert (stored.score, created) == (2, True)
    with Session(engine) as check:
        assert check.scalars(select(Response.score)).all() == [2]
        _check_events(check, [stored])
        counts = rollups.stored(check)
    # The deleted answer's increment stays (a raw delete; the store's own would remove it).
    day = stored.submitted_at.date()
    key = rollups.RollupKey(org.id, survey.id, day, "", "after support ticket", 2.0)
    assert counts[key] == 1
    assert counts[key._replace(score=4.0)] == 1


def test_items_of_revoked_or_unknown_keys_store_nothing(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    """``add_each_with_keys`` reads the keys with the surveys (one statement on PostgreSQL):
    an item whose key is revoked or unknown gets None and stores nothing, whether or not
    any survey of the batch exists; the others are stored as ``add_each`` stores them."""
    good, _ = accounts.create_api_key(session, org.id, name="good", scope="write")
    gone, _ = accounts.create_api_key(session, org.id, name="gone", scope="write")
    accounts.revoke_api_key(session, org.id, gone.id)
    theirs = surveys.create_survey(
        session, other_org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    results, active = responses.add_each_with_keys(
        session,
        [
            (org.id, good.id, NewResponse(survey.id, 4)),
            (org.id, gone.id, NewResponse(survey.id, 5)),
            (org.id, 999_999, NewResponse(survey.id, 5)),  # no such key
            (other_org.id, None, NewResponse(theirs.id, 9)),
            (org.id, good.id, NewResponse(999_998, 3)),  # no such survey
        ],
    )
    assert active == {good.id}
    assert results[1] is None
    assert results[2] is None
    assert isinstance(results[4], NotFound)
    created = _created(results)
    assert [(s.survey_id, s.score) for s in created] == [(survey.id, 4), (theirs.id, 9)]
    assert session.scalars(select(Response.score).order_by(Response.id)).all() == [4, 9]
    assert rollups.stored(session) == rollups.recount(session)
    _check_events(session, created)

    # Every survey unknown: the keys are still answered.
    results, active = responses.add_each_with_keys(
        session,
        [(org.id, good.id, NewResponse(999_998, 3)), (org.id, gone.id, NewResponse(999_998, 3))],
    )
    assert active == {good.id}
    assert isinstance(results[0], NotFound)
    assert results[1] is None
    assert responses.add_each_with_keys(session, []) == ([], set())


def test_values_are_stored_exactly(session: Session, org: Organisation, survey: Survey) -> None:
    """On PostgreSQL the rows travel as one JSON text: text beyond ASCII, quotes and
    backslashes, segment names and values, instants to the microsecond in another offset
    come back as given (and as the SQLite path stores them)."""
    comment = 'Très "bien" — back\\slash, 👍 and 日本語'
    properties = {"région": "Île-de-France", "plan": 'pro "max"', "a.b": "\\"}
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=-5)))
    [(stored, created)] = responses.add_each(  # type: ignore[misc]
        session,
        [
            (
                org.id,
                NewResponse(
                    survey.id,
                    3,
                    comment=comment,
                    properties=properties,
                    submitted_at=moment,
                    language="fr-CA",
                    channel="e-mail",
                    idempotency_key="clé-1",
                ),
            )
        ],
    )
    assert created
    row = session.get(Response, stored.id)
    assert row is not None
    session.refresh(row)
    assert (row.comment, row.properties, row.language) == (comment, properties, "fr-CA")
    assert row.submitted_at == moment
    assert row.idempotency_key == "clé-1"
    assert (stored.comment, stored.properties, stored.submitted_at) == (comment, properties, moment)
    # The answer counts on its UTC day (1 March), as the recount says.
    assert rollups.stored(session) == rollups.recount(session)
    assert {key.day for key in rollups.stored(session)} == {moment.astimezone(UTC).date()}
