"""The one list of a response's fields, and every door that derives its own list from it.

The literal tuples below are the lists each door spelled out before they were derived from
``cxpulse.store.response_fields``: export headers, import mapping fields and the bulk
writer's fields must stay exactly these, in this order.
"""

from __future__ import annotations

import pytest

from cxpulse.collect import bulk, mapping
from cxpulse.store import response_fields
from cxpulse.store.models import Response
from cxpulse.store.response_fields import FIELDS, PROPERTY_PREFIX
from cxpulse.store.responses import ResponseFilters
from cxpulse.web import exporters

EXPORT_HEADER_BEFORE = (
    "id",
    "survey_id",
    "submitted_at",
    "received_at",
    "score",
    "comment",
    "language",
    "channel",
    "touchpoint",
    "source",
    "contact_id",
    "idempotency_key",
    # Added with the contact consent after a low score; never mapped by imports.
    "contact_consent",
)
MAPPING_FIELDS_BEFORE = (
    "score",
    "submitted_at",
    "comment",
    "channel",
    "language",
    "touchpoint",
    "contact",
    "id",
)
ROW_FIELDS_BEFORE = {
    "contact",
    "score",
    "comment",
    "language",
    "channel",
    "touchpoint",
    "properties",
    "submitted_at",
    "idempotency_key",
}


def test_export_header_is_unchanged() -> None:
    assert response_fields.EXPORT_COLUMNS == EXPORT_HEADER_BEFORE
    assert exporters.BASE_COLUMNS == EXPORT_HEADER_BEFORE
    plan = exporters.ExportPlan(1, ResponseFilters(), ["agent", "plan"])
    assert plan.columns == [*EXPORT_HEADER_BEFORE, "property.agent", "property.plan"]


def test_import_mapping_fields_and_their_help_are_unchanged() -> None:
    assert mapping.FIELDS == MAPPING_FIELDS_BEFORE
    assert mapping.field_help() == (
        "score, submitted_at, comment, channel, language, touchpoint, contact, id, property.NAME"
    )
    assert mapping.PROPERTY_PREFIX == PROPERTY_PREFIX == "property."
    assert response_fields.REQUIRED_MAPPED == ("score",)


def test_every_mapping_field_and_alias_parses_as_before() -> None:
    text = ",".join(f"{name}=col {i}" for i, name in enumerate(MAPPING_FIELDS_BEFORE))
    assert mapping.parse_map([text]) == {
        name: f"col {i}" for i, name in enumerate(MAPPING_FIELDS_BEFORE)
    }
    assert mapping.parse_map(["score=s,date=d,response_id=r,contact_id=c,property.a=p"]) == {
        "score": "s",
        "submitted_at": "d",
        "id": "r",
        "contact": "c",
        "property.a": "p",
    }
    with pytest.raises(mapping.MappingError, match="the fields are score, submitted_at"):
        mapping.parse_map(["idempotency_key=k"])


def test_bulk_rows_carry_the_same_fields_as_before() -> None:
    assert set(bulk.FIELDS) == ROW_FIELDS_BEFORE
    assert response_fields.REQUIRED_IN_ROWS == ("score", "idempotency_key")


def test_every_field_is_a_column_of_the_responses_table() -> None:
    columns = set(Response.__table__.columns.keys())
    assert {field.column for field in FIELDS} <= columns
    assert len({field.column for field in FIELDS}) == len(FIELDS)
    assert len({field.name for field in FIELDS}) == len(FIELDS)


def test_the_mapping_understands_the_export_name_of_every_mapped_field() -> None:
    """An export column's name is its mapping field or an alias of it (``contact_id``)."""
    for field in FIELDS:
        if field.exported and field.mapped_as is not None:
            assert mapping.canonical_field(field.column) == field.mapped_as
    assert mapping.canonical_field(PROPERTY_PREFIX + "agent") == "property.agent"
