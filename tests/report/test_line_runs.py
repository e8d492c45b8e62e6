from __future__ import annotations

from dataclasses import dataclass

from cxpulse.report.line_runs import line_runs


@dataclass
class _Point:
    x: float
    y: float | None


def test_gaps_break_the_line_and_lone_points_become_dots() -> None:
    points = [_Point(0, 1), _Point(1, 2), _Point(2, None), _Point(3, 4), _Point(4, None)]
    segments, dots = line_runs(points)
    assert segments == ["0,1 1,2"]
    assert dots == [_Point(3, 4)]
    assert line_runs([]) == ([], [])
