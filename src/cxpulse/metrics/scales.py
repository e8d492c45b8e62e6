"""Answer scales and the bands (satisfied, dissatisfied, promoter, ...) defined on them.

A scale is a closed range of whole numbers. Stars and emoji are presentations of the 1-5
scale, not scales of their own, so they parse to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Metric(StrEnum):
    CSAT = "csat"
    DSAT = "dsat"
    NPS = "nps"
    CES = "ces"
    MEAN = "mean"


@dataclass(frozen=True)
class Scale:
    """Whole-number answers from ``low`` to ``high`` inclusive."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if self.high <= self.low:
            raise ValueError(f"a scale needs high > low, got {self.low}-{self.high}")

    @property
    def name(self) -> str:
        if (self.low, self.high) == (0, 1):
            return "thumbs"
        return f"{self.low}-{self.high}"

    @property
    def values(self) -> range:
        return range(self.low, self.high + 1)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high and float(value).is_integer()

    def __str__(self) -> str:
        return self.name


THUMBS = Scale(0, 1)
FIVE = Scale(1, 5)
SEVEN = Scale(1, 7)
ELEVEN = Scale(0, 10)

_NAMED_SCALES = {
    "thumbs": THUMBS,
    "stars": FIVE,
    "emoji": FIVE,
}

DEFAULT_SCALE: dict[Metric, Scale] = {
    Metric.CSAT: FIVE,
    Metric.DSAT: FIVE,
    Metric.NPS: ELEVEN,
    Metric.CES: SEVEN,
    Metric.MEAN: FIVE,
}

SUPPORTED_SCALES: dict[Metric, tuple[str, ...]] = {
    Metric.CSAT: ("1-3", "1-5", "1-7", "1-10", "thumbs"),
    Metric.DSAT: ("1-3", "1-5", "1-7", "1-10", "thumbs"),
    Metric.NPS: ("0-10", "1-10"),
    Metric.CES: ("1-7", "1-5"),
}


def parse_scale(text: str) -> Scale:
    """Parse ``"1-5"``, ``"0-10"``, ``"thumbs"``, ``"stars"`` or ``"emoji"``."""
    cleaned = text.strip().lower()
    if cleaned in _NAMED_SCALES:
        return _NAMED_SCALES[cleaned]
    low_text, sep, high_text = cleaned.partition("-")
    if not sep:
        raise ValueError(f"scale {text!r} is not LOW-HIGH (such as 1-5) or thumbs/stars/emoji")
    try:
        low, high = int(low_text), int(high_text)
    except ValueError:
        raise ValueError(
            f"scale {text!r} is not LOW-HIGH (such as 1-5) or thumbs/stars/emoji"
        ) from None
    return Scale(low, high)


@dataclass(frozen=True)
class Thresholds:
    """Where the bands of a scale start and end, inclusive.

    ``top_min``: lowest answer counted as satisfied / promoter / agree.
    ``bottom_max``: highest answer counted as dissatisfied / detractor / disagree.
    """

    top_min: float
    bottom_max: float

    def __post_init__(self) -> None:
        if self.bottom_max >= self.top_min:
            raise ValueError(
                f"bottom band (<= {self.bottom_max}) must lie below top band (>= {self.top_min})"
            )


def default_thresholds(metric: Metric, scale: Scale) -> Thresholds:
    """The defaults of the design file: top-2-box satisfied, bottom-2-box dissatisfied.

    The 1-10 scale is split in halves for DSAT (1-5 dissatisfied), NPS bands apply to 1-10 as
    to 0-10, CES counts 5-7 of 1-7 (4-5 of 1-5) as agreement.
    """
    low, high = scale.low, scale.high
    if metric is Metric.NPS:
        if high != 10:
            raise ValueError(f"NPS is asked on 0-10 (or 1-10), not {scale}")
        return Thresholds(top_min=9, bottom_max=6)
    if scale == THUMBS:
        return Thresholds(top_min=1, bottom_max=0)
    if metric is Metric.CES:
        if (low, high) == (1, 7):
            return Thresholds(top_min=5, bottom_max=3)
        if (low, high) == (1, 5):
            return Thresholds(top_min=4, bottom_max=2)
        midpoint = (low + high) / 2
        return Thresholds(top_min=midpoint + 0.5, bottom_max=midpoint - 0.5)
    if (low, high) == (1, 3):
        return Thresholds(top_min=3, bottom_max=1)
    if (low, high) == (1, 10):
        return Thresholds(top_min=9, bottom_max=5)
    return Thresholds(top_min=high - 1, bottom_max=low + 1)
