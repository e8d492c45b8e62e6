"""``cxpulse import``: load a survey export (Zendesk, Typeform, SurveyMonkey, Qualtrics or
any CSV/XLSX/Parquet/JSON lines file) into a survey of the database.

The file is read and checked first (DuckDB, no database lock held), then stored in one
transaction. SQLAlchemy and DuckDB are imported inside the command.
"""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from cxpulse.cli.console import console, fail
from cxpulse.cli.database import open_reading_and_writing, settings_for, survey_named
from cxpulse.cli.options import DatabaseOption, OrgOption, SurveyOption
from cxpulse.cli.root import app

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from sqlalchemy.orm import Session, sessionmaker

    from cxpulse.collect.imports import ImportOptions, ImportResult, Phase, SurveyTarget


class ImportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class PresetName(StrEnum):
    ZENDESK = "zendesk"
    TYPEFORM = "typeform"
    SURVEYMONKEY = "surveymonkey"
    QUALTRICS = "qualtrics"


class ImportProgress:
    """Progress on stderr: reading (percent), then writing (rows, rows/s).

    Appears only on a terminal, and only once the import has run for ``delay`` seconds.
    """

    def __init__(self, file_name: str, delay: float = 0.5) -> None:
        self.file_name = file_name
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def _start(self) -> Progress | None:
        if self.bar is None:
            if time.monotonic() - self.started < self.delay or not sys.stderr.isatty():
                return None
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self.bar.start()
        return self.bar

    def __call__(self, phase: Phase, done: float, total: float) -> None:
        bar = self._start()
        if bar is None:
            return
        task = self.tasks.get(phase)
        if task is None:
            description = f"Checking {self.file_name}" if phase == "read" else "Importing"
            task = bar.add_task(description, total=total, rate="")
            self.tasks[phase] = task
            for other, other_task in self.tasks.items():
                if other != phase:
                    bar.update(other_task, completed=bar.tasks[other_task].total)
        rate = ""
        if phase == "write":
            speed = bar.tasks[task].speed
            rate = f"{done:,.0f} of {total:,.0f} rows" + (f", {speed:,.0f} rows/s" if speed else "")
        bar.update(task, completed=done, total=total, rate=rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _summary(result: ImportResult) -> str:
    parts = [
        f"imported {result.imported:,}",
        f"already present {result.already_present:,}",
        f"invalid {result.invalid:,}" + (" (skipped)" if result.invalid else ""),
    ]
    if result.duplicates:
        parts.append(f"repeated in the file {result.duplicates:,}")
    if result.blank:
        parts.append(f"without a score {result.blank:,}")
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    parts.append(f"{result.seconds:.1f} s ({rate:,.0f} rows/s)")
    return ", ".join(parts)


@app.command(
    name="import",
    epilog=(
        "Examples:\n\n"
        "cxpulse import zendesk_csat.csv --survey support-csat --preset zendesk\n\n"
        "cxpulse import typeform.csv --survey nps --preset typeform "
        "--map 'score=How likely are you to recommend us?,comment=Why?'\n\n"
        "cxpulse import answers.xlsx --survey support-csat "
        "--map score=Rating,submitted_at=Date,channel=Channel,property.agent=Agent "
        "--date-format '%d/%m/%Y %H:%M' --skip-invalid --report bad_rows.csv"
    ),
)
def import_responses(
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, XLSX, Parquet or JSON Lines file.", show_default=False)
    ],
    survey: SurveyOption,
    org: OrgOption = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="FIELD=COLUMN,...: score, submitted_at, comment, channel, language, "
            "touchpoint, contact (external id), id (response id), property.NAME. "
            "Repeatable; overrides the preset.",
        ),
    ] = None,
    preset: Annotated[
        PresetName | None,
        typer.Option(
            "--preset",
            help="Column names of a product's export: zendesk, typeform, "
            "surveymonkey or qualtrics.",
        ),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="strptime format of the date column, such as '%d/%m/%Y %H:%M'. Default: detected.",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            "--timezone",
            help="Time zone of dates without an offset, such as Europe/Stockholm. "
            "Default: UTC (Qualtrics: the export's).",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool,
        typer.Option(
            "--skip-invalid", help="Import the valid rows and leave out the invalid ones."
        ),
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Write every invalid cell to this CSV file."),
    ] = None,
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Workbook sheet (name or 0-based number).")
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            "--encoding",
            help="The text file's encoding, such as windows-1252 or iso-8859-15. Default: "
            "UTF-8 (UTF-16 with a BOM; a legacy file without any UTF-8 character as "
            "Windows-1252). A file with a byte not valid in it is refused at its line.",
        ),
    ] = None,
    output: Annotated[
        ImportFormat | None,
        typer.Option("--format", "-f", help="table (default on a terminal) or json."),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Import responses from a file into a survey: all rows, or none.

    Scores must be whole numbers on the survey's scale, dates must parse and texts fit the
    limits; any invalid row stops the import (nothing is stored) unless --skip-invalid is
    given. Importing the same file again adds nothing: each row is keyed by the export's
    response id, or by a hash of its values.
    """
    from cxpulse.collect.imports import ImportOptions, SurveyTarget
    from cxpulse.collect.mapping import MappingError, parse_map
    from cxpulse.engine.encoding import EncodingProblem, check_encoding_name

    try:
        mapping = parse_map(map_ or [])
        named = check_encoding_name(encoding) if encoding is not None else None
    except (MappingError, EncodingProblem) as error:
        fail(str(error), code=2)
    if preset is None and not mapping:
        fail("give --map score=COLUMN,... or a --preset (see --help)", code=2)
    options = ImportOptions(
        mapping=mapping,
        preset=preset.value if preset is not None else None,
        date_format=date_format,
        timezone=timezone,
        skip_invalid=skip_invalid,
        sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
        encoding=named,
    )
    settings = settings_for(database)
    with open_reading_and_writing(settings) as (reading, sessions):
        with reading() as session:
            target = SurveyTarget.of(survey_named(session, survey, org))
        result = _import(file, target, options, sessions, report)
    _print_result(result, report, output)


def _import(
    file: Path,
    target: SurveyTarget,
    options: ImportOptions,
    sessions: sessionmaker[Session],
    report: Path | None,
) -> ImportResult:
    """Read and check ``file`` (no database lock held), then store it in one transaction."""
    from cxpulse.collect.imports import ImportFailed, InvalidRowsError, prepare_import

    progress = ImportProgress(file.name)
    report_rows: int | None = None
    try:
        with prepare_import(file, target, options, progress) as prepared:
            report_rows = prepared.write_report(report) if report is not None else None
            prepared.check()
            # The write transaction starts only now: on SQLite it holds the write lock.
            with sessions.begin() as session:
                result = prepared.store(session, progress=progress)
            result.report_rows = report_rows
            return result
    except InvalidRowsError as error:
        progress.close()
        _refuse(error, report, report_rows)
    except ImportFailed as error:  # the file, an option, or more memory than allowed
        progress.close()
        fail(str(error))
    finally:
        progress.close()


def _refuse(error: object, report: Path | None, report_rows: int | None) -> NoReturn:
    from cxpulse.collect.imports import InvalidRowsError

    assert isinstance(error, InvalidRowsError)
    result = error.result
    out = console(stderr=True)
    rows = "row" if result.invalid == 1 else "rows"
    out.print(
        f"[bold red]error:[/] {result.invalid:,} invalid {rows} in {result.file}; "
        "nothing was imported.",
        markup=True,
        soft_wrap=True,
    )
    for cell in result.invalid_rows[:10]:
        out.print("  " + cell.describe(result.unit), markup=False, soft_wrap=True)
    if result.invalid > 10 or len(result.invalid_rows) > 10:
        out.print("  ...", markup=False)
    hint = "Fix them, or pass --skip-invalid to import the other rows"
    if report is not None:
        hint += f"; all {report_rows:,} problems are listed in {report}"
    else:
        hint += " (with --report FILE to list every problem)"
    out.print(hint + ".", markup=False, soft_wrap=True)
    raise typer.Exit(1)


def _print_result(result: ImportResult, report: Path | None, output: ImportFormat | None) -> None:
    if output is None:
        output = ImportFormat.TABLE if sys.stdout.isatty() else ImportFormat.JSON
    if output is ImportFormat.JSON:
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        return
    out = console()
    out.print(
        f"{result.file} -> survey {result.survey}: {_summary(result)}",
        markup=False,
        soft_wrap=True,
    )
    if result.invalid and report is not None:
        out.print(f"invalid rows are listed in {report}", markup=False, style="dim")
    elif result.invalid:
        for cell in result.invalid_rows[:5]:
            out.print(
                "  skipped " + cell.describe(result.unit), markup=False, style="dim", soft_wrap=True
            )
    if result.rows and result.blank == result.rows:
        out.print("warning: no row has a score; is --map score= the right column?", style="yellow")
