"""The invitations of a dashboard view's period: the store's rows per period and channel,
summed over channels for each bucket of the view's trend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cxpulse.collect import rates as rate_store
from cxpulse.report.trend import Bucket


@dataclass(frozen=True)
class InvitationRates:
    """Invitations of the view's period per trend bucket, every channel summed."""

    rows: list[rate_store.RateRow]
    total: rate_store.RateRow | None
    """The whole period; None when no invitation went out in it."""


_RATE_COUNTS = (
    "invited",
    "sent",
    "failed",
    "throttled",
    "unsubscribed",
    "opened",
    "answered",
    "commented",
)


def sum_rates(label: str, rows: Sequence[rate_store.RateRow]) -> rate_store.RateRow:
    """Rows of several channels (or periods) as one, with the rates of the sums."""
    counts = {name: sum(getattr(row, name) for row in rows) for name in _RATE_COUNTS}
    return rate_store.RateRow(
        period=label,
        channel="all",
        **counts,
        response_rate=rate_store.rate(counts["answered"], counts["sent"]),
        comment_rate=rate_store.rate(counts["commented"], counts["answered"]),
    )


def invitation_rates(
    rows: Sequence[rate_store.RateRow], trend_points: Sequence[Bucket], channel: str | None
) -> InvitationRates:
    """The rows of the view's buckets (and channel), summed over channels per bucket."""
    labels = [point.label for point in trend_points]
    wanted = set(labels)
    by_label: dict[str, list[rate_store.RateRow]] = {}
    for row in rows:
        if row.period in wanted and (channel is None or row.channel == channel):
            by_label.setdefault(row.period, []).append(row)
    summed = [sum_rates(label, by_label[label]) for label in labels if label in by_label]
    total = sum_rates("all", summed) if summed else None
    return InvitationRates(summed, total)
