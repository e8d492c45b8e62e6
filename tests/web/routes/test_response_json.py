"""``stored_json`` writes the bytes ``ResponseOut`` would, without building the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cxpulse.store.responses import StoredResponse
from cxpulse.web.routes.responses import stored_json
from cxpulse.web.schemas import ResponseOut


def _stored(**changes: object) -> StoredResponse:
    values: dict[str, object] = {
        "id": 41,
        "organisation_id": 3,
        "survey_id": 7,
        "contact_id": None,
        "score": 9.0,
        "comment": "Quick and friendly",
        "language": "en",
        "channel": "web",
        "touchpoint": "checkout",
        "properties": {"plan": "pro"},
        "submitted_at": datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC),
        "received_at": datetime(2026, 3, 4, 5, 6, 8, tzinfo=UTC),
        "source": "api",
        "invitation_id": None,
        "idempotency_key": "order-1",
    }
    values.update(changes)
    return StoredResponse(**values)  # type: ignore[arg-type]


def _through_model(stored: StoredResponse) -> bytes:
    from cxpulse.store import shown_comments

    model = ResponseOut(
        id=stored.id,
        survey_id=stored.survey_id,
        contact_id=stored.contact_id,
        score=stored.score,
        comment=shown_comments.shown_comment(stored.comment),
        language=stored.language,
        channel=stored.channel,
        touchpoint=stored.touchpoint,
        properties=stored.properties,
        submitted_at=stored.submitted_at,
        received_at=stored.received_at,
        source=stored.source,
        idempotency_key=stored.idempotency_key,
    )
    return model.model_dump_json().encode()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"contact_id": 12, "comment": None, "language": None, "idempotency_key": None},
        {"comment": 'Quote " and <b>tag</b>, ünïcode ✓', "properties": {}},
        {"score": 0.0, "channel": None, "touchpoint": None},
        {"submitted_at": datetime(1999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))},
    ],
)
def test_the_same_bytes_as_the_model(changes: dict[str, object]) -> None:
    stored = _stored(**changes)
    assert stored_json(stored) == _through_model(stored)


def test_every_field_of_the_model_is_written() -> None:
    import json

    assert list(json.loads(stored_json(_stored()))) == list(ResponseOut.model_fields)
