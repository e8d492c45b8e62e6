"""Which column feeds which field: presets, --map, unmapping, and a missing score column."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxpulse.collect.import_options import ImportOptions
from cxpulse.collect.import_plan import plan_columns
from cxpulse.collect.import_results import ImportInputError
from cxpulse.collect.presets import get_preset
from cxpulse.engine import open_source


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "zendesk.csv"
    path.write_text(
        "Ticket ID,Rating,Comment,Created at,Agent\n1,5,Nice,2024-03-01 10:00:00,Lena\n",
        encoding="utf-8",
    )
    return path


def test_a_preset_finds_its_columns_and_the_map_adds_and_unmaps(tmp_path: Path) -> None:
    options = ImportOptions(mapping={"property.agent": " agent ", "comment": ""})
    with open_source(_csv(tmp_path)) as source:
        plan = plan_columns(source, get_preset("zendesk"), options)
    assert plan.columns["score"] == "Rating"
    assert plan.columns["property.agent"] == "Agent"
    assert "comment" not in plan.columns
    assert [slot.name for slot in plan.slots][:2] == ["score", "date"]
    assert [slot.field for slot in plan.properties] == ["property.agent"]
    assert plan.slot("p0") is not None
    assert plan.key == "column 'Ticket ID'"


def test_without_a_score_column_the_columns_are_listed(tmp_path: Path) -> None:
    with open_source(_csv(tmp_path)) as source, pytest.raises(ImportInputError) as raised:
        plan_columns(source, None, ImportOptions(mapping={"comment": "Comment"}))
    assert "no score column: map one with --map score=COLUMN" in str(raised.value)
    assert "'Ticket ID', 'Rating'" in str(raised.value)
