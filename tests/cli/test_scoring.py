"""The CLI through the real ``cxpulse`` console script, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CXPULSE = str(Path(sys.executable).parent / "cxpulse")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [CXPULSE, *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def score_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("score", *args, "--format", "json").stdout)
    return data


@pytest.fixture
def nps_csv(tmp_path: Path) -> Path:
    # 80 promoters, 20 passives, 40 detractors, 3 blanks; two regions and two months.
    lines = ["id,score,region,when"]
    scores = [10] * 80 + [7] * 20 + [3] * 40
    for i, value in enumerate(scores):
        region = "north" if i % 2 else "south"
        month = "03" if i < 70 else "04"
        lines.append(f"{i},{value},{region},15/{month}/2018 10:30")
    lines += ["200,,north,16/04/2018 09:00", "201, ,south,16/04/2018 09:00", "202,,north,"]
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


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


def test_compare_between_groups(tmp_path: Path) -> None:
    rows = ["channel,rating"] + ["email,5"] * 90 + ["email,2"] * 10
    rows += ["chat,5"] * 60 + ["chat,1"] * 40
    path = tmp_path / "c.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = json.loads(
        run(
            "compare",
            str(path),
            "-m",
            "csat",
            "-s",
            "rating",
            "--between",
            "channel=email,chat",
            "-f",
            "json",
        ).stdout
    )
    assert data["difference"] == pytest.approx(-30.0)
    assert data["p_value"] < 0.001
    assert data["significant"] is True
    text = run(
        "compare",
        str(path),
        "-m",
        "csat",
        "-s",
        "rating",
        "--between",
        "channel=email,chat",
        "-f",
        "table",
    ).stdout
    assert "significant" in text


def test_compare_periods_not_significant(nps_csv: Path) -> None:
    text = run(
        "compare",
        str(nps_csv),
        "-m",
        "nps",
        "-s",
        "score",
        "--date",
        "when",
        "--date-format",
        "%d/%m/%Y %H:%M",
        "--period",
        "month",
        "--periods",
        "2018-03,2018-04",
        "-f",
        "table",
    ).stdout
    assert "difference" in text


def test_samplesize_and_benchmark() -> None:
    data = json.loads(run("samplesize", "--metric", "nps", "--margin", "5", "-f", "json").stdout)
    assert data["n"] > 1000
    table = run("benchmark", "--industry", "banks", "-f", "table").stdout
    assert "80" in table
    assert "ACSI" in table
    unknown = run("benchmark", "--industry", "spaceflight", check=False)
    assert unknown.returncode != 0
    assert "Traceback" not in unknown.stderr


@pytest.mark.parametrize("command", ["score", "compare", "samplesize", "benchmark", "demo-file"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    text = run(command, "--help").stdout
    assert "Example" in text


def test_demo_scores_a_generated_file() -> None:
    text = run("demo-file", "--rows", "2000").stdout
    assert "NPS" in text
    assert "CSAT" in text
    assert "significant" in text
