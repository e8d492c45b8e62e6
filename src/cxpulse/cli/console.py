"""Output helpers shared by all commands: errors, late progress bars, formats."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, no traceback."""
    console(stderr=True).print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


class LateProgress:
    """A progress bar on stderr that appears only once a job has run for a second."""

    def __init__(self, description: str, delay: float = 1.0) -> None:
        self.description = description
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, percent: float) -> None:
        if self.bar is None:
            if time.monotonic() - self.started < self.delay or not sys.stderr.isatty():
                return
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                console=console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=100)
        if self.task is not None:
            self.bar.update(self.task, completed=max(0.0, min(100.0, percent)))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
