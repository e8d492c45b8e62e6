import json
import subprocess
import sys
from importlib import resources

import pytest

import cxpulse.metrics
from cxpulse.metrics import ACSI_CAVEAT, BenchmarkScore, find_industry, load_acsi, rating

ACSI_2020 = {
    "breweries": 84,
    "personal care and cleaning products": 83,
    "e-commerce": 81,
    "banks": 80,
    "internet travel services": 79,
    "supermarkets": 78,
    "apparel": 77,
    "hotels": 75,
    "airlines": 74,
    "internet service providers": 62,
    "subscription TV service": 62,
}
SOURCE_2020 = "American Customer Satisfaction Index (ACSI), 2020 industry results"


def test_bundled_2020_scores() -> None:
    scores = [s for s in load_acsi() if s.year == 2020]
    assert {s.industry: s.score for s in scores} == ACSI_2020
    assert all(s.source == SOURCE_2020 for s in scores)


def test_every_score_names_its_year_and_source() -> None:
    for s in load_acsi():
        assert isinstance(s, BenchmarkScore)
        assert 0 <= s.score <= 100
        assert 1994 <= s.year <= 2100
        assert "ACSI" in s.source


def test_scores_come_highest_first() -> None:
    scores = [s.score for s in load_acsi()]
    assert scores == sorted(scores, reverse=True)
    assert load_acsi()[0].industry == "breweries"


def test_load_returns_a_fresh_list() -> None:
    first = load_acsi()
    first.clear()
    assert len(load_acsi()) == len(ACSI_2020)


def test_data_file_is_a_package_resource() -> None:
    data_file = resources.files("cxpulse.metrics.data").joinpath("acsi.json")
    assert data_file.is_file()
    data = json.loads(data_file.read_text("utf-8"))
    assert data["scale"] == "0-100"
    assert len(data["scores"]) == len(load_acsi())


@pytest.mark.parametrize(
    ("name", "industries"),
    [
        ("banks", ["banks"]),
        ("BANK", ["banks"]),
        ("  Hotels ", ["hotels"]),
        ("tv", ["subscription TV service"]),
        ("internet", ["internet travel services", "internet service providers"]),
        ("e-comm", ["e-commerce"]),
    ],
)
def test_find_industry(name: str, industries: list[str]) -> None:
    assert [s.industry for s in find_industry(name)] == industries


def test_find_industry_lists_known_industries_when_nothing_matches() -> None:
    with pytest.raises(LookupError, match="no ACSI industry matches 'telecom'") as caught:
        find_industry("telecom")
    message = str(caught.value.args[0])
    for industry in ACSI_2020:
        assert industry in message


@pytest.mark.parametrize(
    ("score", "starts"),
    [
        (100, "very good"),
        (84, "very good"),
        (80.5, "very good"),
        (80, "in between"),
        (74, "in between"),
        (60, "in between"),
        (59.9, "much room"),
        (0, "much room"),
    ],
)
def test_rating_rule_of_thumb(score: float, starts: str) -> None:
    assert rating(score).startswith(starts)


@pytest.mark.parametrize("score", [-1, 100.5, float("nan")])
def test_rating_rejects_scores_off_the_acsi_scale(score: float) -> None:
    with pytest.raises(ValueError, match="0 and 100"):
        rating(score)


def test_caveat_says_acsi_is_not_csat() -> None:
    text = ACSI_CAVEAT.lower()
    assert "0 to 100" in text
    assert "multi-question" in text
    assert "not the same measure" in text
    assert "top two boxes" in text
    assert "rough reference" in text


def test_benchmark_names_load_lazily_and_the_package_imports_cheaply() -> None:
    code = (
        "import sys, cxpulse.metrics as m\n"
        "heavy = [x for x in ('numpy', 'scipy', 'cxpulse.metrics.benchmarks',"
        " 'cxpulse.metrics.samplesize', 'importlib.resources') if x in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert m.rating(90).startswith('very good')\n"
        "assert 'cxpulse.metrics.benchmarks' in sys.modules\n"
        "assert m.required_sample_size('csat', 5).n == 385\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = cxpulse.metrics.nothing_here
