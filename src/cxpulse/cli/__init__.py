"""The ``cxpulse`` command line: thin shells that parse options, call one function, render.

Each module registers its commands on the shared Typer app. ``main`` imports only the module
of the command being run (all of them for ``--help`` or an unknown name): a command's start-up
is part of its run time, and ``cxpulse score`` on a file should cost little more than the
query itself (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

# The module that registers each top-level command or command group.
# tests/cli/test_command_loading.py fails when a registered command is missing here.
# ``scoring`` registers score, compare, samplesize, benchmark and demo-file in the order the
# help lists them; ``score`` alone loads only its own module, the one a benchmark times.
COMMAND_MODULES: dict[str, str] = {
    "alerts": "alerts_command",
    "api-key": "api_keys",
    "backup": "backup_command",
    "benchmark": "scoring",
    "comments": "text_commands",
    "compare": "scoring",
    "contact-data": "privacy_commands",
    "contacts": "contacts",
    "create-user": "users",
    "demo": "serving",
    "demo-file": "scoring",
    "drivers": "text_commands",
    "export-parquet": "lake_export",
    "import": "importing",
    "invite": "invitations",
    "migrate": "serving",
    "rates": "rates",
    "report": "reporting",
    "restore": "backup_command",
    "samplesize": "scoring",
    "score": "score_command",
    "serve": "serving",
    "themes": "text_commands",
    "throttle": "invitations",
    "worker": "worker",
}


def load_commands(argv: Sequence[str] | None = None) -> typer.Typer:
    """The app with the command named in ``argv`` registered (every command without one)."""
    name = next((word for word in argv or () if not word.startswith("-")), None)
    wanted = COMMAND_MODULES.get(name or "")
    for module in [wanted] if wanted else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"cxpulse.cli.{module}")
    from cxpulse.cli.root import app

    return app


def main() -> None:
    load_commands(sys.argv[1:])()


def __getattr__(name: str) -> typer.Typer:
    # ``from cxpulse.cli import app`` (tests, documentation tools) gets every command.
    if name == "app":
        return load_commands()
    raise AttributeError(name)


__all__ = ["COMMAND_MODULES", "app", "load_commands", "main"]
