"""``cxpulse score --engine``: the same histograms from DuckDB, PostgreSQL or Spark via Ibis.

Without ``--engine`` nothing here runs: ``score FILE`` keeps the file path of
:mod:`cxpulse.engine.files`. With it, a FILE (Parquet, CSV, JSON lines) or a ``--table`` of
the engine is scored through :mod:`cxpulse.engine.portable`. ``--survey`` scores cxpulse's
own ``responses`` table of one survey (on the database of ``--database`` or
``CXPULSE_DATABASE_URL``): the survey is found in the store here, in the shell, and the engine
gets only its id, as the layer order wants (the engine knows nothing of the store).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cxpulse.cli.console import fail

if TYPE_CHECKING:
    from cxpulse.engine import FileHistograms
    from cxpulse.engine.periods import Period
    from cxpulse.metrics.scales import Scale


class EngineOption(StrEnum):
    DUCKDB = "duckdb"
    POSTGRES = "postgres"
    SPARK = "spark"


EngineArg = Annotated[
    EngineOption | None,
    typer.Option(
        "--engine",
        "-e",
        case_sensitive=False,
        help="Count in this engine through Ibis: duckdb, postgres or spark (local mode). "
        "Default: the file path (DuckDB, every format, line numbers of invalid answers).",
    ),
]
TableArg = Annotated[
    str | None,
    typer.Option(
        "--table",
        metavar="NAME",
        help="Score this table of the --engine instead of a FILE (schema.table allowed): "
        "postgres: on --database; duckdb: a database file given as --database; spark: its "
        "catalog (warehouse folder as --database).",
    ),
]
SurveyArg = Annotated[
    str | None,
    typer.Option(
        "--survey",
        metavar="SLUG",
        help="With --table responses: score cxpulse's answers to this survey (its scale "
        "unless --scale is given).",
    ),
]
OrgArg = Annotated[
    str | None,
    typer.Option("--org", metavar="SLUG", help="The survey's organisation (for --survey)."),
]
EngineDatabaseArg = Annotated[
    str | None,
    typer.Option(
        "--database",
        metavar="URL",
        help="postgres: its URL (default $CXPULSE_DATABASE_URL); duckdb: a database file; "
        "spark: a warehouse folder.",
    ),
]


@dataclass(frozen=True)
class EngineChoice:
    """Where ``score`` counts when ``--engine`` is given."""

    engine: EngineOption
    table: str | None
    survey: str | None
    org: str | None
    database: str | None


@dataclass(frozen=True)
class SurveyScope:
    """A survey of the store, as the engine needs it: ids to filter on and its scale."""

    organisation_id: int
    survey_id: int
    scale_low: int
    scale_high: int


def check_choice(file: Path | None, choice: EngineChoice) -> None:
    """FILE xor --table; --survey only with --table."""
    if file is None and choice.table is None:
        fail("give a FILE to score, or --table NAME", code=2)
    if file is not None and choice.table is not None:
        fail("give a FILE or --table, not both", code=2)
    if choice.survey is not None and choice.table is None:
        fail("--survey needs --table responses (cxpulse's own answers)", code=2)
    if choice.survey is not None and choice.engine is not EngineOption.POSTGRES:
        fail("--survey reads cxpulse's database: use it with --engine postgres", code=2)
    if choice.org is not None and choice.survey is None:
        fail("--org needs --survey", code=2)


def survey_scope(choice: EngineChoice) -> tuple[SurveyScope, str]:
    """The survey ``--survey`` names, looked up in the store, and the database URL."""
    from cxpulse.cli.database import open_store, organisation_named, settings_for, survey_named

    settings = settings_for(choice.database)
    with open_store(settings) as sessions, sessions() as session:
        if choice.org is not None:
            organisation_named(session, choice.org)
        survey = survey_named(session, choice.survey or "", choice.org)
        scope = SurveyScope(
            organisation_id=survey.organisation_id,
            survey_id=survey.id,
            scale_low=survey.scale_low,
            scale_high=survey.scale_high,
        )
    return scope, settings.database_url


def database_for(choice: EngineChoice) -> str | None:
    """The --database of the engine: PostgreSQL's defaults to CXPULSE_DATABASE_URL."""
    if choice.engine is EngineOption.POSTGRES and choice.database is None:
        from cxpulse.cli.database import settings_for

        return settings_for(None).database_url
    return choice.database


def read_with_engine(
    choice: EngineChoice,
    file: Path | None,
    *,
    score: str,
    scale: Scale,
    by: list[str],
    date: str | None,
    period: Period | None,
    skip_invalid: bool,
    scope: SurveyScope | None = None,
    database: str | None = None,
) -> FileHistograms:
    """Histograms of FILE or --table counted in the chosen engine (one line on an error)."""
    from cxpulse.engine import FileInputError, InvalidScoresError
    from cxpulse.engine.backends import connect, read_file, read_table
    from cxpulse.engine.portable import histograms_from_table

    engine = choice.engine.value
    try:
        with warnings.catch_warnings():
            # pyspark warns on import that it does not fully support pandas 3; the counts
            # come back through Arrow, which it does support.
            warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
            with connect(engine, database=database) as backend:  # type: ignore[arg-type]
                if file is not None:
                    table = read_file(backend, engine, file)  # type: ignore[arg-type]
                    name = file.name
                else:
                    table = read_table(backend, choice.table or "")
                    name = f"table {choice.table}"
                filters = []
                if scope is not None:
                    filters = [
                        table["survey_id"] == scope.survey_id,
                        table["organisation_id"] == scope.organisation_id,
                    ]
                return histograms_from_table(
                    table,
                    score=score,
                    scale=scale,
                    by=by,
                    date=date,
                    period=period,
                    filters=filters,
                    skip_invalid=skip_invalid,
                    name=name,
                )
    except InvalidScoresError as error:
        fail(f"{error} Fix them, choose another --scale, or pass --skip-invalid to leave them out.")
    except FileInputError as error:
        fail(str(error))
    except Exception as error:  # the engines' own errors (SQL, Java), each of its own type
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        fail(f"the {engine} engine failed: {type(error).__name__}: {first}")
