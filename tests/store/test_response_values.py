"""The response values declared once: each a column of ``responses``, each in every view."""

from __future__ import annotations

from dataclasses import fields

from cxpulse.store.drilldown import DrillRow
from cxpulse.store.models import Response
from cxpulse.store.response_fields import EXPORT_COLUMNS
from cxpulse.store.response_submissions import StoredResponse
from cxpulse.store.response_values import VALUE_NAMES, ResponseValues
from cxpulse.store.rule_inputs import AnswerRow
from cxpulse.web.schemas import ResponseOut


def test_every_value_is_a_column_of_responses() -> None:
    assert set(VALUE_NAMES) <= set(Response.__table__.c.keys())
    assert tuple(f.name for f in fields(ResponseValues)) == VALUE_NAMES


def test_files_carry_every_value() -> None:
    """Exports write each value a view shows: a column of its own, or properties one per name."""
    assert set(VALUE_NAMES) - set(EXPORT_COLUMNS) == {"properties"}


def test_every_view_of_a_response_carries_the_values_in_the_api_order() -> None:
    for view in (StoredResponse, DrillRow, AnswerRow):
        names = [f.name for f in fields(view)]
        assert [n for n in names if n in VALUE_NAMES] == list(VALUE_NAMES), view
    # The API writes the values first, in their order, then what only it has.
    assert tuple(ResponseOut.model_fields)[: len(VALUE_NAMES)] == VALUE_NAMES
