"""How the account pages (API keys, team, webhooks) show a stored moment."""

from __future__ import annotations

from datetime import datetime

__all__ = ["when"]


def when(moment: datetime | None) -> str:
    """``moment`` to the minute, in UTC (every stored moment is), or "never" without one."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"
