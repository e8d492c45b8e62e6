"""``cxpulse demo-file`` through the real console script."""

from __future__ import annotations

from pathlib import Path

from .scoring_cli import run


def test_demo_scores_a_generated_file() -> None:
    text = run("demo-file", "--rows", "2000").stdout
    assert "NPS" in text
    assert "CSAT" in text
    assert "significant" in text


def test_demo_file_names_no_path_it_has_deleted(tmp_path: Path) -> None:
    text = " ".join(run("demo-file", "--rows", "200").stdout.split())
    assert (
        "Sample export with 200 answers (cxpulse-demo.csv, removed at the end; "
        "--keep PATH saves it)" in text
    )
    assert "/cxpulse-demo-" not in text  # the temporary folder's path
    kept = tmp_path / "sample.csv"
    text = "".join(run("demo-file", "--rows", "200", "--keep", str(kept)).stdout.split())
    assert kept.exists()
    # Kept, the file outlives the command, so its path is worth printing.
    assert f"Sampleexportwith200answers:{kept}" in text
