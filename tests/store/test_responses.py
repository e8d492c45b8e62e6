from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.orm import Session

from cxpulse.store import contacts, responses, rollups, surveys
from cxpulse.store.errors import Invalid, NotFound
from cxpulse.store.models import MAX_COMMENT_LENGTH, Organisation, Response, Survey
from cxpulse.store.responses import NewResponse, ResponseFilters

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Response)) or 0


def test_a_response_is_stored_with_its_segments(
    session: Session, org: Organisation, survey: Survey
) -> None:
    ann = contacts.create_contact(session, org.id, external_id="c1")
    cet = timezone(timedelta(hours=1))
    response, created = responses.add_response(
        session,
        org.id,
        survey.id,
        4,
        submitted_at=datetime(2024, 3, 1, 0, 30, tzinfo=cet),
        comment="  Snabb hjälp, tack!  ",
        language="sv",
        channel="email",
        properties={"agent": "Lena", "order_id": 1234},
        contact_id=ann.id,
        source="widget",
    )
    assert created
    session.expire_all()
    stored = responses.get_response(session, org.id, response.id)
    assert stored.score == 4
    assert stored.comment == "Snabb hjälp, tack!"
    assert stored.properties == {"agent": "Lena", "order_id": "1234"}
    # Stored and returned in UTC: 00:30 at +01:00 is the previous day in UTC.
    assert stored.submitted_at == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)
    assert stored.submitted_at.tzinfo is UTC
    assert stored.received_at.tzinfo is UTC
    # The survey's touchpoint is the default.
    assert stored.touchpoint == "after support ticket"
    assert stored.source == "widget"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"score": 6}, "score"),
        ({"score": 3.5}, "score"),
        ({"score": float("nan")}, "score"),
        ({"score": True}, "score"),
        ({"comment": "x" * (MAX_COMMENT_LENGTH + 1)}, "comment"),
        ({"submitted_at": datetime(2024, 1, 1)}, "submitted_at"),
        ({"source": "carrier-pigeon"}, "source"),
        ({"properties": {"agent": ["a", "b"]}}, "properties.agent"),
        ({"channel": "c" * 51}, "channel"),
    ],
)
def test_bad_responses_are_refused_by_field(
    session: Session, survey: Survey, changes: dict[str, object], field: str
) -> None:
    item = {"survey_id": survey.id, "score": 5, **changes}
    with pytest.raises(Invalid) as raised:
        responses.add_responses(session, survey.organisation_id, [NewResponse(**item)])  # type: ignore[arg-type]
    assert raised.value.field == field
    assert _count(session) == 0


def test_a_comment_at_the_limit_is_kept_whole(session: Session, survey: Survey) -> None:
    response, _ = responses.add_response(
        session, survey.organisation_id, survey.id, 3, comment="y" * MAX_COMMENT_LENGTH
    )
    assert response.comment is not None
    assert len(response.comment) == MAX_COMMENT_LENGTH


def test_a_batch_is_all_or_nothing_and_errors_name_the_item(
    session: Session, org: Organisation, survey: Survey
) -> None:
    items = [NewResponse(survey.id, 5), NewResponse(survey.id, 9), NewResponse(survey.id, 1)]
    with pytest.raises(Invalid) as raised:
        responses.add_responses(session, org.id, items)
    assert (raised.value.index, raised.value.field) == (1, "score")
    assert _count(session) == 0
    with pytest.raises(NotFound):
        responses.add_responses(session, org.id, [NewResponse(987_654, 5)])
    with pytest.raises(NotFound):
        responses.add_response(session, org.id, survey.id, 5, contact_id=987_654)


