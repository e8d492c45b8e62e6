"""Benchmark: the score-drop detector's false-alarm rate on stable data and its detection
delay on simulated drops (``metrics.drift_detection``, the settings the app uses).

1. False alarms: ``--segments`` segments of CSAT answers (1-5, a true CSAT of 80%; with
   ``--metric nps`` 0-10 answers, 80% promoters) for ``--days`` days at several daily
   volumes, nothing changing; every day after the first 28 is examined as the daily
   scan does. Reported: alerts per segment-day, and days with at least one alert (the
   family-wise rate the correction holds at ``family_alpha``).
2. Detection delay: one segment among the same stable ones drops by 5, 10 or 20 points
   from a given day on; the delay is the number of days from the drop's first day to the
   first alert in that segment (1 = on the first day), over ``--trials`` runs; "missed"
   counts runs without an alert within 14 days.

Usage: ``.venv/bin/python bench/alert_detection.py [--segments 20] [--days 400] [--trials 100]``
"""

from __future__ import annotations

import argparse
import statistics
from datetime import date, timedelta

import numpy as np

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.metrics.drift_detection import DetectorSettings, detect_drops, scan_drops

START = date(2026, 1, 1)
SPEC = MetricSpec.default("csat")


def day_histogram(rng: np.random.Generator, n: int, csat: float) -> Histogram:
    """``n`` answers whose share in the top band is ``csat`` (see ``_shares``)."""
    values, shares = _shares(csat)
    counts = rng.multinomial(n, shares)
    return Histogram({value: int(c) for value, c in zip(values, counts, strict=True)})


def _shares(good: float) -> tuple[list[int], list[float]]:
    if SPEC.metric.value == "nps":
        # ``good`` promoters (9-10); the rest 60% passives, 40% detractors: a stable NPS of
        # 80 - 8 = 72 at ``good`` 0.8, and a drop of x points of promoters costs 1.4x points.
        rest = 1 - good
        return list(range(11)), [rest * 0.4 / 7] * 7 + [rest * 0.3, rest * 0.3] + [
            good * 0.5,
            good * 0.5,
        ]
    bad = 1 - good
    return list(range(1, 6)), [bad * 0.2, bad * 0.3, bad * 0.5, good * 0.45, good * 0.55]


def stable_series(
    rng: np.random.Generator, segments: int, days: int, volume: int
) -> dict[str, dict[date, Histogram]]:
    return {
        f"segment {s}": {
            START + timedelta(days=d): day_histogram(rng, int(rng.poisson(volume)), 0.80)
            for d in range(days)
        }
        for s in range(segments)
    }


def false_alarms(
    segments: int, days: int, volume: int, seed: int, settings: DetectorSettings
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    scans = scan_drops(stable_series(rng, segments, days, volume), SPEC, settings)
    alerts = sum(len(scan.drops) for scan in scans)
    tested = sum(scan.tested for scan in scans)
    days_alerting = sum(1 for scan in scans if scan.drops)
    return alerts / max(1, tested), days_alerting / max(1, len(scans))


def delay(
    segments: int, volume: int, drop: float, trials: int, seed: int, settings: DetectorSettings
) -> tuple[list[int], int]:
    rng = np.random.default_rng(seed)
    onset = settings.baseline_days + 10
    delays: list[int] = []
    missed = 0
    for _ in range(trials):
        series = stable_series(rng, segments, onset, volume)
        horizon = 14
        for d in range(onset, onset + horizon):
            day = START + timedelta(days=d)
            for name, per_day in series.items():
                csat = 0.80 - drop / 100 if name == "segment 0" else 0.80
                per_day[day] = day_histogram(rng, int(rng.poisson(volume)), csat)
        for offset in range(horizon):
            day = START + timedelta(days=onset + offset)
            scan = detect_drops(series, day, SPEC, settings)
            if any(found.segment == "segment 0" for found in scan.drops):
                delays.append(offset + 1)
                break
        else:
            missed += 1
    return delays, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--metric", choices=("csat", "nps"), default="csat")
    parser.add_argument(
        "--looks-per-day",
        type=int,
        default=1,
        help="1: a daily run (the command line); 24: the app's hourly scan, whose level is "
        "24 times stricter (the day is still examined once here, complete).",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="family_alpha; the app examines each complete day at 0.025 (and the day so far "
        "at 0.025 over 24 looks).",
    )
    args = parser.parse_args()
    global SPEC
    SPEC = MetricSpec.default(args.metric)
    settings = DetectorSettings(family_alpha=args.alpha, looks_per_day=args.looks_per_day)
    nominal = settings.family_alpha / args.segments / args.looks_per_day
    print(
        f"false alarms: {args.segments} stable segments x {args.days} days, "
        f"{args.metric.upper()} (80% in the top band), "
        f"family_alpha {settings.family_alpha}, {args.looks_per_day} look(s) a day "
        f"(per segment-day at most {nominal:.5f})"
    )
    print(f"{'answers/day':>12} {'alerts per segment-day':>24} {'days with an alert':>20}")
    for volume in (10, 50, 200, 1000):
        rate, days_rate = false_alarms(
            args.segments, args.days, volume, args.seed + volume, settings
        )
        print(f"{volume:>12} {rate:>24.5f} {days_rate:>20.4f}")
    print()
    print(f"detection delay (days, 1 = the drop's first day), {args.trials} trials each")
    print(
        f"{'answers/day':>12} {'drop':>6} {'median':>7} {'mean':>6} {'max':>4} "
        f"{'missed (14 d)':>14}"
    )
    for volume in (10, 50, 200, 1000):
        for drop in (5, 10, 20):
            found, missed = delay(
                args.segments, volume, drop, args.trials, args.seed + drop, settings
            )
            median = statistics.median(found) if found else float("nan")
            mean = statistics.fmean(found) if found else float("nan")
            worst = max(found) if found else 0
            print(f"{volume:>12} {drop:>6} {median:>7.1f} {mean:>6.2f} {worst:>4} {missed:>14}")


if __name__ == "__main__":
    main()
