"""``cxpulse serve --workers N``: several server processes are for PostgreSQL; SQLite, served
by one process, refuses them with one line naming PostgreSQL (exit code 2, as for any wrong
option). The processes themselves are tested in tests/adversarial/test_several_processes.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .test_service import CXPULSE, free_port


def _serve(tmp_path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CXPULSE, "serve", "--port", str(free_port()), *options],
        cwd=tmp_path,
        env={**os.environ, "CXPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sqlite_refuses_several_server_processes(tmp_path: Path) -> None:
    result = _serve(tmp_path, "--workers", "2")
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: --workers 2 needs PostgreSQL")
    assert "CXPULSE_DATABASE_URL=postgresql://" in lines[0]
    # Refused before anything was made or started.
    assert not (tmp_path / "x.db").exists()
    assert result.stdout == ""


def test_the_help_says_several_processes_need_postgresql(tmp_path: Path) -> None:
    result = subprocess.run(
        [CXPULSE, "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert "PostgreSQL only" in result.stdout
