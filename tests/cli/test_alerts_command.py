"""``cxpulse alerts`` on a real file, in a child process as a user runs it."""

from __future__ import annotations

import csv
import json
import random
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from .scoring_cli import run as run_cxpulse


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``cxpulse alerts ARGS`` through the installed console script."""
    return run_cxpulse("alerts", *args, check=check)


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 days of 60 answers a day in each of three channels, CSAT about 85%; from the 50th
    day on, email drops to about 45%."""
    rng = random.Random(11)
    path = tmp_path_factory.mktemp("alerts") / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["created", "channel", "rating"])
        for offset in range(60):
            day = date(2026, 9, 1) + timedelta(days=offset)
            for channel in ("email", "chat", "phone"):
                share = 0.45 if channel == "email" and offset >= 50 else 0.85
                for n in range(60):
                    good = rng.random() < share
                    rating = rng.choice([4, 5]) if good else rng.choice([1, 2, 3])
                    writer.writerow([f"{day.isoformat()} {8 + n % 10:02d}:15:00", channel, rating])
            if offset == 10:
                writer.writerow([f"{day.isoformat()} 09:00:00", "chat", ""])
    return path


def _json(path: Path, *extra: str) -> dict[str, Any]:
    result = run(str(path), "--score", "rating", "--metric", "csat", "--date", "created", *extra)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_drop_in_one_channel_is_one_alert_raised_on_its_first_day(answers: Path) -> None:
    data = _json(answers, "--by", "channel", "--format", "json")
    assert data["segments_watched"] == 4
    assert data["blank_answers"] == 1
    email = [a for a in data["alerts"] if a["segment"] == "channel=email"]
    assert len(email) == 1
    (alert,) = email
    assert alert["day"] == "2026-10-21"  # the first day of the drop
    assert alert["days_detected"] >= 5
    assert alert["change"] < -25
    assert alert["ci_low"] <= alert["change"] <= alert["ci_high"] < 0
    assert alert["n_after"] == 60
    assert alert["n_before"] == 28 * 60
    assert alert["baseline_start"] == "2026-09-23"
    assert alert["p_value"] < 0.001
    assert "channel=email" in alert["explanation"]
    # The stable channels raise nothing on this file.
    assert {a["segment"] for a in data["alerts"]} <= {"channel=email", "all"}


def test_the_table_shows_the_day_the_drop_its_interval_and_the_evidence(answers: Path) -> None:
    out = run(
        str(answers),
        "-s",
        "rating",
        "-m",
        "csat",
        "--date",
        "created",
        "--by",
        "channel",
        "--format",
        "table",
    ).stdout
    assert "2026-10-21  channel=email:" in out
    assert "interval" in out
    assert "n=1680" in out


def test_csv_output_is_one_row_per_alert(answers: Path) -> None:
    out = run(
        str(answers), "-s", "rating", "--date", "created", "--by", "channel", "--format", "csv"
    ).stdout
    rows = list(csv.DictReader(out.splitlines()))
    assert any(row["segment"] == "channel=email" and row["day"] == "2026-10-21" for row in rows)


def test_a_minimum_drop_and_the_baseline_length_are_options(answers: Path) -> None:
    assert _json(answers, "--by", "channel", "--min-drop", "50", "-f", "json")["alerts"] == []
    shorter = _json(answers, "--by", "channel", "--baseline-days", "14", "-f", "json")
    email = [a for a in shorter["alerts"] if a["segment"] == "channel=email"]
    assert email[0]["n_before"] == 14 * 60


def test_bad_input_gets_a_clear_error(answers: Path, tmp_path: Path) -> None:
    missing = run(str(answers), "-s", "nope", "--date", "created", check=False)
    assert missing.returncode != 0
    assert "nope" in missing.stderr
    no_date = run(str(answers), "-s", "rating", check=False)
    assert no_date.returncode == 2
    assert "--date" in no_date.stderr
