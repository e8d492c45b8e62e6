"""``cxpulse comments``, ``themes`` and ``drivers``: what a file's comments and ratings say.

- ``comments``: each row's comment analysed (language, sentiment and where it came from,
  themes, the text with personal data redacted), one output row per input row, in file order.
- ``themes``: the themes of the comments, defined and discovered, with how often they occur
  and how many points of the score each costs or wins, with an interval.
- ``drivers``: which rating columns move an overall rating (relative weights and Shapley
  values, with bootstrap intervals).

The file is read by :func:`cxpulse.engine.text_rows.read_text_rows` (the formats, encodings,
column names, line numbers and score checks of ``cxpulse score``) and the comments analysed in
batches by :mod:`cxpulse.cli.text_input`; the work is the text stage's
(:mod:`cxpulse.text.analysis`, :mod:`cxpulse.text.theme_table`,
:mod:`cxpulse.text.key_drivers`); :mod:`cxpulse.cli.text_output` writes the tables. The stage
loads lingua, simplemma and scikit-learn, so it is imported inside the commands: ``cxpulse
--help`` and the other commands stay fast. (The module is a little over 400 lines because each
option is written out with its help for a newcomer; the logic is elsewhere.)
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxpulse.cli.console import OutputFormat, fail
from cxpulse.cli.root import app
from cxpulse.cli.scoring_options import (
    BottomArg,
    FileArg,
    LevelArg,
    MinNArg,
    ScaleArg,
    SkipInvalidArg,
    TopArg,
    chosen_format,
    format_option,
    metric_spec,
)
from cxpulse.cli.text_input import (
    analysed,
    checked_hint,
    comment_inputs,
    note_skipped,
    read_rows,
    skipped_scores,
)
from cxpulse.metrics.scales import Metric

if TYPE_CHECKING:
    from cxpulse.text.comments import CommentAnalysis


class CommentsFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


TextArg = Annotated[
    str,
    typer.Option(
        "--text", "-t", metavar="COLUMN", help="Column holding the comment.", show_default=False
    ),
]
OptionalScoreArg = Annotated[
    str | None,
    typer.Option(
        "--score",
        "-s",
        metavar="COLUMN",
        help="Column holding the answer's score. A scored comment takes its sentiment from its "
        "score's band (promoter, detractor, satisfied ...), and the scored comments teach the "
        "model that gives the unscored ones theirs.",
        show_default=False,
    ),
]
RequiredScoreArg = Annotated[
    str,
    typer.Option(
        "--score",
        "-s",
        metavar="COLUMN",
        help="Column holding the answer's score.",
        show_default=False,
    ),
]
OptionalMetricArg = Annotated[
    Metric | None,
    typer.Option(
        "--metric",
        "-m",
        help="How the score is read: csat (default), dsat, nps, ces or mean.",
        case_sensitive=False,
        show_default=False,
    ),
]
RequiredMetricArg = Annotated[
    Metric,
    typer.Option(
        "--metric",
        "-m",
        help="The score the impact is measured on: csat, dsat, nps, ces or mean.",
        case_sensitive=False,
        show_default=False,
    ),
]
LanguageHintArg = Annotated[
    str | None,
    typer.Option(
        "--language-hint",
        metavar="LANGUAGE",
        help="The language the survey was asked in (en, sv, nl, mk, de, fr, es or pt; pt-BR "
        "counts as pt). It decides for comments too short to tell apart (under 20 letters); "
        "longer ones are detected.",
        show_default=False,
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        "-b",
        metavar="COLUMN",
        help="Also show the themes of each value of this column (a channel, a region ...).",
        show_default=False,
    ),
]
DigitsArg = Annotated[
    int | None,
    typer.Option(
        "--digits",
        min=0,
        max=10,
        metavar="N",
        help="Decimals shown (default 1; 2 for ces and mean).",
        show_default=False,
    ),
]


# -- comments --------------------------------------------------------------------------------


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse comments reviews.csv --text comment --score rating --metric csat "
        "> analysed.jsonl\n\n"
        "cxpulse comments tickets.xlsx --text Feedback --language-hint sv --format csv "
        "> analysed.csv"
    )
)
def comments(
    file: FileArg,
    text: TextArg,
    score_column: OptionalScoreArg = None,
    metric: OptionalMetricArg = None,
    scale: ScaleArg = None,
    top_min: TopArg = None,
    bottom_max: BottomArg = None,
    language_hint: LanguageHintArg = None,
    skip_invalid: SkipInvalidArg = False,
    output: Annotated[
        CommentsFormat,
        typer.Option(
            "--format",
            "-f",
            help="jsonl: one JSON object per line, themes as a list (and each theme's "
            "sentiment); csv: themes joined by ';'.",
            case_sensitive=False,
        ),
    ] = CommentsFormat.JSONL,
) -> None:
    """Analyse each comment of a file: language, sentiment, themes, redacted text.

    One row per row of the file, in the same order, with the line it starts on (the row
    number of a Parquet file). Personal data (email addresses, phone numbers, card numbers,
    IBANs, personal identity numbers) is replaced in the text shown, such as "[email]". A
    row without a comment is still a row, with sentiment "unknown".

    Sentiment comes from the score's band when the row has a score (sentiment_source
    "score"); otherwise from a model trained on this file's scored comments in the comment's
    language ("model"), from a list of common words ("lexicon"), or it is "unknown".
    """
    if score_column is None:
        given = [name for name, value in _metric_options(metric, scale, top_min, bottom_max)]
        if given:
            fail(f"{given[0]} needs --score COLUMN (the column that holds each score)", code=2)
        spec = None
    else:
        spec = metric_spec(metric or Metric.CSAT, scale, 0.95, 30, top_min, bottom_max)
    hint = checked_hint(language_hint)
    rows = read_rows(file, text=text, score=score_column, spec=spec, skip_invalid=skip_invalid)
    assert rows.texts is not None
    inputs = comment_inputs(rows, spec, hint)
    write = _jsonl_writer() if output is CommentsFormat.JSONL else _csv_writer()
    for start, analyses in analysed(inputs):
        for offset, analysis in enumerate(analyses):
            write(rows.lines[start + offset], analysis)
    note_skipped(rows)


def _metric_options(
    metric: Metric | None, scale: str | None, top_min: float | None, bottom_max: float | None
) -> Iterator[tuple[str, object]]:
    for name, value in (
        ("--metric", metric),
        ("--scale", scale),
        ("--top-min", top_min),
        ("--bottom-max", bottom_max),
    ):
        if value is not None:
            yield name, value


def _jsonl_writer() -> Callable[[int, CommentAnalysis], None]:
    out = sys.stdout

    def write(line: int, analysis: CommentAnalysis) -> None:
        record = {
            "line": line,
            "language": analysis.language,
            "sentiment": analysis.sentiment.value,
            "sentiment_source": (
                analysis.sentiment_source.value if analysis.sentiment_source else None
            ),
            "themes": [mention.theme for mention in analysis.themes],
            "theme_sentiments": {
                mention.theme: mention.sentiment.value for mention in analysis.themes
            },
            "text": analysis.redacted,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")

    return write


CSV_COLUMNS = ("line", "language", "sentiment", "sentiment_source", "themes", "text")


def _csv_writer() -> Callable[[int, CommentAnalysis], None]:
    from cxpulse.csv_safety import neutralise_cell

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def write(line: int, analysis: CommentAnalysis) -> None:
        source = analysis.sentiment_source.value if analysis.sentiment_source else ""
        cells = [
            analysis.language or "",
            analysis.sentiment.value,
            source,
            ";".join(mention.theme for mention in analysis.themes),
            analysis.redacted,
        ]
        writer.writerow([line, *(neutralise_cell(cell) for cell in cells)])

    return write


# -- themes ----------------------------------------------------------------------------------


@app.command(
    epilog=(
        "Examples:\n\n"
        "cxpulse themes reviews.csv --text comment --score rating --metric csat\n\n"
        "cxpulse themes answers.xlsx -t Why -s 'Likelihood to recommend' -m nps --by channel "
        "--format markdown"
    )
)
def themes(
    file: FileArg,
    text: TextArg,
    score_column: RequiredScoreArg,
    metric: RequiredMetricArg,
    scale: ScaleArg = None,
    by: ByOption = None,
    language_hint: LanguageHintArg = None,
    level: LevelArg = 0.95,
    min_n: MinNArg = 30,
    top_min: TopArg = None,
    bottom_max: BottomArg = None,
    skip_invalid: SkipInvalidArg = False,
    output: Annotated[
        OutputFormat | None,
        format_option(
            "json holds every figure, the top phrases and the example comments; csv one row "
            "per theme (and per theme of each --by value)."
        ),
    ] = None,
    digits: DigitsArg = None,
) -> None:
    """The themes of a file's comments, and the points of the score each costs or wins.

    Defined themes come from the starter taxonomy (delivery, delays, price, product quality,
    staff, support, billing, website or app, returns ...) found in comments in eight
    languages; discovered themes are groups of comments sharing words the taxonomy does not
    cover, labelled by their top phrases. For each theme: how many comments mention it and
    their share of the comments, the score of the answers that mention it and of all the
    others, and its impact: how many points the overall score would move if those answers
    scored like the rest, with an interval. What costs the most points comes first, what
    wins the most comes last.
    """
    from cxpulse.cli.text_output import show_themes
    from cxpulse.text.taxonomy import starter_taxonomy
    from cxpulse.text.theme_table import theme_table

    spec = metric_spec(metric, scale, level, min_n, top_min, bottom_max)
    hint = checked_hint(language_hint)
    rows = read_rows(
        file, text=text, score=score_column, spec=spec, by=by, skip_invalid=skip_invalid
    )
    assert rows.texts is not None
    assert rows.scores is not None
    inputs = comment_inputs(rows, spec, hint)
    analyses: list[CommentAnalysis] = []
    for _start, batch in analysed(inputs):
        analyses.extend(batch)
    table = theme_table(
        analyses, rows.scores, spec, taxonomy=starter_taxonomy(), groups=rows.groups
    )
    by_column = rows.columns[by] if by is not None else None
    show_themes(table, spec, skipped_scores(rows), by_column, chosen_format(output), digits)


# -- drivers ---------------------------------------------------------------------------------


@app.command(
    epilog=(
        "Example:\n\n"
        "cxpulse drivers ratings.csv --outcome overall --driver speed --driver price "
        "--driver staff"
    )
)
def drivers(
    file: FileArg,
    outcome: Annotated[
        str,
        typer.Option(
            "--outcome",
            "-o",
            metavar="COLUMN",
            help="Column holding the overall rating the drivers explain (any numbers).",
            show_default=False,
        ),
    ],
    driver: Annotated[
        list[str],
        typer.Option(
            "--driver",
            "-d",
            metavar="COLUMN",
            help="Column holding one attribute's rating (repeat for each attribute).",
            show_default=False,
        ),
    ],
    level: LevelArg = 0.95,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            max=100_000,
            metavar="N",
            help="Resamples of the rows behind the intervals (0: no intervals).",
        ),
    ] = 1000,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", metavar="N", help="Seed of the resampling: the same seed, the same intervals."
        ),
    ] = 0,
    output: Annotated[
        OutputFormat | None,
        format_option("csv holds one row per driver, with n and R² on each."),
    ] = None,
    digits: Annotated[
        int,
        typer.Option(
            "--digits",
            min=0,
            max=10,
            metavar="N",
            help="Decimals of R², weights and correlations (shares of R² in % get one less).",
        ),
    ] = 3,
) -> None:
    """Which attribute ratings drive an overall rating, with bootstrap intervals.

    Regresses the outcome on the drivers and splits the variance it explains (R²) among
    them two ways: relative weights (Johnson) and Shapley values, each adding up to R².
    Rows where the outcome or a driver is blank are left out and counted; any other value
    that is not a number stops the command with its line.
    """
    import numpy as np

    from cxpulse.cli.text_output import show_drivers
    from cxpulse.text.key_drivers import key_drivers

    named = [outcome, *driver]
    folded = [name.strip().casefold() for name in named]
    for position, name in enumerate(named[1:], start=1):
        if folded[position] == folded[0]:
            fail(f"--driver {name!r} is the outcome: a rating cannot drive itself", code=2)
        if folded[position] in folded[1:position]:
            fail(f"--driver {name!r} is given twice", code=2)
    numbers = {outcome: "outcome", **{name: "driver" for name in driver}}
    rows = read_rows(file, numbers=numbers)

    def column(name: str) -> Any:
        return np.array([np.nan if v is None else v for v in rows.numbers[name]], dtype=float)

    try:
        table = key_drivers(
            column(outcome),
            {rows.columns[name]: column(name) for name in driver},
            level=level,
            bootstrap=bootstrap,
            seed=seed,
        )
    except ValueError as error:
        fail(f"{rows.name}: {error}")
    show_drivers(table, rows.columns[outcome], chosen_format(output), digits)


__all__ = ["comments", "drivers", "themes"]
