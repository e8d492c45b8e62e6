"""What the file engine raises: a file that cannot be read as asked, and invalid scores.

Messages are one line, meant for people; :class:`InvalidValues` also says which values and
lines were refused, so a caller can show them its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_SHOWN", "FileInputError", "InvalidScoresError", "InvalidValues"]

MAX_SHOWN = 10
"""How many invalid values and line numbers are reported."""


class FileInputError(Exception):
    """A file cannot be read as asked. The message is one line, meant for people."""


@dataclass(frozen=True)
class InvalidValues:
    """Answers that are not a whole number on the scale, and where the first ones are."""

    count: int
    """Number of rows with an invalid score."""
    values: list[str]
    """Distinct offending raw values, first 10 in file order, as text."""
    lines: list[int]
    """First 10 line numbers (1-based; see :mod:`cxpulse.engine.lines` for what a line is)."""
    unit: str = "line"
    """What ``lines`` count: ``"line"`` of a text file or sheet, or ``"row"`` of Parquet."""
    more_values: bool = False
    """Whether there are more distinct values than ``values`` shows."""

    def describe(self) -> str:
        """Such as ``3 invalid scores (values: 11, 'abc', 7.5) on lines 4, 9, 12``."""
        plural = self.count != 1
        shown = ", ".join(_show_value(value) for value in self.values)
        if self.more_values:
            shown += ", ..."
        value_word = "values" if len(self.values) > 1 or self.more_values else "value"
        where = ", ".join(str(line) for line in self.lines)
        if self.count > len(self.lines):
            where += ", ..."
        unit = self.unit + ("s" if plural else "")
        return (
            f"{self.count} invalid score{'s' if plural else ''} "
            f"({value_word}: {shown}) on {unit} {where}"
        )


def _show_value(value: str) -> str:
    """Numbers as they are, anything else quoted: ``11``, ``7.5``, ``'abc'``."""
    try:
        number = float(value)
    except ValueError:
        return repr(value)
    return value if number == number and abs(number) != float("inf") else repr(value)


class InvalidScoresError(FileInputError):
    """Some answers are not whole numbers on the scale; ``invalid`` says which and where."""

    def __init__(self, invalid: InvalidValues, message: str | None = None) -> None:
        super().__init__(message or invalid.describe())
        self.invalid = invalid