def test_idempotency_keys_store_a_response_once(
    session: Session, org: Organisation, survey: Survey
) -> None:
    first, created = responses.add_response(
        session, org.id, survey.id, 5, channel="email", idempotency_key="ticket-1"
    )
    assert created
    again, created = responses.add_response(
        session, org.id, survey.id, 1, channel="chat", idempotency_key="ticket-1"
    )
    assert not created
    assert again.id == first.id
    assert again.score == 5
    results = responses.add_responses(
        session,
        org.id,
        [
            NewResponse(survey.id, 4, idempotency_key="ticket-2"),
            NewResponse(survey.id, 4, idempotency_key="ticket-1"),
            NewResponse(survey.id, 3),
            NewResponse(survey.id, 4, idempotency_key="ticket-2"),
            NewResponse(survey.id, 2),
        ],
    )
    assert [created for _, created in results] == [True, False, True, False, True]
    assert results[1][0].id == first.id
    assert results[3][0].id == results[0][0].id
    assert [r.score for r, _ in results] == [4, 5, 3, 4, 2]
    assert _count(session) == 4
    assert sum(rollups.stored(session).values()) == 4
    assert rollups.stored(session) == rollups.recount(session)


def test_the_same_key_in_another_survey_is_another_response(
    session: Session, org: Organisation, survey: Survey
) -> None:
    from cxpulse.store import surveys

    other = surveys.create_survey(session, org.id, slug="other", name="Other", metric="csat")
    _, created_a = responses.add_response(session, org.id, survey.id, 5, idempotency_key="k")
    _, created_b = responses.add_response(session, org.id, other.id, 5, idempotency_key="k")
    assert created_a
    assert created_b


def test_delete_and_update_keep_the_rollups_equal_to_a_recount(
    session: Session, org: Organisation, survey: Survey
) -> None:
    made = [
        responses.add_response(session, org.id, survey.id, score, submitted_at=T0, channel="web")[0]
        for score in (1, 2, 3, 4, 5, 5)
    ]
    responses.update_response(session, org.id, made[0].id, score=5)
    responses.update_response(session, org.id, made[1].id, channel=None)
    responses.update_response(session, org.id, made[2].id, submitted_at=T0 + timedelta(days=3))
    responses.update_response(session, org.id, made[3].id, comment="only a comment")
    responses.delete_response(session, org.id, made[4].id)
    with pytest.raises(NotFound):
        responses.delete_response(session, org.id, made[4].id)
    with pytest.raises(Invalid):
        responses.update_response(session, org.id, made[5].id, score=0)
    assert rollups.stored(session) == rollups.recount(session)
    counts = {
        (k.day.isoformat(), k.channel, k.score): n for k, n in rollups.stored(session).items()
    }
    assert counts == {
        ("2024-03-01", "web", 5.0): 2,
        ("2024-03-01", "", 2.0): 1,
        ("2024-03-04", "web", 3.0): 1,
        ("2024-03-01", "web", 4.0): 1,
    }
    # Deleting the last answer of a key removes its rollup row rather than leaving a zero.
    responses.delete_response(session, org.id, made[1].id)
    assert all(n > 0 for n in rollups.stored(session).values())
    assert len(rollups.stored(session)) == 3


def test_pages_follow_submitted_at_then_id_across_ties(
    session: Session, org: Organisation, survey: Survey
) -> None:
    # Seven responses share one instant: only the id orders them, and no page may repeat or
    # skip one of them.
    moments = [T0] * 7 + [T0 + timedelta(seconds=1), T0 - timedelta(seconds=1)] + [T0] * 3
    items = [NewResponse(survey.id, 1 + n % 5, submitted_at=m) for n, m in enumerate(moments)]
    stored = [r for r, _ in responses.add_responses(session, org.id, items)]
    expected = sorted(stored, key=lambda r: (r.submitted_at, r.id))

    seen: list[Response] = []
    after = None
    pages = 0
    while True:
        page = responses.list_responses(
            session, org.id, ResponseFilters(survey_id=survey.id), after=after, limit=3
        )
        seen.extend(page.items)
        pages += 1
        if page.next_after is None:
            break
        token = responses.encode_cursor(page.next_after)
        after = responses.decode_cursor(token)
    assert [r.id for r in seen] == [r.id for r in expected]
    assert pages == 4


