"""Small server-drawn lines (the overview's score line, a theme's share line): months without
a value break the line, so it is drawn as runs of joined points, and a point standing alone
as a dot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Placed(Protocol):
    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float | None: ...


P = TypeVar("P", bound=Placed)


def line_runs(points: Sequence[P]) -> tuple[list[str], list[P]]:
    """The SVG ``points`` attribute of each run of two or more placed points, and the points
    that stand alone (``y`` of ``None``: no value that month)."""
    segments: list[str] = []
    dots: list[P] = []
    run: list[P] = []
    for point in [*points, None]:
        if point is not None and point.y is not None:
            run.append(point)
            continue
        if len(run) == 1:
            dots.append(run[0])
        elif run:
            segments.append(" ".join(f"{p.x},{p.y}" for p in run))
        run = []
    return segments, dots
