"""Every command's ``--help`` names values in the user's words, never Python's placeholders."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from cxpulse.cli import COMMAND_MODULES, load_commands

from .scoring_cli import CXPULSE

# Typer's defaults: a type in angle brackets (<str>, <bool>, <list[str]>, <int range>,
# <path>) and a required argument in braces ({file}). A list of choices (<csat|dsat|nps>)
# names the real values and is allowed.
PLACEHOLDER = re.compile(r"<[A-Za-z_][\w\[\]]*(?: range)?>|\{[A-Za-z_][\w-]*\}|\blist\[")


def _command_paths() -> list[tuple[str, ...]]:
    app = load_commands()
    paths: list[tuple[str, ...]] = [()]
    paths += [(name,) for name in sorted(COMMAND_MODULES)]
    for group in app.registered_groups:
        assert group.name is not None
        assert group.typer_instance is not None
        for command in group.typer_instance.registered_commands:
            assert command.callback is not None
            name = command.name or command.callback.__name__.replace("_", "-")
            paths.append((group.name, name))
    return paths


def _help(path: tuple[str, ...]) -> str:
    # Wide enough that no placeholder is cut by wrapping; no colour codes.
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}
    result = subprocess.run(
        [CXPULSE, *path, "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_walk_covers_the_groups_subcommands() -> None:
    paths = _command_paths()
    assert ("api-key", "create") in paths
    assert ("score",) in paths
    assert len(paths) > len(COMMAND_MODULES)


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "cxpulse")
def test_help_shows_no_placeholders(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert "Usage:" in text
    assert PLACEHOLDER.findall(text) == []


def test_score_help_names_its_values() -> None:
    text = _help(("score",))
    assert "Usage: cxpulse score [OPTIONS] [FILE]" in text
    assert re.search(r"--score\s+-s\s+COLUMN", text)
    assert re.search(r"--level\s+LEVEL", text)
    # A switch takes no value, so none is shown.
    assert re.search(r"--skip-invalid\s+Leave out", text)
    assert re.search(r"--help\s+Show this message", text)


def test_the_pattern_catches_typers_placeholders() -> None:
    for text in ("--score <str>", "--skip-invalid <bool>", "[OPTIONS] {file}", "<list[str]>"):
        assert PLACEHOLDER.search(text), text
    assert not PLACEHOLDER.search("--metric <csat|dsat|nps|ces|mean>")
    assert not PLACEHOLDER.search(
        "--level LEVEL [0.5<=x<=0.999]  Confidence level. --min-n N [x>=1]"
    )
