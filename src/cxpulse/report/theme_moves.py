"""The monthly report's themes: this month's top themes and how their share of the comments
moved against the month before.

Pure: two ``ThemesView`` in (the month and the month before, ``report.themes_view``), rows
out. A theme's movement is the change of its share of the analysed comments, in percentage
points, with Newcombe's interval for the difference of two proportions; it is called
significant only when that interval excludes 0, and not computed when either month has
fewer analysed comments than the minimum n.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cxpulse.metrics.compare import newcombe_difference
from cxpulse.report.themes_view import ThemeRow, ThemesView, top_rows

MOVES_SHOWN = 5
"""Themes of each side (costs, wins) the report lists."""


@dataclass(frozen=True)
class ThemeMove:
    row: ThemeRow
    """The theme this month."""
    previous: ThemeRow | None
    """The theme the month before; None when it was not mentioned then."""
    previous_share: float
    """Its share of the month before's analysed comments, 0..100 (0 when not mentioned;
    NaN without analysed comments)."""
    change: float
    """Share this month minus the month before, in percentage points; NaN not compared."""
    change_low: float
    change_high: float
    significant: bool

    @property
    def change_text(self) -> str:
        """ "up 3.1 points, significant", "down 0.4 points, not significant" ..."""
        if math.isnan(self.change):
            return "too few comments to compare"
        if self.change == 0:
            return "no change"
        direction = "up" if self.change > 0 else "down"
        verdict = "significant" if self.significant else "not significant"
        return f"{direction} {abs(self.change):.1f} points, {verdict}"


def theme_moves(
    current: ThemesView, previous: ThemesView, count: int = MOVES_SHOWN
) -> list[ThemeMove]:
    """This month's themes that cost the most points, then those that win the most (up to
    ``count`` each), each with the change of its share of comments since the month
    before."""
    before = {row.key: row for row in previous.themes}
    comparable = min(current.analysed, previous.analysed) >= current.min_n
    moves = []
    for row in [
        *top_rows(current.themes, "costs", count),
        *top_rows(current.themes, "wins", count),
    ]:
        old = before.get(row.key)
        old_mentions = old.mentions if old is not None else 0
        previous_share = old_mentions / previous.analysed * 100 if previous.analysed else math.nan
        change = low = high = math.nan
        significant = False
        if comparable:
            change = row.share - previous_share
            low, high = (
                100 * end
                for end in newcombe_difference(
                    old_mentions,
                    previous.analysed,
                    row.mentions,
                    current.analysed,
                    current.level,
                )
            )
            significant = low > 0 or high < 0
        moves.append(ThemeMove(row, old, previous_share, change, low, high, significant))
    return moves