def test_list_filters(session: Session, org: Organisation, survey: Survey) -> None:
    vip = contacts.create_contact(session, org.id, attributes={"plan": "enterprise"})
    responses.add_responses(
        session,
        org.id,
        [
            NewResponse(survey.id, 5, submitted_at=T0, channel="email", language="en"),
            NewResponse(
                survey.id,
                2,
                submitted_at=T0 + timedelta(days=1),
                channel="chat",
                comment="slow",
                properties={"agent": "Ann"},
                contact_id=vip.id,
            ),
            NewResponse(survey.id, 4, submitted_at=T0 + timedelta(days=2), source="import"),
        ],
    )

    def scores(**filters: object) -> list[float]:
        page = responses.list_responses(session, org.id, ResponseFilters(**filters))  # type: ignore[arg-type]
        return [r.score for r in page.items]

    assert scores() == [5, 2, 4]
    assert scores(channel="chat") == [2]
    assert scores(language="en") == [5]
    assert scores(source="import") == [4]
    assert scores(start=T0 + timedelta(hours=1)) == [2, 4]
    assert scores(end=(T0 + timedelta(days=1)).date()) == [5]
    assert scores(min_score=3) == [5, 4]
    assert scores(max_score=3) == [2]
    assert scores(has_comment=True) == [2]
    assert scores(has_comment=False) == [5, 4]
    assert scores(properties={"agent": "Ann"}) == [2]
    assert scores(properties={"agent": "Bob"}) == []
    assert scores(contact_attributes={"plan": "enterprise"}) == [2]
    assert scores(contact_id=vip.id) == [2]


def test_bad_page_tokens_and_sizes_are_refused(session: Session, org: Organisation) -> None:
    with pytest.raises(Invalid, match="after"):
        responses.decode_cursor("not-a-token")
    with pytest.raises(Invalid, match="limit"):
        responses.list_responses(session, org.id, limit=0)


def test_imports_count_what_they_stored_and_skip_repeats(
    session: Session, org: Organisation, survey: Survey
) -> None:
    rows = [
        NewResponse(survey.id, 1 + n % 5, submitted_at=T0 + timedelta(hours=n), source="import")
        for n in range(10)
    ]
    keyed = [
        NewResponse(survey.id, 5, submitted_at=T0, idempotency_key=f"row-{n}", channel="email")
        for n in range(6)
    ]
    first = responses.import_responses(session, org.id, rows + keyed + keyed[:2])
    assert first == responses.ImportCounts(created=16, repeated=2)
    again = responses.import_responses(session, org.id, keyed)
    assert again == responses.ImportCounts(created=0, repeated=6)
    assert _count(session) == 16
    assert rollups.stored(session) == rollups.recount(session)
    with pytest.raises(Invalid) as raised:
        responses.import_responses(session, org.id, [rows[0], NewResponse(survey.id, 0)])
    assert raised.value.index == 1
    assert _count(session) == 16


def test_rows_can_be_checked_one_by_one_before_storing(survey: Survey) -> None:
    responses.check_new_response(survey, NewResponse(survey.id, 3))
    with pytest.raises(Invalid) as raised:
        responses.check_new_response(survey, NewResponse(survey.id, 7), index=41)
    assert (raised.value.field, raised.value.index) == ("score", 41)


