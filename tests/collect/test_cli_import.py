"""``cxpulse import`` through the real console script, on an SQLite file, as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cxpulse.store import accounts, rollups, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.models import Response

CXPULSE = str(Path(sys.executable).parent / "cxpulse")


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'cx.db'}"
        self.env = {**os.environ, "CXPULSE_DATABASE_URL": self.url}
        self.env.pop("CXPULSE_SECRET_KEY", None)
        self.cwd = tmp_path

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [CXPULSE, "import", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
            cwd=self.cwd,
            check=False,
        )
        if result.returncode != code:
            raise AssertionError(
                f"exit {result.returncode}, expected {code}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.run(*args).stdout)
        return document

    def add_org(self, slug: str) -> None:
        engine = create_engine_for(self.url)
        try:
            migrate(engine)
            with session_factory(engine).begin() as session:
                org = accounts.create_organisation(session, slug=slug, name=slug.title())
                surveys.create_survey(session, org.id, slug="support-csat", name="S", metric="csat")
                surveys.create_survey(session, org.id, slug="nps", name="N", metric="nps")
        finally:
            engine.dispose()

    def counts(self) -> tuple[int, bool]:
        engine = create_engine_for(self.url)
        try:
            with session_factory(engine)() as session:
                n = session.scalar(select(func.count()).select_from(Response)) or 0
                return n, rollups.stored(session) == rollups.recount(session)
        finally:
            engine.dispose()


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    made = Cli(tmp_path)
    made.add_org("acme")
    return made


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.csv"
    path.write_text(
        "Response ID,Rating,Date,Channel,Comment,Agent\n"
        "r1,5,13/03/2024 10:00,email,Great,Lena\n"
        "r2,2,13/03/2024 11:00,chat,Slow,Bob\n"
        "r3,4,14/03/2024 09:00,email,,Lena\n",
        encoding="utf-8",
    )
    return path


MAP = "score=Rating,submitted_at=Date,channel=Channel,comment=Comment,id=Response ID"


def test_import_then_again_through_the_console_script(cli: Cli, answers: Path) -> None:
    first = cli.json(
        str(answers), "--survey", "support-csat", "--map", MAP, "--map", "property.agent=Agent"
    )
    assert (first["imported"], first["already_present"], first["invalid"]) == (3, 0, 0)
    assert first["columns"]["property.agent"] == "Agent"
    again = cli.run(str(answers), "--survey", "support-csat", "--map", MAP, "-f", "table")
    assert "imported 0, already present 3, invalid 0" in again.stdout
    assert cli.counts() == (3, True)


def test_invalid_rows_exit_1_and_store_nothing(cli: Cli, answers: Path, tmp_path: Path) -> None:
    with answers.open("a", encoding="utf-8") as handle:
        handle.write("r4,7,15/03/2024 09:00,web,,\nr5,3,someday,web,,\n")
    result = cli.run(str(answers), "--survey", "support-csat", "--map", MAP, code=1)
    assert "2 invalid rows in answers.csv; nothing was imported" in result.stderr
    assert "line 5, column 'Rating': '7' is not on the 1-5 scale" in result.stderr
    assert "line 6, column 'Date': 'someday' is not a date" in result.stderr
    assert "--skip-invalid" in result.stderr
    assert cli.counts() == (0, True)

    report = tmp_path / "bad_rows.csv"
    done = cli.json(
        str(answers),
        "--survey",
        "support-csat",
        "--map",
        MAP,
        "--skip-invalid",
        "--report",
        str(report),
    )
    assert (done["imported"], done["invalid"], done["report_rows"]) == (3, 2, 2)
    with report.open(encoding="utf-8", newline="") as handle:
        assert [row[:2] for row in csv.reader(handle)] == [
            ["line", "column"],
            ["5", "Rating"],
            ["6", "Date"],
        ]
    assert cli.counts() == (3, True)


def test_presets_and_mapping_mistakes(cli: Cli, tmp_path: Path, answers: Path) -> None:
    zendesk = tmp_path / "zendesk.csv"
    zendesk.write_text(
        "Ticket ID,Rating,Comment,Created at\n1,5,Nice,2024-03-01 10:00:00\n", encoding="utf-8"
    )
    assert (
        cli.json(str(zendesk), "--survey", "support-csat", "--preset", "zendesk")["imported"] == 1
    )

    missing = cli.run(str(answers), "--survey", "support-csat", "--map", "score=Score", code=1)
    assert "score column 'Score' not found in answers.csv" in missing.stderr
    assert "'Response ID', 'Rating', 'Date'" in missing.stderr
    unknown = cli.run(str(answers), "--survey", "support-csat", "--map", "rating=Rating", code=2)
    assert "unknown field 'rating'" in unknown.stderr
    preset = cli.run(str(answers), "--survey", "support-csat", "--preset", "medallia", code=2)
    assert "medallia" in preset.stderr
    assert "zendesk" in preset.stderr
    nothing = cli.run(str(answers), "--survey", "support-csat", code=2)
    assert "--map score=COLUMN" in nothing.stderr


def test_organisation_and_survey_are_found_or_listed(cli: Cli, answers: Path) -> None:
    wrong = cli.run(str(answers), "--survey", "csat", "--map", MAP, code=2)
    assert (
        "no survey 'csat' in organisation 'acme'; its surveys: nps, support-csat" in (wrong.stderr)
        or "its surveys: support-csat, nps" in wrong.stderr
    )
    cli.add_org("globex")
    several = cli.run(str(answers), "--survey", "nps", "--map", MAP, code=2)
    assert "several organisations; pick one with --org (acme, globex)" in several.stderr
    chosen = cli.json(str(answers), "--survey", "support-csat", "--org", "globex", "--map", MAP)
    assert chosen["imported"] == 3


def test_database_option_overrides_the_environment(cli: Cli, answers: Path) -> None:
    chosen = cli.url
    cli.env["CXPULSE_DATABASE_URL"] = f"sqlite:///{cli.cwd / 'elsewhere.db'}"
    done = cli.json(str(answers), "--survey", "support-csat", "--map", MAP, "--database", chosen)
    assert done["imported"] == 3
    assert cli.counts() == (3, True)
    assert not (cli.cwd / "elsewhere.db").exists()


# Two lines before the header (DuckDB skips them), a quoted comment over two lines and an
# empty line: the invalid answers are on lines 5 ('7') and 9 ('x') as an editor shows them.
PREAMBLE_CSV = (
    "Survey export: support\n"
    "Generated 2024-03-20\n"
    "Response ID;Rating;Date;Comment\n"
    "r1;5;13/03/2024 10:00;Great\n"
    'r2;7;13/03/2024 11:00;"two\n'
    'lines"\n'
    "\n"
    "r3;4;14/03/2024 09:00;\n"
    "r4;x;14/03/2024 10:00;ok\n"
)


def test_import_and_score_name_the_same_lines_after_a_preamble(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "preamble.csv"
    path.write_text(PREAMBLE_CSV, encoding="utf-8")
    mapping = "score=Rating,submitted_at=Date,comment=Comment,id=Response ID"
    refused = cli.run(str(path), "--survey", "support-csat", "--map", mapping, code=1)
    assert "line 5, column 'Rating': '7'" in refused.stderr
    assert "line 9, column 'Rating': 'x'" in refused.stderr
    report = tmp_path / "bad.csv"
    done = cli.json(
        str(path),
        "--survey",
        "support-csat",
        "--map",
        mapping,
        "--skip-invalid",
        "--report",
        str(report),
    )
    assert [cell["line"] for cell in done["invalid_rows"]] == [5, 9]
    with report.open(encoding="utf-8", newline="") as handle:
        assert [row[0] for row in csv.reader(handle)] == ["line", "5", "9"]

    scored = subprocess.run(
        [CXPULSE, "score", str(path), "-s", "Rating", "--skip-invalid", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=cli.env,
    )
    skipped = json.loads(scored.stdout)["skipped"]
    assert skipped["invalid_lines"] == [5, 9]
    assert skipped["invalid_values"] == ["7", "x"]


def test_a_stray_byte_is_refused_at_its_line_unless_the_encoding_is_named(
    cli: Cli, answers: Path
) -> None:
    with answers.open("ab") as handle:
        handle.write("r4,3,14/03/2024 10:00,web,Привет,Åsa\n".encode())
        handle.write(b"r5,3,14/03/2024 11:00,web,bad \xff byte,Bob\n")
    refused = cli.run(str(answers), "--survey", "support-csat", "--map", MAP, code=1)
    assert " ".join(refused.stderr.split()) == (
        "error: could not read answers.csv: line 6: byte 0xFF is not valid UTF-8; save the "
        "file as UTF-8 or name its encoding (--encoding / encoding=...)"
    )
    assert cli.counts() == (0, True)
    unknown = cli.run(
        str(answers), "--survey", "support-csat", "--map", MAP, "--encoding", "klingon", code=2
    )
    assert "unknown encoding 'klingon'" in unknown.stderr
    named = cli.json(
        str(answers), "--survey", "support-csat", "--map", MAP, "--encoding", "windows-1252"
    )
    assert named["imported"] == 5


def test_a_file_over_the_memory_of_an_import_is_refused_without_a_traceback(
    cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "Rating,Channel\n" + "".join(f"{1 + i % 5},web{i}\n" for i in range(50_000)),
        encoding="utf-8",
    )
    # The console script's own entry point, with an import's memory cut to 2 MB.
    program = (
        "import sys\n"
        "from cxpulse.collect import import_options\n"
        "import_options.IMPORT_MEMORY_MB = 2\n"
        "from cxpulse.cli import main\n"
        "sys.argv = ['cxpulse', 'import', *sys.argv[1:]]\n"
        "main()\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            program,
            str(path),
            "--survey",
            "support-csat",
            "--map",
            "score=Rating",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli.env,
        cwd=cli.cwd,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "could not import big.csv: reading and checking it needs more than the 2 MB" in (
        " ".join(result.stderr.split())
    )
    assert cli.counts() == (0, True)
