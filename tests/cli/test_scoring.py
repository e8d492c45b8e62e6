"""The scoring commands together: each has help with an example, listed in order."""

from __future__ import annotations

import pytest

from .scoring_cli import run

SCORING_COMMANDS = ("score", "compare", "samplesize", "benchmark", "demo-file")


@pytest.mark.parametrize("command", ["score", "compare", "samplesize", "benchmark", "demo-file"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    text = run(command, "--help").stdout
    assert "Example" in text


def test_the_help_lists_the_scoring_commands_in_their_order() -> None:
    names = [line.split()[1] for line in run("--help").stdout.splitlines() if line.startswith("│ ")]
    listed = [name for name in names if name in SCORING_COMMANDS]
    assert listed == list(SCORING_COMMANDS)
