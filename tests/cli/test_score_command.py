"""``cxpulse score`` through the real console script, as a user runs it."""

from __future__ import annotations

import csv
import gc
import io
import json
import subprocess
import sys
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
    assert "1 blank answer not scored" in notes
    assert "1 invalid answer skipped" in notes
    assert "9" in notes


def test_csat_on_another_scale_with_both_bands(tmp_path: Path) -> None:
    path = tmp_path / "four.csv"
    path.write_text("rating\n" + "4\n" * 6 + "3\n" * 2 + "1\n" * 2, encoding="utf-8")
    args = ["-s", "rating", "--scale", "1-4", "--top-min", "3", "--bottom-max", "2"]
    data = score_json(str(path), *args)
    assert data["rows"][0]["value"] == pytest.approx(80.0)


def test_by_region_and_month_prints_each_region_and_each_month(nps_csv: Path) -> None:
    # The README promises "for the whole file and for each region and month".
    common = ["score", str(nps_csv), "-m", "nps", "-s", "score", "--date", "when", "--by", "region"]
    markdown = run(*common, "-f", "markdown").stdout
    labels = [
        line.split(" | ")[0].lstrip("| ") for line in markdown.splitlines()[2:] if "|" in line
    ]
    assert labels == [
        "overall",
        "region=north, month=All",
        "region=north, month=2018-03",
        "region=north, month=2018-04",
        "region=north, month=(blank)",
        "region=south, month=All",
        "region=south, month=2018-03",
        "region=south, month=2018-04",
        "region=All, month=2018-03",
        "region=All, month=2018-04",
        "region=All, month=(blank)",
    ]
    # Subtotals are the answers added up: north is 70 answers, March 70 over both regions.
    assert "| region=north, month=All | 28.6 | 7.3 to 47.5 | 70 |" in markdown
    assert "| region=All, month=2018-03 | 100.0 | 90.3 to 100.0 | 70 |" in markdown
    table = run(*common, "-f", "table").stdout
    assert "month=All" in table
    assert "region=All" in table
    assert "All: every value of that column" in " ".join(table.split())
    # JSON and CSV stay one row per group for programs and sheets (no double counting).
    data = score_json(*common[1:])
    assert [row["group"] for row in data["rows"][:2]] == [
        {},
        {"region": "north", "month": "2018-03"},
    ]
    assert len(data["rows"]) == 6


def test_csv_says_all_and_true_false_as_a_spreadsheet_reads_them(nps_csv: Path) -> None:
    common = ["score", str(nps_csv), "-m", "nps", "-s", "score", "--date", "when", "--by", "region"]
    text = run(*common, "-f", "csv").stdout
    assert "True" not in text
    assert "False" not in text
    assert "(all)" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (rows[0]["region"], rows[0]["month"], rows[0]["too_small"]) == ("All", "All", "false")
    blank_month = next(row for row in rows if row["month"] == "")
    assert blank_month["too_small"] == "true"


def test_one_answer_is_inside_its_own_interval(tmp_path: Path) -> None:
    # Issue 11: one detractor showed "-100.0 | -98.5 to 48.5" (adjusted Wald, clipped).
    path = tmp_path / "one.csv"
    path.write_text("score,team\n2,a\n10,b\n", encoding="utf-8")
    markdown = run("score", str(path), "-m", "nps", "-s", "score", "--by", "team", "-f", "markdown")
    assert "| team=a | -100.0 | -100.0 to 58.7 | 1 |" in markdown.stdout
    assert "| team=b | 100.0 | -58.7 to 100.0 | 1 |" in markdown.stdout
    # A mean of one answer has no t interval: shown as a single dash, null in JSON.
    mean = run("score", str(path), "-m", "mean", "-s", "score", "--scale", "0-10", "--by", "team")
    text = run(
        "score",
        str(path),
        "-m",
        "mean",
        "-s",
        "score",
        "--scale",
        "0-10",
        "--by",
        "team",
        "-f",
        "markdown",
    ).stdout
    assert "| team=a | 2.0 | – | 1 |" in text
    rows = score_json(str(path), "-m", "mean", "-s", "score", "--scale", "0-10", "--by", "team")[
        "rows"
    ]
    assert rows[1]["ci_low"] is None
    assert mean.returncode == 0


def test_scoring_a_file_loads_no_pydantic(nps_csv: Path) -> None:
    # Typer converts option values with pydantic; cxpulse.cli.coercion settles plain values
    # itself, which saves a tenth of `cxpulse score` on a large file (docs/benchmarks.md).
    program = (
        "import sys\n"
        "from cxpulse.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'), file=sys.stderr)\n"
    )
    arguments = ["score", str(nps_csv), "-m", "nps", "--by", "region", "--level", "0.9"]
    arguments += ["--date", "when", "--date-format", "%d/%m/%Y %H:%M", "-p", "month"]
    result = subprocess.run(
        [sys.executable, "-c", program, *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stderr.strip() == "[]"
    assert json.loads(result.stdout)["rows"][0]["n"] == 140


def test_the_cycle_collector_is_back_on_after_score(nps_csv: Path) -> None:
    from typer.testing import CliRunner

    from cxpulse.cli import load_commands

    app = load_commands(["score"])
    assert gc.isenabled()
    done = CliRunner().invoke(app, ["score", str(nps_csv), "-m", "nps", "-f", "json"])
    assert done.exit_code == 0, done.output
    assert gc.isenabled()
    failed = CliRunner().invoke(app, ["score", str(nps_csv), "-m", "nps", "-s", "nothing"])
    assert failed.exit_code == 1
    assert gc.isenabled()
