"""``cxpulse report`` through the real console script, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cxpulse.store import accounts, surveys
from cxpulse.store.db import create_engine_for, migrate, session_factory
from cxpulse.store.responses import NewResponse, add_responses

CXPULSE = str(Path(sys.executable).parent / "cxpulse")
OCTOBER = datetime(2026, 10, 5, 9, tzinfo=UTC)


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CXPULSE, "report", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "160"},
        stdin=subprocess.DEVNULL,
    )


def _fill(engine: Engine) -> str:
    """One organisation's CSAT survey answered in September and October, and two surveys of
    the same slug in two organisations; returns the database URL."""
    with session_factory(engine)() as session:
        org = accounts.create_organisation(session, slug="shop", name="Shop")
        survey = surveys.create_survey(
            session, org.id, slug="support", name="Support desk", metric="csat"
        )
        scores = [5] * 30 + [2] * 10  # October: 75%
        earlier = [5] * 20 + [1] * 20  # September: 50%
        add_responses(
            session,
            org.id,
            [
                NewResponse(survey_id=survey.id, score=s, submitted_at=OCTOBER + timedelta(hours=i))
                for i, s in enumerate(scores)
            ]
            + [
                NewResponse(survey_id=survey.id, score=s, submitted_at=OCTOBER - timedelta(days=20))
                for s in earlier
            ],
        )
        other = accounts.create_organisation(session, slug="other", name="Other")
        surveys.create_survey(session, other.id, slug="twin", name="Twin", metric="nps")
        surveys.create_survey(session, org.id, slug="twin", name="Twin", metric="nps")
        session.commit()
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def database(engine: Engine) -> str:
    return _fill(engine)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[str]:
    """For tests whose subject is the command line, not the database: SQLite only."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'cli.db'}")
    migrate(engine)
    yield _fill(engine)
    engine.dispose()


def test_report_writes_a_self_contained_html_file(database: str, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "october.html"
    result = _run(
        tmp_path,
        "--survey",
        "support",
        "--month",
        "2026-10",
        "--out",
        str(target),
        "--database",
        database,
    )
    assert result.returncode == 0, result.stderr
    assert "Support desk, October 2026: 40 answers" in result.stderr
    assert f"wrote {target}" in result.stderr.replace("\n", "")
    html = target.read_text(encoding="utf-8")
    assert "<title>Support desk: monthly report October 2026</title>" in html
    assert "75.0" in html
    assert "+25.0 vs last month (significant at 95%)" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)


def test_report_errors_are_one_clear_line(sqlite_database: str, tmp_path: Path) -> None:
    cases = [
        (["--survey", "nope"], 2, "no survey 'nope'"),
        (["--survey", "support", "--month", "2026-13"], 2, "--month must look like 2026-10"),
        (["--survey", "twin"], 2, "pick one with --org (other, shop)"),
        (["--survey", "twin", "--org", "nobody"], 2, "no survey 'twin' in organisation"),
        (["--survey", "support", "--out", "x.pdf"], 2, "add --pdf"),
        (["--survey", "support", "--pdf", "--chromium", "/no/such/chromium"], 1, "not found"),
    ]
    for args, code, message in cases:
        result = _run(tmp_path, *args, "--database", sqlite_database)
        assert result.returncode == code, (args, result.stderr)
        assert message in result.stderr.replace("\n", " "), (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_report_for_one_of_two_same_named_surveys(database: str, tmp_path: Path) -> None:
    result = _run(
        tmp_path, "--survey", "twin", "--org", "other", "--month", "2026-10", "--database", database
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "twin-2026-10.html").is_file()


@pytest.mark.slow
def test_report_as_pdf(sqlite_database: str, tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "--survey",
        "support",
        "--month",
        "2026-10",
        "--out",
        "october.html",
        "--pdf",
        "--database",
        sqlite_database,
    )
    assert result.returncode == 0, result.stderr
    pdf = (tmp_path / "october.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000  # text, two charts and tables, not an empty page
    assert (tmp_path / "october.html").is_file()
