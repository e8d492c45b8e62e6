"""``cxpulse.cli.main`` imports only the module of the command being run."""

from __future__ import annotations

import subprocess
import sys

import typer

from cxpulse.cli import COMMAND_MODULES, load_commands


def _registered(app: typer.Typer) -> set[str]:
    commands = {
        command.name or command.callback.__name__.replace("_", "-")
        for command in app.registered_commands
        if command.callback is not None
    }
    return commands | {group.name for group in app.registered_groups if group.name}


def test_every_registered_command_is_mapped_to_its_module() -> None:
    assert _registered(load_commands()) == set(COMMAND_MODULES)


def test_running_score_imports_neither_the_web_app_nor_the_database() -> None:
    script = (
        "import sys; from cxpulse.cli import load_commands; load_commands(['score', 'x.csv']); "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'cxpulse.cli.serving') "
        "if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def test_a_lone_command_still_needs_its_name() -> None:
    # With one module loaded the app must stay a group: `cxpulse score FILE`, not `cxpulse FILE`.
    script = (
        "import sys; sys.argv = ['cxpulse', 'samplesize', '--metric', 'nps', '--margin', '5']; "
        "from cxpulse.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "NPS" in result.stdout or "nps" in result.stdout.lower()