def test_each_submission_gets_its_own_result(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    """``add_each``: one bad item fails alone; keys repeat as if sent one after the other."""
    foreign = contacts.create_contact(session, other_org.id, external_id="x")
    stored_before, _ = responses.add_response(session, org.id, survey.id, 5, idempotency_key="k0")
    results = responses.add_each(
        session,
        [
            (org.id, NewResponse(survey.id, 4, channel="email", idempotency_key="k1")),
            (org.id, NewResponse(survey.id, 9)),  # off the 1-5 scale
            (other_org.id, NewResponse(survey.id, 3)),  # survey of another organisation
            (org.id, NewResponse(survey.id, 2, contact_id=foreign.id)),
            (org.id, NewResponse(survey.id, 1, idempotency_key="k1")),  # repeat in the group
            (org.id, NewResponse(survey.id, 1, idempotency_key="k0")),  # stored before
            (org.id, NewResponse(survey.id, 3, comment="fine")),
        ],
    )
    first, created = results[0]  # type: ignore[misc]
    assert created
    assert first.score == 4
    assert first.channel == "email"
    assert isinstance(results[1], Invalid)
    assert results[1].field == "score"
    assert isinstance(results[2], NotFound)
    assert results[2].entity == "survey"
    assert isinstance(results[3], NotFound)
    assert results[3].entity == "contact"
    repeat, created = results[4]  # type: ignore[misc]
    assert not created
    assert repeat.id == first.id
    assert repeat.score == 4
    earlier, created = results[5]  # type: ignore[misc]
    assert not created
    assert earlier.id == stored_before.id
    assert earlier.score == 5
    last, created = results[6]  # type: ignore[misc]
    assert created
    assert last.comment == "fine"
    assert last.touchpoint == "after support ticket"
    assert _count(session) == 3
    assert rollups.stored(session) == rollups.recount(session)
    stored = session.get(Response, last.id)
    assert stored is not None
    assert stored.score == 3
    assert stored.organisation_id == org.id


def test_each_with_nothing_to_store(session: Session, org: Organisation) -> None:
    assert responses.add_each(session, []) == []
    (result,) = responses.add_each(session, [(org.id, NewResponse(999_999, 3))])
    assert isinstance(result, NotFound)


def test_a_key_whose_response_is_deleted_meanwhile_is_stored_again(
    engine: Engine, database_kind: str, session: Session, org: Organisation, survey: Survey
) -> None:
    """Between "insert unless the key is taken" and "read the one that took it", another
    transaction deletes that response: the key is free again, and the response is stored."""
    if database_kind == "sqlite":
        pytest.skip("SQLite serialises writers: nothing can delete between the two statements")
    session.commit()  # the organisation and survey, for the other connections
    with Session(engine) as first:
        responses.add_responses(first, org.id, [NewResponse(survey.id, 4, idempotency_key="k")])
        first.commit()
    deleted: list[int] = []

    def delete_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if deleted or not statement.startswith("INSERT INTO responses"):
            return
        with engine.connect() as other:  # a concurrent request, on its own connection
            gone = other.execute(delete(Response).where(Response.idempotency_key == "k"))
            other.commit()
            deleted.append(gone.rowcount)

    event.listen(engine, "after_cursor_execute", delete_meanwhile)
    try:
        with Session(engine) as second:
            [(stored, created)] = responses.add_responses(
                second, org.id, [NewResponse(survey.id, 2, idempotency_key="k")]
            )
            score = stored.score
            second.commit()
    finally:
        event.remove(engine, "after_cursor_execute", delete_meanwhile)
    assert deleted == [1]
    assert (score, created) == (2, True)
    with Session(engine) as check:
        assert check.scalars(select(Response.score)).all() == [2]


def test_each_with_several_surveys_in_one_batch(
    session: Session, org: Organisation, other_org: Organisation, survey: Survey
) -> None:
    """A batch of several surveys (and organisations) reads them in one IN list; a batch of
    one survey in a fixed statement: each answer lands in its own survey either way."""
    theirs = surveys.create_survey(
        session, other_org.id, slug="nps", name="NPS", metric="nps", status="active"
    )
    results = responses.add_each(
        session,
        [
            (org.id, NewResponse(survey.id, 4)),
            (other_org.id, NewResponse(theirs.id, 10)),
            (org.id, NewResponse(theirs.id, 7)),  # another organisation's survey
            (other_org.id, NewResponse(theirs.id, 11)),  # off the 0-10 scale
        ],
    )
    mine, created = results[0]  # type: ignore[misc]
    assert created
    assert mine.survey_id == survey.id
    assert mine.organisation_id == org.id
    other, created = results[1]  # type: ignore[misc]
    assert created
    assert other.survey_id == theirs.id
    assert other.organisation_id == other_org.id
    assert isinstance(results[2], NotFound)
    assert isinstance(results[3], Invalid)
    assert rollups.stored(session) == rollups.recount(session)
