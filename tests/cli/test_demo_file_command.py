"""``cxpulse demo-file`` through the real console script."""

from __future__ import annotations

from .scoring_cli import run


def test_demo_scores_a_generated_file() -> None:
    text = run("demo-file", "--rows", "2000").stdout
    assert "NPS" in text
    assert "CSAT" in text
    assert "significant" in text
