"""``cxpulse compare`` through the real console script, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from .scoring_cli import compare_json, run, write_channels_csv, write_nps_csv


@pytest.fixture
def nps_csv(tmp_path: Path) -> Path:
    return write_nps_csv(tmp_path)


@pytest.fixture
def channels_csv(tmp_path: Path) -> Path:
    return write_channels_csv(tmp_path)


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


def test_compare_reports_the_blank_and_invalid_answers_it_skipped(channels_csv: Path) -> None:
    # channels.csv holds one blank rating and one 9 (off 1-5) on line 203.
    common = ["compare", str(channels_csv), "-s", "rating", "--skip-invalid"]
    between = ["--between", "channel=email,chat"]
    data = compare_json(*common[1:], *between)
    assert data["skipped"] == {
        "blank": 1,
        "invalid": 1,
        "invalid_values": ["9"],
        "invalid_lines": [203],
    }
    expected = "1 blank answer not scored; 1 invalid answer skipped (values 9; lines 203)"
    table = run(*common, *between, "-f", "table").stdout
    assert expected in " ".join(table.split())
    markdown = run(*common, *between, "-f", "markdown").stdout
    assert markdown.endswith(f"\nSkipped: {expected}.\n")
    result = run(*common, *between, "-f", "csv")
    assert result.stderr == f"skipped: {expected}\n"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert (rows[0]["significant"], rows[0]["a_too_small"]) == ("true", "false")
