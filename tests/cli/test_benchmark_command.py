"""``cxpulse benchmark`` through the real console script."""

from __future__ import annotations

import csv
import io

from .scoring_cli import run


def test_benchmark_table_and_unknown_industry() -> None:
    table = run("benchmark", "--industry", "banks", "-f", "table").stdout
    assert "80" in table
    assert "ACSI" in table
    unknown = run("benchmark", "--industry", "spaceflight", check=False)
    assert unknown.returncode != 0
    assert "Traceback" not in unknown.stderr


def test_benchmark_as_csv_and_markdown() -> None:
    result = run("benchmark", "--industry", "banks", "-f", "csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert table[0]["industry"] == "banks"
    assert table[0]["score"] == "80.0"
    assert "ACSI" in result.stderr
    markdown = run("benchmark", "--industry", "banks", "-f", "markdown").stdout
    assert markdown.startswith("| industry | score | year | reading | source |")
    assert "ACSI scores are indices" in markdown
