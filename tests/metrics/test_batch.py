"""score_many gives, group by group, exactly what score gives."""

from __future__ import annotations

import random

import pytest

from cxpulse.metrics import Histogram, MetricResult, MetricSpec, merge, parse_scale, score
from cxpulse.metrics.batch import score_many


def same(a: MetricResult, b: MetricResult) -> bool:
    # to_dict turns NaN (no answers) into None, which compares equal; floats must be identical.
    return a.metric is b.metric and a.to_dict() == b.to_dict()


def _histograms(seed: int, values: range) -> list[Histogram]:
    rng = random.Random(seed)
    found = [Histogram({}), Histogram({values[0]: 1})]
    for _ in range(40):
        found.append(Histogram({v: rng.randrange(0, 60) for v in values if rng.random() < 0.8}))
    return found


@pytest.mark.parametrize(
    "spec",
    [
        MetricSpec.default("nps"),
        MetricSpec.default("nps", nps_method="wald"),
        MetricSpec.default("nps", nps_method="bootstrap"),
        MetricSpec.default("csat"),
        MetricSpec.default("dsat", level=0.9, min_n=5),
        MetricSpec.default("csat", parse_scale("0-10"), top_min=9, bottom_max=6),
        MetricSpec.default("ces"),
        MetricSpec.default("mean"),
    ],
    ids=lambda spec: f"{spec.metric.value}-{spec.nps_method.value}-{spec.scale.name}",
)
def test_every_group_scores_as_score_does(spec: MetricSpec) -> None:
    values = range(int(spec.scale.low), int(spec.scale.high) + 1)
    histograms = _histograms(3, values)
    scored = score_many(histograms, spec, total_first=True)
    assert len(scored) == len(histograms) + 1
    assert same(scored.result(0), score(merge(histograms), spec))
    for i, histogram in enumerate(histograms, start=1):
        assert same(scored.result(i), score(histogram, spec)), i


def test_without_the_total_and_without_groups() -> None:
    spec = MetricSpec.default("nps")
    histograms = _histograms(5, range(0, 11))
    scored = score_many(histograms, spec)
    assert all(same(scored.result(i), score(h, spec)) for i, h in enumerate(histograms))
    empty = score_many([], spec, total_first=True)
    assert len(empty) == 1
    assert same(empty.result(0), score(Histogram({}), spec))
    assert len(score_many([], MetricSpec.default("ces"))) == 0
