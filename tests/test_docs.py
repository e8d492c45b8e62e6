"""The documentation against the code: every setting is in docs/configuration.md, every
command and sub-command of ``cxpulse`` in README.md or docs/*.md (in the spirit of
Datasette's tests of its documentation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer

from cxpulse.cli import app
from cxpulse.config import Settings, env_name

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: Any, prefix: str) -> list[str]:
    """``cxpulse NAME`` for every command, and ``cxpulse GROUP NAME`` for sub-commands.

    (Typer carries its own copy of Click, so groups are told by what they can do.)
    """
    names: list[str] = []
    context = typer.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        names.append(f"{prefix} {name}")
        if hasattr(command, "list_commands"):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


COMMANDS = _commands(typer.main.get_group(app), "cxpulse")
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_commands_are_found() -> None:
    assert "cxpulse serve" in COMMANDS
    assert "cxpulse api-key create" in COMMANDS


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_configuration_page(field: str) -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert f"`{env_name(field)}`" in page


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    found = [path.name for path in DOCUMENTS if command in path.read_text(encoding="utf-8")]
    assert found, f"`{command}` appears in neither README.md nor docs/*.md"


def test_the_readme_links_the_configuration_page() -> None:
    assert "(docs/configuration.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
