"""A realistic, generated sample export: what a helpdesk's survey download looks like.

Scores drift by channel and over time so that the demo has real differences to find; some
answers are blank, as in every real export.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path

CHANNELS = ("email", "chat", "phone", "web")
REGIONS = ("north", "south", "east", "west")
_CSAT_WEIGHTS = {
    "email": (4, 6, 10, 35, 45),
    "chat": (8, 9, 13, 35, 35),
    "phone": (5, 7, 12, 36, 40),
    "web": (6, 8, 14, 34, 38),
}
_COMMENTS = (
    "Quick and friendly help, thank you!",
    "Took far too long to get an answer.",
    "The agent solved it on the first call.",
    "Delivery was late and nobody told me.",
    "",
    "",
    "",
)


def _nps_answer(rng: random.Random, month_index: int) -> int:
    # Promoters grow slowly over the year so the quarters differ.
    promoter_share = 0.42 + 0.01 * month_index
    draw = rng.random()
    if draw < promoter_share:
        return rng.choice((9, 10))
    if draw < promoter_share + 0.30:
        return rng.choice((7, 8))
    return rng.randint(0, 6)


def write_demo_csv(path: Path, rows: int = 5000, seed: int = 7) -> Path:
    rng = random.Random(seed)  # noqa: S311 - sample data, not a secret
    start = datetime(2025, 11, 1, 8, 0)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["response_id", "answered_at", "channel", "region", "nps", "csat", "comment"]
        )
        for number in range(1, rows + 1):
            answered = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            month_index = (answered.year - start.year) * 12 + answered.month - start.month
            channel = rng.choice(CHANNELS)
            csat_answer = rng.choices(range(1, 6), weights=_CSAT_WEIGHTS[channel])[0]
            writer.writerow(
                [
                    f"R{number:06d}",
                    answered.strftime("%d/%m/%Y %H:%M"),
                    channel,
                    rng.choice(REGIONS),
                    "" if rng.random() < 0.03 else _nps_answer(rng, month_index),
                    "" if rng.random() < 0.05 else csat_answer,
                    rng.choice(_COMMENTS),
                ]
            )
    return path
