"""The CLI through the real ``cxpulse`` console script, as a user runs it."""

from __future__ import annotations

import csv
import io
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


@pytest.fixture
def channels_csv(tmp_path: Path) -> Path:
    # email 90 % satisfied, chat 60 %, over two months; one blank and one 9 (off 1-5).
    lines = ["channel,rating,day"]
    for channel, good, bad in (("email", 90, 10), ("chat", 60, 40)):
        for i in range(good + bad):
            rating = 5 if i < good else 2
            lines.append(f"{channel},{rating},2026-0{1 + i % 2}-15")
    lines += ["chat,,2026-01-16", "email,9,2026-02-16"]
    path = tmp_path / "channels.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def compare_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("compare", *args, "--format", "json").stdout)
    return data


def test_compare_between_groups_ignores_the_date_column(channels_csv: Path) -> None:
    common = [str(channels_csv), "-s", "rating", "--skip-invalid"]
    data = compare_json(*common, "--between", "channel=email,chat", "--date", "day")
    assert data["difference"] == pytest.approx(-30.0)
    assert (data["a"]["n"], data["b"]["n"]) == (100, 100)
    assert data["column"] == "channel"
    mixed = run(
        *["compare", *common, "--between", "channel=email,chat", "--period", "month"], check=False
    )
    assert mixed.returncode == 2
    assert mixed.stderr.strip().startswith("error:")


def test_compare_periods_groups_by_the_period(channels_csv: Path) -> None:
    common = [str(channels_csv), "-s", "rating", "--skip-invalid", "--date", "day"]
    data = compare_json(*common, "--periods", "2026-01,2026-02")
    assert data["column"] == "month"
    assert data["a"]["n"] + data["b"]["n"] == 200
    days = compare_json(*common, "--period", "day", "--periods", "2026-01-15,2026-02-15")
    assert days["column"] == "day"
    assert days["a"]["n"] == 100


def test_compare_as_csv_and_markdown(channels_csv: Path) -> None:
    common = ["compare", str(channels_csv), "-s", "rating", "--skip-invalid"]
    between = ["--between", "channel=email,chat"]
    rows = list(csv.DictReader(io.StringIO(run(*common, *between, "-f", "csv").stdout)))
    assert len(rows) == 1
    assert (rows[0]["column"], rows[0]["a"], rows[0]["b"]) == ("channel", "email", "chat")
    assert float(rows[0]["difference"]) == pytest.approx(-30.0)
    markdown = run(*common, *between, "-f", "markdown").stdout
    assert markdown.startswith("|  | value |")
    assert "| channel=email | 90.0 |" in markdown
    assert "difference (B - A) | -30.0" in markdown


def test_samplesize_and_benchmark_as_csv_and_markdown() -> None:
    rows = list(csv.DictReader(io.StringIO(run("samplesize", "-m", "nps", "-f", "csv").stdout)))
    assert rows[0]["metric"] == "nps"
    assert int(rows[0]["n"]) > 1000
    markdown = run("samplesize", "-m", "csat", "--margin", "3", "-f", "markdown").stdout
    assert markdown.startswith("| metric | margin | level | n |")
    assert "| csat | 3 | 0.95 | 1068 |" in markdown
    result = run("benchmark", "--industry", "banks", "-f", "csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert table[0]["industry"] == "banks"
    assert table[0]["score"] == "80.0"
    assert "ACSI" in result.stderr
    markdown = run("benchmark", "--industry", "banks", "-f", "markdown").stdout
    assert markdown.startswith("| industry | score | year | reading | source |")
    assert "ACSI scores are indices" in markdown


@pytest.mark.parametrize("command", ["score", "compare", "samplesize", "benchmark"])
def test_format_help_lists_only_formats_that_work(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no wrapping inside the options box
    text = " ".join(run(command, "--help").stdout.split())
    assert "table (default on a terminal), json (default otherwise), csv or markdown" in text
    assert "table or json." not in text


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


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["-m", "csat", "--scale", "2-9"], "CSAT is asked on"),
        (["-m", "ces", "--scale", "thumbs"], "CES is asked on 1-7 or 1-5, not thumbs"),
        (["-m", "ces", "--scale", "0-10"], "CES is asked on"),
        (["-m", "nps", "--scale", "0-10", "--top-min", "11"], "--top-min 11 lies outside"),
        (["-m", "csat", "--bottom-max", "0"], "--bottom-max 0 lies outside the 1-5 scale"),
    ],
)
def test_scales_and_bands_that_do_not_fit_are_refused(
    channels_csv: Path, args: list[str], words: str
) -> None:
    for command in ("score", "compare"):
        extra = ["--between", "channel=email,chat"] if command == "compare" else []
        result = run(command, str(channels_csv), "-s", "rating", *args, *extra, check=False)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        message = " ".join(result.stderr.split())
        assert message.startswith("error:")
        assert words in message
        assert "Traceback" not in result.stderr


def test_csat_on_another_scale_with_both_bands(tmp_path: Path) -> None:
    path = tmp_path / "four.csv"
    path.write_text("rating\n" + "4\n" * 6 + "3\n" * 2 + "1\n" * 2, encoding="utf-8")
    args = ["-s", "rating", "--scale", "1-4", "--top-min", "3", "--bottom-max", "2"]
    data = score_json(str(path), *args)
    assert data["rows"][0]["value"] == pytest.approx(80.0)
