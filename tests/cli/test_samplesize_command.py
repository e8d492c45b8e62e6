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


def test_samplesize_prose_names_its_assumptions_in_words() -> None:
    nps = " ".join(run("samplesize", "-m", "nps", "--margin", "5", "-f", "table").stdout.split())
    assert "assuming 50% promoters and 50% detractors" in nps
    csat = " ".join(
        run(
            "samplesize", "-m", "csat", "--margin", "3", "--expected", "85", "-f", "table"
        ).stdout.split()
    )
    assert "assuming an expected CSAT of 85%" in csat
    ces = " ".join(run("samplesize", "-m", "ces", "--margin", "0.5", "-f", "table").stdout.split())
    assert "assuming a standard deviation of 3" in ces
    for text in (nps, csat, ces):
        assert "_pct" not in text
        assert "sd " not in text
