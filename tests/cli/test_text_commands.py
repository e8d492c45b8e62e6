"""``cxpulse comments``, ``themes`` and ``drivers`` run on files the tests write.

Most runs go through Typer's CliRunner in this process (the language detector and lemma
dictionaries load once); a few run the real console script, as a user does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from tests.engine.writers import write_table
from typer.testing import CliRunner

from cxpulse.cli import app
from cxpulse.text.sentiment import MIN_EXAMPLES_PER_SIDE

from .scoring_cli import run

GOOD_WORDS = ["great", "excellent", "wonderful", "fantastic", "lovely", "perfect", "brilliant"]
BAD_WORDS = ["terrible", "awful", "horrible", "dreadful", "useless", "appalling", "disgraceful"]
THINGS = ["service", "quality", "delivery", "support", "experience", "product"]


def scored_examples(per_side: int) -> list[tuple[int, str]]:
    """``per_side`` positive comments scored 5 and as many negative ones scored 1."""
    good = [f"{word} {thing}, very happy" for word, thing in product(GOOD_WORDS, THINGS)]
    bad = [f"{word} {thing}, very disappointed" for word, thing in product(BAD_WORDS, THINGS)]
    assert per_side <= len(good)
    rows: list[tuple[int, str]] = []
    for index in range(per_side):
        rows += [(5, good[index]), (1, bad[index])]
    return rows


def write_file(path: Path, header: list[str], rows: list[tuple[Any, ...]]) -> Path:
    """A CSV quoted where needed (comments hold commas), or any other format by extension."""
    if path.suffix != ".csv":
        return write_table(path, header, rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    return path


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner()


def invoke(cli: CliRunner, *args: str, code: int = 0) -> Any:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# -- comments ----------------------------------------------------------------------------


def test_comments_keep_file_order_and_lines_with_a_preamble_and_quoted_lines(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "Export of 2024-05-01\n"
        "id;rating;comment\n"
        '1;5;"Fast delivery,\nreally fast"\n'
        "2;;\n"
        "3;1;Rude support. Mail me at jane.doe@example.com or +46 70 123 45 67\n"
        '4;3;"Line one\nline two\nline three"\n'
        "5;;Terrible service\n",
        encoding="utf-8",
    )
    found = jsonl(
        invoke(cli, "comments", str(path), "--text", "comment", "--score", "rating").stdout
    )
    assert [row["line"] for row in found] == [3, 5, 6, 7, 10]
    assert [set(row) for row in found] == [
        {"line", "language", "sentiment", "sentiment_source", "themes", "theme_sentiments", "text"}
    ] * 5
    first, empty, rude, neutral, unscored = found
    assert first["text"] == "Fast delivery,\nreally fast"
    assert (first["language"], first["sentiment"], first["sentiment_source"]) == (
        "en",
        "positive",
        "score",
    )
    assert "delivery" in first["themes"]
    assert empty == {
        "line": 5,
        "language": None,
        "sentiment": "unknown",
        "sentiment_source": None,
        "themes": [],
        "theme_sentiments": {},
        "text": "",
    }
    assert rude["text"] == "Rude support. Mail me at [email] or [phone]"
    assert "jane" not in json.dumps(found)
    assert (rude["sentiment"], rude["sentiment_source"]) == ("negative", "score")
    assert rude["theme_sentiments"].get("support-competence") == "negative"
    assert (neutral["sentiment"], neutral["sentiment_source"]) == ("neutral", "score")
    # Two scored comments teach no model: the unscored one goes by the lexicon.
    assert (unscored["sentiment"], unscored["sentiment_source"]) == ("negative", "lexicon")


def test_enough_scored_comments_teach_the_model_that_labels_the_rest(
    cli: CliRunner, tmp_path: Path
) -> None:
    unscored = ["great service, very happy", "awful delivery, very disappointed"]
    rows: list[tuple[int | None, str]] = list(scored_examples(MIN_EXAMPLES_PER_SIDE + 5))
    rows += [(None, text) for text in unscored]
    path = write_table(tmp_path / "answers.xlsx", ["score", "comment"], rows)
    found = jsonl(invoke(cli, "comments", str(path), "-t", "comment", "-s", "score").stdout)
    assert len(found) == len(rows)
    assert [row["line"] for row in found] == list(range(2, len(rows) + 2))
    assert [row["text"] for row in found] == [text for _, text in rows]
    assert [(row["sentiment"], row["sentiment_source"]) for row in found[-2:]] == [
        ("positive", "model"),
        ("negative", "model"),
    ]
    assert {row["sentiment_source"] for row in found[:-2]} == {"score"}

    # Too few scored comments in a language: no model, the lexicon speaks.
    too_few = rows[: 2 * (MIN_EXAMPLES_PER_SIDE - 1)] + rows[-2:]
    few = write_table(tmp_path / "few.xlsx", ["score", "comment"], too_few)
    found = jsonl(invoke(cli, "comments", str(few), "-t", "comment", "-s", "score").stdout)
    assert [(row["sentiment"], row["sentiment_source"]) for row in found[-2:]] == [
        ("positive", "lexicon"),
        ("negative", "lexicon"),
    ]


def test_comments_without_scores_and_an_unknown_sentiment(cli: CliRunner, tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "answers.parquet",
        ["comment"],
        [("The parcel came on Tuesday",), (None,), ("12345",), ("Great staff",)],
    )
    found = jsonl(invoke(cli, "comments", str(path), "--text", "comment").stdout)
    assert [row["line"] for row in found] == [1, 2, 3, 4]
    assert found[0]["sentiment"] == "unknown"
    assert found[0]["sentiment_source"] is None
    assert found[0]["language"] == "en"
    assert found[2]["language"] is None
    assert (found[3]["sentiment"], found[3]["sentiment_source"]) == ("positive", "lexicon")


def test_comments_csv_joins_themes_and_neutralises_formulas(cli: CliRunner, tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "answers.parquet",
        ["rating", "comment"],
        [
            (2, "Fast delivery but rude support"),
            (5, "=HYPERLINK('http://evil.example')"),
            (4, None),
        ],
    )
    text = invoke(
        cli, "comments", str(path), "-t", "comment", "-s", "rating", "--format", "csv"
    ).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["line", "language", "sentiment", "sentiment_source", "themes", "text"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3"]
    themes = rows[1][4].split(";")
    assert {"delivery", "support-competence"} <= set(themes)
    assert rows[2][5] == "'=HYPERLINK('http://evil.example')"
    assert rows[3] == ["3", "", "unknown", "", "", ""]


def test_a_bad_score_is_reported_by_line_as_score_reports_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "answers.csv"
    path.write_text('Export\nscore,comment\n9,"multi\nline"\n11,x\n7.5,y\n10,z\n', encoding="utf-8")
    args = [str(path), "-s", "score", "-m", "nps"]
    expected = invoke(cli, "score", *args, code=1).stderr
    assert "on lines 5, 6" in expected
    found = invoke(cli, "comments", *args, "-t", "comment", code=1)
    assert found.stderr == expected
    assert found.stdout == ""
    themes = invoke(cli, "themes", *args, "-t", "comment", code=1)
    assert themes.stderr == expected
    skipped = invoke(cli, "comments", *args, "-t", "comment", "--skip-invalid")
    sources = [row["sentiment_source"] for row in jsonl(skipped.stdout)]
    assert sources[0] == sources[3] == "score"
    assert "score" not in sources[1:3]
    assert "2 invalid scores" in skipped.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--metric", "nps"], 2, "--metric needs --score"),
        (["--language-hint", "it"], 2, "not one of the languages"),
        (["--score", "missing"], 1, "score column 'missing' not found"),
        (["--scale", "1-5"], 2, "--scale needs --score"),
    ],
)
def test_mistakes_end_with_one_line(
    cli: CliRunner, tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    path = write_table(tmp_path / "answers.csv", ["rating", "comment"], [(5, "fine")])
    found = invoke(cli, "comments", str(path), "-t", "comment", *args, code=code)
    assert words in found.stderr
    assert found.stderr.startswith("error:")
    assert len(found.stderr.strip().splitlines()) == 1


def test_a_language_hint_decides_for_short_comments(cli: CliRunner, tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", ["comment"], [("ok",), ("Bra",)])
    plain = jsonl(invoke(cli, "comments", str(path), "-t", "comment").stdout)
    hinted = jsonl(
        invoke(cli, "comments", str(path), "-t", "comment", "--language-hint", "sv-SE").stdout
    )
    assert [row["language"] for row in hinted] == ["sv", "sv"]
    assert len(plain) == 2


# -- themes ------------------------------------------------------------------------------


def themes_rows() -> list[tuple[Any, ...]]:
    """Late deliveries scored 1, friendly staff scored 5, neutral rest, over two channels."""
    rows: list[tuple[Any, ...]] = []
    for index in range(40):
        channel = "web" if index % 2 else "shop"
        rows.append((1, f"The delivery was two weeks late, order {index}", channel))
        rows.append((5, "Friendly staff, thank you", channel))
        rows.append((4, "All fine", channel))
    rows.append((2, "Late delivery again, call me on +46 70 123 45 67", "web"))
    rows.append((None, "Late delivery", None))
    return rows


def test_themes_json_sorted_by_impact_with_segments(cli: CliRunner, tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "answers.parquet", ["rating", "comment", "channel"], themes_rows()
    )
    data = json.loads(
        invoke(
            cli, "themes", str(path), "-t", "comment", "-s", "rating", "-m", "csat",
            "--by", "channel", "--format", "json",
        ).stdout
    )  # fmt: skip
    assert (data["metric"], data["scale"], data["level"]) == ("csat", "1-5", 0.95)
    assert (data["rows"], data["comments"]) == (122, 122)
    assert data["skipped"] == {"blank": 1, "invalid": 0}
    themes = data["themes"]
    impacts = [theme["impact"] for theme in themes if theme["impact"] is not None]
    assert impacts == sorted(impacts)
    first = themes[0]
    assert first["key"] in {"delivery", "delivery-delay"}
    assert first["origin"] == "defined"
    assert first["direction"] == "costs"
    assert first["mentions"] == 42
    assert first["score_with"]["n"] == 41
    assert first["impact_low"] <= first["impact"] <= first["impact_high"]
    assert 1 <= len(first["examples"]) <= 3
    keys = {theme["key"] for theme in themes}
    assert "staff-friendliness" in keys
    staff = next(theme for theme in themes if theme["key"] == "staff-friendliness")
    assert staff["direction"] == "wins"
    assert "+46" not in json.dumps(data)
    assert data["by"] == "channel"
    assert [segment["segment"] for segment in data["segments"]] == ["shop", "web", None]
    assert sum(segment["rows"] for segment in data["segments"]) == 122


def test_themes_csv_markdown_and_table(cli: CliRunner, tmp_path: Path) -> None:
    path = write_file(tmp_path / "answers.csv", ["rating", "comment", "channel"], themes_rows())
    base = ["themes", str(path), "-t", "comment", "-s", "rating", "-m", "csat"]
    csv_text = invoke(cli, *base, "--by", "channel", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert rows[0]["channel"] == "All"
    assert {row["channel"] for row in rows} == {"All", "shop", "web", ""}
    assert rows[0]["direction"] == "costs"
    assert float(rows[0]["impact"]) < 0
    markdown = invoke(cli, *base, "-f", "markdown").stdout
    assert markdown.startswith("**All comments: 122 comments of 122 rows; CSAT")
    assert "| theme | mentions |" in markdown
    assert "Friendly staff" in markdown or "Staff friendliness" in markdown
    table = invoke(cli, *base, "-f", "table", "--digits", "2").stdout
    assert "Delivery" in table
    assert "impact" in table


def test_themes_need_a_score_and_a_metric(cli: CliRunner, tmp_path: Path) -> None:
    path = write_table(tmp_path / "answers.csv", ["rating", "comment"], [(5, "fine")])
    found = invoke(cli, "themes", str(path), "-t", "comment", "-s", "rating", code=2)
    assert "--metric" in found.stderr


# -- drivers -----------------------------------------------------------------------------


def ratings_rows(count: int = 300) -> list[tuple[Any, ...]]:
    """An overall rating made mostly of speed, some price, no staff; a few blank staff."""
    import random

    rng = random.Random(5)
    rows: list[tuple[Any, ...]] = []
    for index in range(count):
        speed, price, staff = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 5)
        overall = max(0, min(10, round(1.2 * speed + 0.6 * price + rng.gauss(0, 0.8))))
        rows.append((overall, speed, price, None if index % 60 == 0 else staff))
    return rows


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_drivers_json_ranks_the_drivers_with_intervals(
    cli: CliRunner, tmp_path: Path, suffix: str
) -> None:
    path = write_file(
        tmp_path / f"ratings{suffix}", ["Overall", "speed", "price", "staff"], ratings_rows()
    )
    data = json.loads(
        invoke(
            cli, "drivers", str(path), "--outcome", "overall", "-d", "Speed", "-d", "price",
            "-d", "staff", "--bootstrap", "200", "-f", "json",
        ).stdout
    )  # fmt: skip
    assert data["outcome"] == "Overall"
    assert (data["n"], data["dropped"]) == (295, 5)
    assert data["r_squared_ci_low"] <= data["r_squared"] <= data["r_squared_ci_high"]
    assert data["bootstrap"] == 200
    assert [row["name"] for row in data["rows"]] == ["speed", "price", "staff"]
    for row in data["rows"]:
        assert row["weight_ci_low"] <= row["weight"] <= row["weight_ci_high"]
        assert row["shapley_ci_low"] <= row["shapley"] <= row["shapley_ci_high"]
    assert sum(row["weight"] for row in data["rows"]) == pytest.approx(data["r_squared"])
    assert data["rows"][0]["correlation"] > 0.5


def test_drivers_csv_and_markdown(cli: CliRunner, tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "ratings.csv", ["overall", "speed", "price", "staff"], ratings_rows()
    )
    base = ["drivers", str(path), "-o", "overall", "-d", "speed", "-d", "price", "-d", "staff"]
    rows = list(csv.DictReader(io.StringIO(invoke(cli, *base, "-f", "csv").stdout)))
    assert [row["driver"] for row in rows] == ["speed", "price", "staff"]
    assert {row["n"] for row in rows} == {"295"}
    assert {row["outcome"] for row in rows} == {"overall"}
    markdown = invoke(cli, *base, "-f", "markdown", "--digits", "2").stdout
    assert markdown.startswith("**overall: R² 0.")
    assert "from 295 complete rows (5 left out for a blank)" in markdown
    assert "| driver | relative weight | 95% interval | share of R² |" in markdown
    table = invoke(cli, *base, "-f", "table", "--bootstrap", "0").stdout
    assert "speed" in table
    assert "bootstrap of 0 resamples" in table


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["-d", "speed", "-d", "Speed"], 2, "--driver 'Speed' is given twice"),
        (["-d", "overall"], 2, "is the outcome"),
        (
            ["-d", "comment"],
            1,
            "3 values that are not numbers ('fast', 'slow', 'ok') on rows 1, 2, 3",
        ),
        (["-d", "when"], 1, "driver column 'when'"),
    ],
)
def test_drivers_mistakes_end_with_one_line(
    cli: CliRunner, tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    when = [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None]
    rows = [(5, 4, "fast", when[0]), (3, 2, "slow", when[1]), (4, 3, "ok", when[2])]
    path = write_table(tmp_path / "ratings.parquet", ["overall", "speed", "comment", "when"], rows)
    found = invoke(cli, "drivers", str(path), "-o", "overall", *args, code=code)
    assert words in found.stderr
    assert found.stderr.startswith("error:")


def test_drivers_need_enough_complete_rows(cli: CliRunner, tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "ratings.csv", ["overall", "speed", "price", "staff"], ratings_rows()[:8]
    )
    found = invoke(cli, "drivers", str(path), "-o", "overall", "-d", "speed", "-d", "price", code=1)
    assert "ratings.csv: key-driver analysis of 2 driver(s) needs at least 13 complete rows" in (
        found.stderr
    )


# -- the console script ------------------------------------------------------------------


def test_the_console_script_writes_no_progress_when_not_on_a_terminal(tmp_path: Path) -> None:
    rows = scored_examples(5)
    path = write_file(tmp_path / "answers.csv", ["score", "comment"], rows)
    result = run("comments", str(path), "--text", "comment", "--score", "score")
    assert result.stderr == ""
    found = jsonl(result.stdout)
    assert [row["text"] for row in found] == [text for _, text in rows]


def test_loading_a_text_command_loads_no_heavy_library() -> None:
    script = (
        "import sys; from cxpulse.cli import load_commands; "
        "load_commands(['themes', 'x.csv']); "
        "print(sorted(m for m in ('sklearn', 'lingua', 'simplemma', 'duckdb', 'numpy', "
        "'sqlalchemy', 'cxpulse.text.analysis') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"
