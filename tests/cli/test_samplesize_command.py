"""``cxpulse samplesize`` through the real console script."""

from __future__ import annotations

import csv
import io
import json

from .scoring_cli import run


def test_samplesize_json() -> None:
    data = json.loads(run("samplesize", "--metric", "nps", "--margin", "5", "-f", "json").stdout)
    assert data["n"] > 1000


def test_samplesize_as_csv_and_markdown() -> None:
    rows = list(csv.DictReader(io.StringIO(run("samplesize", "-m", "nps", "-f", "csv").stdout)))
    assert rows[0]["metric"] == "nps"
    assert int(rows[0]["n"]) > 1000
    markdown = run("samplesize", "-m", "csat", "--margin", "3", "-f", "markdown").stdout
    assert markdown.startswith("| metric | margin | level | n |")
    assert "| csat | 3 | 0.95 | 1068 |" in markdown
