"""The score-drop and theme-spike detector (``metrics.drift_detection``): its false-alarm
rate on simulated stable data, its detection of real drops, and its rules (minimum sizes,
the worse side, the correction, the numbers it explains itself with)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from cxpulse.metrics import Histogram, MetricSpec
from cxpulse.metrics.compare import compare
from cxpulse.metrics.drift_detection import (
    DetectorSettings,
    detect_drops,
    detect_spikes,
    fisher_one_sided,
    scan_drops,
)

START = date(2026, 1, 1)
CSAT = MetricSpec.default("csat")


def _csat_day(rng: np.random.Generator, n: int, share: float) -> Histogram:
    bad, good = 1 - share, share
    counts = rng.multinomial(n, [bad * 0.2, bad * 0.3, bad * 0.5, good * 0.45, good * 0.55])
    return Histogram({v: int(c) for v, c in zip(range(1, 6), counts, strict=True)})


def _stable(
    rng: np.random.Generator, segments: int, days: int, volume: int, share: float = 0.8
) -> dict[str, dict[date, Histogram]]:
    return {
        f"s{s}": {
            START + timedelta(days=d): _csat_day(rng, int(rng.poisson(volume)), share)
            for d in range(days)
        }
        for s in range(segments)
    }


@pytest.mark.parametrize(("volume", "seed"), [(15, 1), (120, 2)])
def test_the_false_alarm_rate_on_stable_data_stays_at_the_nominal_level(
    volume: int, seed: int
) -> None:
    # 20 segments x 272 examined days = 5,440 tests at 0.05 / 20 each; without the
    # correction (or with the normal interval alone in small windows) the rate is several
    # times the bound.
    settings = DetectorSettings()
    scans = scan_drops(_stable(np.random.default_rng(seed), 20, 300, volume), CSAT, settings)
    tested = sum(scan.tested for scan in scans)
    alerts = sum(len(scan.drops) for scan in scans)
    assert tested >= 5_000
    assert alerts / tested <= settings.family_alpha / 20 * 1.5
    days_alerting = sum(1 for scan in scans if scan.drops) / len(scans)
    assert days_alerting <= settings.family_alpha * 1.5


def test_without_the_correction_the_same_data_alarm_far_more() -> None:
    # The test above can fail: a level per test nine times higher (0.45 / 20, near an
    # uncorrected 0.025) alarms several times as often.
    series = _stable(np.random.default_rng(2), 20, 120, 120)
    plain = DetectorSettings(family_alpha=0.45)
    corrected = DetectorSettings()
    assert sum(len(s.drops) for s in scan_drops(series, CSAT, corrected)) * 5 < sum(
        len(s.drops) for s in scan_drops(series, CSAT, plain)
    )


@pytest.mark.parametrize("seed", range(5))
def test_a_20_point_drop_with_enough_answers_is_found_within_two_days(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    series = _stable(rng, 10, 40, 80)
    onset = START + timedelta(days=40)
    for d in range(3):
        for name, days in series.items():
            share = 0.6 if name == "s3" else 0.8
            days[onset + timedelta(days=d)] = _csat_day(rng, 80, share)
    found = [
        scan.day
        for scan in scan_drops(series, CSAT, days=[onset + timedelta(days=d) for d in range(3)])
        if any(drop.segment == "s3" for drop in scan.drops)
    ]
    assert found
    assert found[0] <= onset + timedelta(days=1)


def _series_with_drop(
    recent: Histogram, baseline_day: Histogram, days: int = 28
) -> dict[str, dict[date, Histogram]]:
    day = START + timedelta(days=days)
    per_day = {START + timedelta(days=d): baseline_day for d in range(days)}
    per_day[day] = recent
    return {"channel=email": per_day}


def test_an_alert_carries_the_numbers_of_compare_and_explains_them() -> None:
    baseline = Histogram({5: 30, 4: 10, 2: 10})  # 80% a day, 50 answers
    recent = Histogram({5: 20, 4: 10, 1: 30})  # 50%
    day = START + timedelta(days=28)
    scan = detect_drops(_series_with_drop(recent, baseline), day, CSAT)
    (drop,) = scan.drops
    assert scan.tested == 1
    assert drop.n_before == 28 * 50
    assert drop.n_after == 60
    assert drop.before == pytest.approx(80)
    assert drop.after == pytest.approx(50)
    assert drop.change == pytest.approx(-30)
    assert drop.ci_low <= drop.change <= drop.ci_high < 0
    # The interval is compare's Newcombe interval at the one-sided Bonferroni level.
    spec = MetricSpec.default("csat", level=drop.level)
    same = compare(Histogram({v: c * 28 for v, c in baseline.counts.items()}), recent, spec)
    assert (same.ci_low, same.ci_high) == (drop.ci_low, drop.ci_high)
    assert drop.level == pytest.approx(0.9)  # 1 - 2 * 0.05 / 1 test
    assert drop.p_value < 1e-6
    assert drop.adjusted_p == drop.p_value
    line = drop.explanation()
    for text in ("CSAT", "channel=email", "80.0", "50.0", "-30.0", "n=1400", "n=60"):
        assert text in line
    assert drop.to_dict()["explanation"] == line


def test_small_windows_are_not_tested_and_not_counted() -> None:
    baseline = Histogram({5: 3})  # 3 a day: 84 in the baseline, under 100
    recent = Histogram({1: 40})
    day = START + timedelta(days=28)
    scan = detect_drops(_series_with_drop(recent, baseline), day, CSAT)
    assert scan.tested == 0
    assert scan.drops == ()
    assert scan.too_small == ("channel=email",)


def test_the_recent_window_widens_to_the_minimum_but_no_further_than_a_week() -> None:
    per_day = {START + timedelta(days=d): Histogram({5: 8, 4: 2}) for d in range(40)}
    for d in range(35, 40):
        per_day[START + timedelta(days=d)] = Histogram({1: 6, 5: 4})  # 10 a day, 40%
    scan = detect_drops({"all": per_day}, START + timedelta(days=39), CSAT)
    (drop,) = scan.drops
    assert drop.n_after == 30
    assert drop.recent_start == START + timedelta(days=37)
    assert drop.baseline_end == START + timedelta(days=36)
    thin = {START + timedelta(days=d): Histogram({5: 1}) for d in range(60)}
    thin[START + timedelta(days=59)] = Histogram({1: 2})
    assert detect_drops({"all": thin}, START + timedelta(days=59), CSAT).tested == 0


def test_a_day_without_answers_is_not_judged_again() -> None:
    baseline = Histogram({5: 30, 4: 10, 2: 10})
    series = _series_with_drop(Histogram({1: 60}), baseline)
    later = START + timedelta(days=30)
    assert detect_drops(series, later, CSAT).tested == 0


def test_a_rise_is_no_drop_and_for_dsat_a_rise_is_the_bad_news() -> None:
    baseline = Histogram({5: 30, 4: 10, 2: 10})
    better = Histogram({5: 60})
    worse = Histogram({1: 40, 5: 20})
    day = START + timedelta(days=28)
    assert detect_drops(_series_with_drop(better, baseline), day, CSAT).drops == ()
    dsat = MetricSpec.default("dsat")
    (drop,) = detect_drops(_series_with_drop(worse, baseline), day, dsat).drops
    assert drop.change > 0
    assert drop.ci_low > 0
    assert detect_drops(_series_with_drop(better, baseline), day, dsat).drops == ()


def test_nps_and_ces_drops_use_their_own_comparisons() -> None:
    day = START + timedelta(days=28)
    nps = MetricSpec.default("nps")
    base = Histogram({10: 25, 9: 10, 7: 10, 3: 5})
    (drop,) = detect_drops(
        _series_with_drop(Histogram({10: 10, 8: 10, 2: 30}), base), day, nps
    ).drops
    assert drop.change == pytest.approx(20 - 60 - (70 - 10))
    assert "adjusted-Wald" in drop.method or "MOVER" in drop.method
    ces = MetricSpec.default("ces")
    (effort,) = detect_drops(
        _series_with_drop(Histogram({2: 30, 3: 10}), Histogram({6: 20, 7: 20, 5: 10})), day, ces
    ).drops
    assert effort.method == "Welch t-test"
    assert effort.change < -2
    assert effort.unit == ""


def test_min_drop_leaves_out_drops_too_small_to_matter() -> None:
    rng = np.random.default_rng(5)
    big = {d: _csat_day(rng, 5000, 0.80) for d in (START + timedelta(days=i) for i in range(28))}
    big[START + timedelta(days=28)] = _csat_day(rng, 5000, 0.76)
    day = START + timedelta(days=28)
    assert detect_drops({"all": big}, day, CSAT).drops
    assert detect_drops({"all": big}, day, CSAT, DetectorSettings(min_drop=8)).drops == ()


def test_the_correction_counts_the_segments_and_the_looks() -> None:
    baseline = Histogram({5: 30, 4: 10, 2: 10})
    day = START + timedelta(days=28)
    series = {
        name: _series_with_drop(Histogram({5: 30, 1: 30}), baseline)["channel=email"]
        for name in ("a", "b", "c", "d")
    }
    hourly = DetectorSettings(looks_per_day=24)
    scan = detect_drops(series, day, CSAT, hourly)
    assert scan.tested == 4
    assert scan.drops[0].level == pytest.approx(1 - 2 * 0.05 / (4 * 24))
    drop = scan.drops[0]
    assert drop.adjusted_p == pytest.approx(min(1.0, drop.p_value * 96))


def test_fisher_one_sided_matches_a_known_value() -> None:
    # 3 of 10 against 9 of 10: the lower tail of the hypergeometric (R: fisher.test,
    # alternative "less" gives 0.009883).
    assert fisher_one_sided(9, 10, 3, 10, higher=False) == pytest.approx(0.0098828, abs=1e-6)
    assert fisher_one_sided(3, 10, 9, 10, higher=True) == pytest.approx(0.0098828, abs=1e-6)


def test_a_theme_spike_is_found_and_explained() -> None:
    commented = {START + timedelta(days=d): 50 for d in range(29)}
    delivery = {START + timedelta(days=d): 5 for d in range(28)}  # 10%
    delivery[START + timedelta(days=28)] = 25  # 50%
    price = {START + timedelta(days=d): 10 for d in range(29)}  # steady 20%
    day = START + timedelta(days=28)
    (spike,) = detect_spikes({"Delivery": delivery, "Price": price}, commented, day)
    assert spike.theme == "Delivery"
    assert spike.tested == 2
    assert spike.change == pytest.approx(40)
    assert spike.ci_low > 0
    assert spike.mentions_after == 25
    assert spike.n_after == 50
    assert spike.n_before == 1400
    assert "'Delivery'" in spike.explanation()
    assert "25 of 50" in spike.explanation()
    assert detect_spikes({"Price": price}, commented, day) == []
    assert detect_spikes({"Delivery": delivery}, {day: 10}, day) == []


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="family_alpha"):
        DetectorSettings(family_alpha=0.7)
    with pytest.raises(ValueError, match="at least 2"):
        DetectorSettings(min_recent_n=1)
    with pytest.raises(ValueError, match="min_drop"):
        DetectorSettings(min_drop=-1)
