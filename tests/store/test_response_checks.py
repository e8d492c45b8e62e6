"""The rules of ``store._values`` applied to every path that stores a response (batches,
submissions from many callers, imports, changes), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxpulse.store import responses, rollups
from cxpulse.store.errors import Invalid
from cxpulse.store.models import Organisation, Response, Survey
from cxpulse.store.responses import NewResponse


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Response)) or 0)


FAR_AHEAD = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
BAD_TIMES = [
    (FAR_AHEAD, "must not be more than one day in the future"),
    (datetime(2999, 1, 1, tzinfo=UTC), "must not be more than one day in the future"),
    (datetime(1969, 12, 31, 23, 59, tzinfo=UTC), "must be on or after 1970-01-01"),
]


@pytest.mark.parametrize(("moment", "message"), BAD_TIMES)
def test_every_path_that_stores_a_response_refuses_times_out_of_range(
    session: Session, org: Organisation, survey: Survey, moment: datetime, message: str
) -> None:
    item = NewResponse(survey.id, 5, submitted_at=moment)
    with pytest.raises(Invalid) as batch:
        responses.add_responses(session, org.id, [NewResponse(survey.id, 4), item])
    assert (batch.value.field, batch.value.message, batch.value.index) == (
        "submitted_at",
        message,
        1,
    )
    with pytest.raises(Invalid, match=message):
        responses.import_responses(session, org.id, [item])
    with pytest.raises(Invalid, match=message):
        responses.check_new_response(survey, item)
    (alone,) = responses.add_each(session, [(org.id, item)])
    assert isinstance(alone, Invalid)
    assert (alone.field, alone.message) == ("submitted_at", message)
    assert _count(session) == 0
    assert rollups.stored(session) == {}


def test_a_change_of_time_follows_the_same_rule(
    session: Session, org: Organisation, survey: Survey
) -> None:
    stored, _ = responses.add_response(session, org.id, survey.id, 4)
    for moment, message in BAD_TIMES:
        with pytest.raises(Invalid, match=message):
            responses.update_response(session, org.id, stored.id, submitted_at=moment)
    session.rollback()


def test_times_from_1970_to_a_day_ahead_are_stored(
    session: Session, org: Organisation, survey: Survey
) -> None:
    edges = [
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime.now(UTC) + timedelta(hours=23, minutes=59),
    ]
    stored = responses.add_responses(
        session, org.id, [NewResponse(survey.id, 3, submitted_at=moment) for moment in edges]
    )
    assert [response.submitted_at for response, _ in stored] == edges
    assert rollups.stored(session) == rollups.recount(session)


@pytest.mark.parametrize("text", ["a\x00b", "\x01", "x\x1b[2J", "\x7f", "\x9b", "x\ud800"])
def test_text_that_neither_database_should_hold_is_refused_on_both(
    session: Session, org: Organisation, survey: Survey, text: str
) -> None:
    # NUL was stored on SQLite and refused by PostgreSQL (a 500): now refused alike.
    for item, field in (
        (NewResponse(survey.id, 5, comment=text), "comment"),
        (NewResponse(survey.id, 5, channel=text), "channel"),
        (NewResponse(survey.id, 5, properties={"plan": text}), "properties.plan"),
        (NewResponse(survey.id, 5, properties={f"p{text}": "x"}), "properties"),
        (NewResponse(survey.id, 5, idempotency_key=text), "idempotency_key"),
    ):
        with pytest.raises(Invalid) as refused:
            responses.add_responses(session, org.id, [item])
        assert refused.value.field == field
        assert "remove it" in refused.value.message
        (alone,) = responses.add_each(session, [(org.id, item)])
        assert isinstance(alone, Invalid)
        assert alone.field == field
    assert _count(session) == 0


def test_names_with_quotes_brackets_dots_and_any_script_are_stored_intact(
    session: Session, org: Organisation, survey: Survey
) -> None:
    names = ['a"b', "x[0]", "a.b", "back\\slash", "$.x", "\u202ertl", "имя", "😀"]
    properties = {name: f"{name}\tvalue\r\n" for name in names}
    response, _ = responses.add_response(
        session, org.id, survey.id, 5, properties=properties, comment="Line\r\nLine\tend"
    )
    session.commit()
    session.expire_all()
    again = session.get(Response, response.id)
    assert again is not None
    assert again.properties == properties
    assert again.comment == "Line\r\nLine\tend"


def test_a_score_beyond_any_float_is_refused_not_overflowed(
    session: Session, org: Organisation, survey: Survey
) -> None:
    with pytest.raises(Invalid) as refused:
        responses.add_responses(session, org.id, [NewResponse(survey.id, 10**400)])
    assert refused.value.field == "score"
    assert refused.value.message.startswith("it is not on the 1-5 scale")
