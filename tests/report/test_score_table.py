import csv
import io
import json

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.report.score_table import (
    document,
    group_label,
    score_groups,
    to_csv,
    to_json,
    to_markdown,
)

GROUPS: dict[tuple[str | None, ...], Histogram] = {
    ("email",): Histogram({10: 50, 8: 20, 3: 10}),
    ("chat",): Histogram({9: 5, 2: 5}),
    (None,): Histogram({10: 1}),
}


def test_overall_row_first_and_groups_sorted_with_blank_last() -> None:
    rows = score_groups(["channel"], GROUPS, MetricSpec.default("nps"))
    assert [row.group for row in rows] == [
        {},
        {"channel": "chat"},
        {"channel": "email"},
        {"channel": None},
    ]
    assert rows[0].result.n == 91
    assert rows[2].result.value == (50 - 10) / 80 * 100


def test_no_group_columns_gives_only_overall() -> None:
    rows = score_groups([], {(): Histogram({5: 3, 1: 1})}, MetricSpec.default("csat"))
    assert len(rows) == 1
    assert rows[0].result.value == 75.0


def test_json_document_shape() -> None:
    spec = MetricSpec.default("nps")
    rows = score_groups(["channel"], GROUPS, spec)
    data = json.loads(to_json(document("nps", spec, rows, {"blank": 2, "invalid": 0})))
    assert set(data) >= {"metric", "level", "rows", "skipped"}
    assert data["rows"][0]["group"] == {}
    assert data["rows"][1]["counts"] == {"promoters": 5, "passives": 0, "detractors": 5}
    assert data["rows"][1]["too_small"] is True
    assert data["skipped"]["blank"] == 2


def test_csv_neutralises_group_values_and_keeps_precision() -> None:
    groups: dict[tuple[str | None, ...], Histogram] = {
        ("=cmd()",): Histogram({10: 80, 7: 20, 3: 40})
    }
    rows = score_groups(["channel"], groups, MetricSpec.default("nps"))
    table = list(csv.DictReader(io.StringIO(to_csv(rows, ["channel"]))))
    assert table[1]["channel"] == "'=cmd()"
    assert float(table[1]["value"]) == 80 / 140 * 100 - 40 / 140 * 100
    assert table[1]["promoters"] == "80"


def test_markdown_rounds_only_for_display_and_escapes_pipes() -> None:
    groups: dict[tuple[str | None, ...], Histogram] = {("a|b",): Histogram({10: 80, 7: 20, 3: 40})}
    text = to_markdown(score_groups(["channel"], groups, MetricSpec.default("nps")))
    assert "28.6" in text
    assert "a\\|b" in text
    assert group_label({"channel": None}) == "channel=(blank)"
