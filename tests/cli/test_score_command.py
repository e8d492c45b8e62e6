"""``cxpulse score`` through the real console script, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from .scoring_cli import run, score_json, write_channels_csv, write_nps_csv


@pytest.fixture
def nps_csv(tmp_path: Path) -> Path:
    return write_nps_csv(tmp_path)


@pytest.fixture
def channels_csv(tmp_path: Path) -> Path:
    return write_channels_csv(tmp_path)


def test_score_json_overall_and_groups(nps_csv: Path) -> None:
    data = score_json(
        str(nps_csv),
        "--metric",
        "nps",
        "--score",
        "score",
        "--by",
        "region",
        "--date",
        "when",
        "--date-format",
        "%d/%m/%Y %H:%M",
        "--period",
        "month",
    )
    assert data["metric"] == "nps"
    assert data["level"] == 0.95
    overall = data["rows"][0]
    assert overall["group"] == {}
    assert overall["n"] == 140
    assert overall["value"] == pytest.approx(28.571428571428573, abs=1e-12)
    assert overall["ci_low"] < overall["value"] < overall["ci_high"]
    assert overall["counts"] == {"promoters": 80, "passives": 20, "detractors": 40}
    assert data["skipped"]["blank"] == 3
    groups = {(r["group"]["region"], r["group"]["month"]) for r in data["rows"][1:]}
    assert ("north", "2018-03") in groups
    assert ("south", "2018-04") in groups
    assert sum(r["n"] for r in data["rows"][1:]) == 140
    assert all(
        set(r) >= {"group", "value", "ci_low", "ci_high", "n", "counts", "too_small"}
        for r in data["rows"]
    )


def test_score_table_csv_and_markdown_formats(nps_csv: Path) -> None:
    table = run("score", str(nps_csv), "-m", "nps", "-s", "score", "--format", "table").stdout
    assert "28.6" in table
    assert "overall" in table
    csv_text = run("score", str(nps_csv), "-m", "nps", "-s", "score", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("value,ci_low,ci_high,n")
    markdown = run("score", str(nps_csv), "-m", "nps", "-s", "score", "-f", "markdown").stdout
    assert markdown.startswith("| group |")
    assert "28.6" in markdown


def test_invalid_values_fail_with_values_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("score\n9\n11\n7.5\nabc\n10\n", encoding="utf-8")
    result = run("score", str(path), "-m", "nps", "-s", "score", check=False)
    assert result.returncode != 0
    message = result.stderr
    assert "3 invalid" in message
    assert "11" in message
    assert "7.5" in message
    assert "abc" in message
    assert "3" in message
    assert "4" in message
    assert "5" in message
    assert "Traceback" not in message
    data = json.loads(
        run("score", str(path), "-m", "nps", "-s", "score", "--skip-invalid", "-f", "json").stdout
    )
    assert data["rows"][0]["n"] == 2
    assert data["skipped"]["invalid"] == 3
    assert data["skipped"]["invalid_lines"] == [3, 4, 5]


@pytest.mark.parametrize(
    ("content", "args", "words"),
    [
        ("score\n5\n", ["-s", "rating"], "score"),  # missing column lists existing ones
        ("", ["-s", "score"], "empty"),
        (
            "score,when\n5,2018-13-45\n",
            ["-s", "score", "--date", "when", "--date-format", "%Y-%m-%d", "--period", "month"],
            "when",
        ),
    ],
)
def test_bad_files_give_one_clear_line(
    tmp_path: Path, content: str, args: list[str], words: str
) -> None:
    path = tmp_path / "input.csv"
    path.write_text(content, encoding="utf-8")
    result = run("score", str(path), "-m", "csat", *args, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert words in result.stderr
    assert result.stderr.strip().startswith("error:")


def test_missing_file(tmp_path: Path) -> None:
    result = run("score", str(tmp_path / "nope.csv"), check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_score_csv_and_markdown_report_skipped_answers(channels_csv: Path) -> None:
    common = ["score", str(channels_csv), "-s", "rating", "--skip-invalid"]
    result = run(*common, "-f", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:4] == ["value", "ci_low", "ci_high", "n"]
    assert len(rows) == 2
    assert "1 blank" in result.stderr
    assert "1 invalid" in result.stderr
    markdown = run(*common, "-f", "markdown").stdout
    table, _, notes = markdown.partition("\n\n")
    assert all(line.startswith("|") for line in table.splitlines())
    assert "1 blank answers" in notes
    assert "1 invalid answers" in notes
    assert "9" in notes


def test_csat_on_another_scale_with_both_bands(tmp_path: Path) -> None:
    path = tmp_path / "four.csv"
    path.write_text("rating\n" + "4\n" * 6 + "3\n" * 2 + "1\n" * 2, encoding="utf-8")
    args = ["-s", "rating", "--scale", "1-4", "--top-min", "3", "--bottom-max", "2"]
    data = score_json(str(path), *args)
    assert data["rows"][0]["value"] == pytest.approx(80.0)
