import csv
import io
import json

import pytest

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.metrics.compare import Comparison, compare
from cxpulse.report.score_table import (
    comparison_to_csv,
    comparison_to_markdown,
    document,
    group_label,
    score_groups,
    scored_groups,
    skipped_text,
    table_to_csv,
    table_to_markdown,
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


def test_markdown_states_skipped_answers_below_the_table() -> None:
    rows = score_groups([], {(): Histogram({5: 3, 1: 1})}, MetricSpec.default("csat"))
    skipped = {"blank": 2, "invalid": 1, "invalid_values": ["9"], "invalid_lines": [4]}
    text = to_markdown(rows, 1, skipped)
    table, _, after = text.partition("\n\n")
    assert all(line.startswith("|") for line in table.splitlines())
    assert "2 blank answers" in after
    assert "1 invalid answer skipped" in after
    assert "lines 4" in after
    assert "no blank or invalid answers" in to_markdown(rows, 1, {"blank": 0, "invalid": 0})
    assert "Skipped" not in to_markdown(rows, 1)


def test_skipped_text_names_what_was_left_out() -> None:
    assert skipped_text({"blank": 0, "invalid": 0}) == "no blank or invalid answers"
    assert skipped_text({"blank": 3, "invalid": 0}) == "3 blank answers not scored"


def _comparison() -> Comparison:
    spec = MetricSpec.default("csat")
    return compare(Histogram({5: 90, 2: 10}), Histogram({5: 60, 1: 40}), spec)


def test_comparison_csv_is_one_flat_row_with_neutralised_labels() -> None:
    text = comparison_to_csv(_comparison(), "channel", "=email", "chat")
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 1
    row = table[0]
    assert row["a"] == "'=email"
    assert row["b"] == "chat"
    assert float(row["difference"]) == -30.0
    assert (row["a_n"], row["b_n"]) == ("100", "100")
    assert row["significant"] == "true"
    assert float(row["p_value"]) < 0.001


def test_comparison_markdown_has_both_sides_and_the_difference() -> None:
    lines = comparison_to_markdown(_comparison(), "channel", "email", "ch|at").splitlines()
    assert lines[0].startswith("|  | value | 95% interval |")
    assert lines[2].startswith("| channel=email | 90.0 |")
    assert lines[3].startswith("| channel=ch\\|at | 60.0 |")
    assert lines[4].startswith("| difference (B - A) | -30.0 |")
    assert "significant" in lines[4]


def test_plain_tables_as_csv_and_markdown() -> None:
    text = table_to_csv(["name", "n", "note"], [["+sum(A1)", 3, None]])
    assert text == "name,n,note\n'+sum(A1),3,\n"
    assert table_to_markdown(["a", "b"], [["x|y", "2"]]) == "| a | b |\n|---|---|\n| x\\|y | 2 |\n"


@pytest.mark.parametrize(
    "spec",
    [
        MetricSpec.default("nps"),
        MetricSpec.default("nps", nps_method="wald", level=0.9),
        MetricSpec.default("csat", min_n=2),
        MetricSpec.default("dsat"),
        MetricSpec.default("ces"),
        MetricSpec.default("mean"),
    ],
    ids=lambda spec: f"{spec.metric.value}-{spec.nps_method.value}",
)
def test_compact_json_is_the_document_as_json_dumps_writes_it(spec: MetricSpec) -> None:
    groups: dict[tuple[str | None, ...], Histogram] = {
        ("email", "2026-01"): Histogram({5: 3, 4: 2, 1: 1}),
        ('say "hi" \\ \u00e9t\u00e9 {x}', "2026-02"): Histogram({2: 1}),
        (None, "2026-01"): Histogram({}),  # no answers: NaN values become null
        ("chat", None): Histogram({1: 4, 3: 1, 7: 2}),
    }
    skipped = {"blank": 2, "invalid": 1, "invalid_values": ["x"], "invalid_lines": [3]}
    columns = ["channel", "month"]
    scored = scored_groups(columns, groups, spec)
    expected = to_json(
        document("m", spec, score_groups(columns, groups, spec), skipped), indent=None
    )
    assert scored.json("m", spec, skipped) == expected
    assert json.loads(expected)["rows"][0]["group"] == {}


def test_compact_json_without_groups_and_with_a_column_named_twice() -> None:
    spec = MetricSpec.default("nps")
    groups: dict[tuple[str | None, ...], Histogram] = {(): Histogram({10: 3, 0: 1})}
    expected = to_json(document("nps", spec, score_groups([], groups, spec), {}), indent=None)
    assert scored_groups([], groups, spec).json("nps", spec, {}) == expected
    twice: dict[tuple[str | None, ...], Histogram] = {
        ("a", "b"): Histogram({10: 1}),
        ("a", "c"): Histogram({0: 1}),
    }
    rows = score_groups(["x", "x"], twice, spec)
    expected = to_json(document("nps", spec, rows, {}), indent=None)
    assert scored_groups(["x", "x"], twice, spec).json("nps", spec, {}) == expected


def test_subtotals_follow_the_first_column_then_total_the_others() -> None:
    from cxpulse.report.score_table import rows_with_subtotals

    groups: dict[tuple[str | None, ...], Histogram] = {
        ("EU", "2026-01"): Histogram({5: 3, 1: 1}),
        ("EU", "2026-02"): Histogram({4: 2}),
        ("US", "2026-01"): Histogram({2: 2, 5: 2}),
        (None, "2026-02"): Histogram({5: 1}),
    }
    spec = MetricSpec.default("csat")
    rows = rows_with_subtotals(["Region", "month"], groups, spec)
    columns = ["Region", "month"]
    assert [group_label(row.group, columns) for row in rows] == [
        "overall",
        "Region=EU, month=All",
        "Region=EU, month=2026-01",
        "Region=EU, month=2026-02",
        "Region=US, month=All",
        "Region=US, month=2026-01",
        "Region=(blank), month=All",
        "Region=(blank), month=2026-02",
        "Region=All, month=2026-01",
        "Region=All, month=2026-02",
    ]
    by_label = {group_label(row.group, columns): row.result for row in rows}
    # Histograms add: a subtotal is scored as all its answers together.
    assert by_label["Region=EU, month=All"].n == 6
    assert by_label["Region=EU, month=All"].value == pytest.approx(5 / 6 * 100)
    assert by_label["Region=All, month=2026-01"].n == 8
    assert by_label["overall"].n == 11
    # One column: the groups are their own subtotals.
    single = rows_with_subtotals(["Region"], {("EU",): Histogram({5: 1})}, spec)
    assert [row.group for row in single] == [{}, {"Region": "EU"}]


def test_csv_writes_true_false_and_all_for_the_overall_row() -> None:
    rows = score_groups(["channel"], GROUPS, MetricSpec.default("csat", top_min=9))
    text = to_csv(rows, ["channel"])
    records = list(csv.DictReader(io.StringIO(text)))
    assert records[0]["channel"] == "All"
    assert [record["too_small"] for record in records] == ["false", "true", "false", "true"]
    assert "True" not in text
    assert table_to_csv(["a", "b", "c"], [[True, False, None]]) == "a,b,c\ntrue,false,\n"
