"""Running the real ``cxpulse`` console script, and the small answer files its tests score."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def compare_json(*args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run("compare", *args, "--format", "json").stdout)
    return data


def write_nps_csv(folder: Path) -> Path:
    # 80 promoters, 20 passives, 40 detractors, 3 blanks; two regions and two months.
    lines = ["id,score,region,when"]
    scores = [10] * 80 + [7] * 20 + [3] * 40
    for i, value in enumerate(scores):
        region = "north" if i % 2 else "south"
        month = "03" if i < 70 else "04"
        lines.append(f"{i},{value},{region},15/{month}/2018 10:30")
    lines += ["200,,north,16/04/2018 09:00", "201, ,south,16/04/2018 09:00", "202,,north,"]
    path = folder / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_channels_csv(folder: Path) -> Path:
    # email 90 % satisfied, chat 60 %, over two months; one blank and one 9 (off 1-5).
    lines = ["channel,rating,day"]
    for channel, good, bad in (("email", 90, 10), ("chat", 60, 40)):
        for i in range(good + bad):
            rating = 5 if i < good else 2
            lines.append(f"{channel},{rating},2026-0{1 + i % 2}-15")
    lines += ["chat,,2026-01-16", "email,9,2026-02-16"]
    path = folder / "channels.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
