"""The ``cxpulse`` command line: thin shells that parse options, call one function, render.

Each module registers its commands on the shared Typer app; heavy libraries are imported
inside the commands so that start-up stays fast.
"""

from __future__ import annotations

from cxpulse.cli import (  # noqa: F401  (they register commands)
    collecting,
    importing,
    reporting,
    scoring,
    service,
)
from cxpulse.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
